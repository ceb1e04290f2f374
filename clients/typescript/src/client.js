// @ts-check
/**
 * {@link OriClient}: a client of an ori server for browsers and Node. It
 * speaks PROTOCOL.md's JSON envelopes and behaves as `ori::client::Client`:
 * it proves the server accepted it (a `ping` answered) before it reports
 * "open", reconnects with exponential backoff and jitter, never retries a
 * refusal (HTTP 401/403, close 1008), queues what is sent while it is not
 * connected (bounded, failing loudly when full), joins its topics again after
 * a reconnection before it writes the queue, and correlates replies with
 * requests (timeouts, typed server errors). On topics that keep history it
 * joins again from the last position it saw, reports whether it recovered,
 * and never delivers a message twice; on topics joined with presence it keeps
 * the members and reports who joins and leaves.
 * @module
 */

import { Backoff } from "./backoff.js";
import { OriError } from "./errors.js";
import * as msgpack from "./msgpack.js";
import { PresenceMaps } from "./presence.js";
import { Topics } from "./topics.js";

/** The subprotocol of JSON envelopes. */
export const JSON_SUBPROTOCOL = "ori.v1.json";
/** The subprotocol of MessagePack envelopes (binary frames). */
export const MSGPACK_SUBPROTOCOL = "ori.v1.msgpack";

/** Correlation ids the client uses for itself (requests are numbers). */
const OPEN_ID = "~open";
const KEEPALIVE_ID = "~keepalive";
const REJOIN_PREFIX = "~rejoin:";

/** The longest wait before reconnecting to a server that went away or restarts on purpose (close 1001 or 1012), ms: jitter only. */
const AT_ONCE_MS = 250;

/** How often waiting requests are checked for their timeout, ms. */
const SWEEP_MS = 20;

/** `WebSocket.OPEN` (the constant, for implementations without statics). */
const OPEN = 1;

/**
 * The part of the WHATWG `WebSocket` API the client uses: the browser's
 * `WebSocket`, Node 22's global one, or the `ws` package's.
 * @typedef {object} SocketLike
 * @property {number} readyState
 * @property {string} binaryType
 * @property {(data: string | Uint8Array) => void} send
 * @property {(code?: number, reason?: string) => void} close
 * @property {((event: any) => void) | null} onopen
 * @property {((event: any) => void) | null} onmessage a {@link SocketMessageEvent}
 * @property {((event: any) => void) | null} onclose a {@link SocketCloseEvent}
 * @property {((event: any) => void) | null} onerror a {@link SocketErrorEvent}
 *
 * The handlers take `any`: each implementation types its events its own way
 * (the `ws` package's `MessageEvent` is not the DOM's), and a handler's
 * parameter must accept theirs for `{ WebSocket }` to type-check. The
 * client reads only what the three typedefs below name.
 */

/** @typedef {{ data: unknown }} SocketMessageEvent what the client reads of a message event */
/** @typedef {{ code: number, reason: string }} SocketCloseEvent what the client reads of a close event */
/** @typedef {{ message?: string, error?: unknown }} SocketErrorEvent what the client reads of an error event */

/**
 * A `WebSocket` constructor.
 * @typedef {new (url: string, protocols?: string | string[]) => SocketLike} SocketConstructor
 */

/**
 * How the client connects and behaves; every field is optional.
 * @typedef {object} ClientOptions
 * @property {SocketConstructor} [WebSocket] the `WebSocket` implementation
 *   (default: `globalThis.WebSocket`; in Node 20 pass the `ws` package's)
 * @property {Record<string, string>} [query] query parameters added to the URL (e.g. a token)
 * @property {"json" | "msgpack"} [codec] the envelopes' encoding: JSON text frames
 *   (`ori.v1.json`, the default) or MessagePack binary frames (`ori.v1.msgpack`)
 * @property {boolean} [reconnect] reconnect after the connection drops (default true)
 * @property {number} [reconnectDelay] the first wait before reconnecting, ms (default 250)
 * @property {number} [maxReconnectDelay] the longest wait between attempts, ms (default 10000)
 * @property {number} [maxReconnectAttempts] attempts before giving up (default: no limit)
 * @property {number} [requestTimeout] how long a request waits for its reply, and
 *   an opening connection for the server's acceptance, ms (default 10000)
 * @property {number} [maxQueued] messages held while not connected (default 1024)
 * @property {number} [keepalive] ping interval, ms; a server silent for two
 *   intervals is taken as gone (default 30000)
 */

/**
 * The options with their defaults applied.
 * @typedef {Required<Omit<ClientOptions, "WebSocket" | "query">>} Settings
 */

/**
 * Where the connection is: `connecting` (the first time), `open`,
 * `reconnecting` (between attempts, after a drop), `closed` (for good).
 * @typedef {"connecting" | "open" | "reconnecting" | "closed"} ConnectionState
 */

/**
 * What happened to the connection, in order:
 * - `open`: the server accepted a connection (`reconnected`: not the first);
 * - `disconnected`: an open connection dropped; reconnection follows;
 * - `reconnecting`: attempt `attempt` starts after `delay` ms;
 * - `recovered`: a topic that keeps history was joined again from the last
 *   position seen, or its history was lost (an epoch change); on
 *   `recovered: false` messages may have been missed: refetch what you show;
 * - `subscriptionLost`: joining `topic` again after a reconnection failed;
 * - `invalidMessage`: the server sent something that is not an envelope
 *   (the connection is kept);
 * - `closed`: for good (`close()`, a refusal, or reconnecting gave up).
 * @typedef {{ type: "open", reconnected: boolean }
 *   | { type: "disconnected", code: number | null, reason: string }
 *   | { type: "reconnecting", attempt: number, delay: number }
 *   | { type: "recovered", topic: string, recovered: boolean }
 *   | { type: "subscriptionLost", topic: string, error: OriError }
 *   | { type: "invalidMessage", reason: string, data: unknown }
 *   | { type: "closed", code: number | null, reason: string }} ClientEvent
 */

/**
 * A message the server pushed (no `correlationId`): a typed push, a
 * publish to a topic the client joined, or an error without a request.
 * `topic` and `offset`: its position, on a topic that keeps history.
 * @typedef {{ type: string, data: unknown, topic?: string, offset?: number }} Push
 */

/** @typedef {import("./topics.js").SubscribeOptions} SubscribeOptions */
/** @typedef {import("./topics.js").Subscribed} Subscribed */
/** @typedef {import("./topics.js").Position} Position */
/** @typedef {import("./presence.js").PresenceChange} PresenceChange */

/**
 * @typedef {object} Pending a request waiting for its reply
 * @property {(data: unknown) => void} resolve
 * @property {(error: OriError) => void} reject
 * @property {number} deadline when it times out (`Date.now()` ms)
 * @property {string} type its message type, for the timeout's message
 * @property {number} timeout its timeout, ms
 * @property {boolean} written whether it reached a connection
 */

/** @typedef {string | Uint8Array} Frame an envelope, encoded */
/** @typedef {{ frame: Frame, id: string | null }} Queued a message waiting for a connection */

/**
 * A client of an ori server.
 *
 * ```js
 * import { OriClient } from "ori-client";
 *
 * const client = await OriClient.connect("ws://127.0.0.1:3000/ws", { query: { token } });
 * client.on("chat.message", (data) => console.log(data));
 * await client.subscribe("chat:lobby");
 * const reply = await client.request("chat.say", { text: "hello" });
 * ```
 */
export class OriClient {
  /** @type {string} */ #url;
  /** @type {string} the URL as given, without `options.query` */ #baseUrl;
  /** @type {Record<string, string>} the query parameters, with what a re-authentication replaced */ #query;
  /** @type {Settings} */ #options;
  /** @type {SocketConstructor} */ #WebSocket;
  /** @type {ConnectionState} */ #state = "connecting";
  /** @type {SocketLike | null} the accepted connection */ #socket = null;
  /** @type {Promise<void> | null} */ #connecting = null;
  /** @type {Map<string, Pending>} */ #pending = new Map();
  /** @type {Queued[]} */ #queue = [];
  /** topics joined, in the order joined, with their positions */ #topics = new Topics();
  /** the presence of the topics joined with it */ #presence = new PresenceMaps();
  /** @type {Set<(change: PresenceChange) => void>} */ #presenceListeners = new Set();
  /** @type {Set<string>} topics being joined again after a reconnection */ #rejoining = new Set();
  /** @type {ReturnType<typeof setTimeout> | null} */ #rejoinTimer = null;
  /** @type {ReturnType<typeof setInterval> | null} */ #keepaliveTimer = null;
  /** @type {ReturnType<typeof setTimeout> | null} */ #retryTimer = null;
  /** @type {ReturnType<typeof setInterval> | null} */ #sweepTimer = null;
  #lastHeard = 0;
  #nextId = 0;
  #closing = false;
  /** @type {Map<string, Set<(data: any, push: Push) => void>>} */ #listeners = new Map();
  /** @type {Set<(push: Push) => void>} */ #anyListeners = new Set();
  /** @type {Set<(event: ClientEvent) => void>} */ #eventListeners = new Set();

  /**
   * Counters of what the client dropped: replies to no request it knows
   * (e.g. after their timeout) and messages that were not envelopes.
   */
  stats = { unknownReplies: 0, invalidMessages: 0 };

  /**
   * A client of the server at `url` (`ws://` or `wss://`). Nothing happens
   * until {@link connect}.
   * @param {string} url
   * @param {ClientOptions} [options]
   */
  constructor(url, options = {}) {
    const WebSocketImpl = options.WebSocket ?? /** @type {any} */ (globalThis).WebSocket;
    if (typeof WebSocketImpl !== "function") {
      throw new TypeError(
        "no WebSocket implementation: pass one as `options.WebSocket` (in Node 20: `import WebSocket from \"ws\"`)",
      );
    }
    this.#WebSocket = WebSocketImpl;
    this.#baseUrl = url;
    this.#query = { ...(options.query ?? {}) };
    this.#url = withQuery(url, this.#query);
    this.#options = {
      codec: options.codec ?? "json",
      reconnect: options.reconnect ?? true,
      reconnectDelay: options.reconnectDelay ?? 250,
      maxReconnectDelay: options.maxReconnectDelay ?? 10_000,
      maxReconnectAttempts: options.maxReconnectAttempts ?? Infinity,
      requestTimeout: options.requestTimeout ?? 10_000,
      maxQueued: options.maxQueued ?? 1024,
      keepalive: options.keepalive ?? 30_000,
    };
  }

  /**
   * Connects to `url` and resolves once the server has accepted the
   * connection (its upgrade handler and connection guards passed).
   * @param {string} url
   * @param {ClientOptions} [options]
   * @returns {Promise<OriClient>}
   */
  static async connect(url, options) {
    const client = new OriClient(url, options);
    await client.connect();
    return client;
  }

  /**
   * Connects: one attempt, resolving once the server has accepted the
   * connection. A refusal rejects with kind `refused` (HTTP status) or
   * `rejected` (close 1008 from a guard); an unreachable server with
   * `connect`. Reconnection applies afterwards. Calling it again returns the
   * same promise.
   * @returns {Promise<void>}
   */
  connect() {
    this.#connecting ??= this.#open().then(
      (socket) => {
        if (!this.#accepted(socket, false)) throw new OriError("closed", "the client was closed while connecting");
      },
      (error) => {
        this.#finish(null, error.message);
        throw error;
      },
    );
    return this.#connecting;
  }

  /** Where the connection is. @returns {ConnectionState} */
  get state() {
    return this.#state;
  }

  /** The topics the client has joined (joined again after each reconnection). */
  get topics() {
    return this.#topics.names();
  }

  /**
   * Calls `listener` with the `data` of every push of type `type`; returns
   * the function that stops it.
   * @param {string} type
   * @param {(data: any, push: Push) => void} listener
   * @returns {() => void}
   */
  on(type, listener) {
    let listeners = this.#listeners.get(type);
    if (!listeners) this.#listeners.set(type, (listeners = new Set()));
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /**
   * Calls `listener` with every push, whatever its type; returns the function that stops it.
   * @param {(push: Push) => void} listener
   * @returns {() => void}
   */
  onPush(listener) {
    this.#anyListeners.add(listener);
    return () => this.#anyListeners.delete(listener);
  }

  /**
   * Calls `listener` with every {@link ClientEvent}; returns the function that stops it.
   * @param {(event: ClientEvent) => void} listener
   * @returns {() => void}
   */
  onEvent(listener) {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  /**
   * Sends a message without waiting for a reply. While the client is not
   * connected the message is queued; a full queue throws kind `queue_full`,
   * a closed client kind `closed`.
   * @param {string} type
   * @param {unknown} [data]
   */
  send(type, data) {
    this.#write(this.#encode(type, data, null), null);
  }

  /**
   * Re-authenticates the connection (PROTOCOL.md, "Re-authentication"): the
   * server runs its connection guards again on the upgrade request with
   * these query parameters and headers replacing those of the same names.
   * Resolves once they admitted them; every reconnection from then on uses
   * the new query parameters (a browser cannot set headers). A refusal
   * closes the connection with 1008 (the promise rejects). When the
   * server's verdict expires it pushes a `__reauthenticate` message: answer
   * it within the server's grace period.
   *
   * ```js
   * client.on("__reauthenticate", async () => client.reauthenticate({ query: { token: await freshToken() } }));
   * ```
   * @param {{ query?: Record<string, string>, headers?: Record<string, string> }} credentials
   * @returns {Promise<void>}
   */
  async reauthenticate(credentials) {
    const query = credentials.query ?? {};
    await this.request("__reauthenticate", { query, headers: credentials.headers ?? {} });
    Object.assign(this.#query, query);
    this.#url = withQuery(this.#baseUrl, this.#query);
  }

  /**
   * Sends a request and resolves with the reply's `data`; an error envelope
   * rejects with kind `server` (its `code` is the server's), no reply in
   * time with `timeout`, a connection lost after the request was written
   * with `disconnected` (it is never sent twice).
   * @param {string} type
   * @param {unknown} [data]
   * @param {{ timeout?: number }} [options] the timeout, ms (default: the client's `requestTimeout`)
   * @returns {Promise<any>}
   */
  request(type, data, options = {}) {
    const id = String(++this.#nextId);
    let text;
    try {
      text = this.#encode(type, data, id);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const timeout = options.timeout ?? this.#options.requestTimeout;
      const deadline = Date.now() + timeout;
      this.#pending.set(id, { resolve, reject, deadline, type, timeout, written: false });
      this.#sweepLater();
      try {
        this.#write(text, id);
      } catch (error) {
        this.#pending.delete(id);
        reject(error);
      }
    });
  }

  /**
   * Times requests out with one timer for all of them (a timer per request
   * costs more than the rest of a request): every `SWEEP_MS` while any
   * waits, those past their deadline fail (at most `SWEEP_MS` late).
   */
  #sweepLater() {
    if (this.#sweepTimer !== null) return;
    this.#sweepTimer = setInterval(() => {
      const now = Date.now();
      for (const [id, pending] of this.#pending) {
        if (pending.deadline > now) continue;
        this.#pending.delete(id);
        pending.reject(new OriError("timeout", `no reply to \`${pending.type}\` within ${pending.timeout} ms`));
      }
      if (this.#pending.size === 0) this.#stopSweeping();
    }, SWEEP_MS);
  }

  #stopSweeping() {
    if (this.#sweepTimer !== null) clearInterval(this.#sweepTimer);
    this.#sweepTimer = null;
  }

  /**
   * Joins `topic`: resolves with the server's acknowledgement once it
   * confirmed; joined again after every reconnection until
   * {@link unsubscribe}, from the last position seen on a topic that keeps
   * history (then a `recovered` event says whether nothing was missed).
   *
   * ```js
   * const ack = await client.subscribe("room:1", { presence: true });
   * client.onPresence((change) => render(client.presence("room:1")));
   * client.onEvent((e) => e.type === "recovered" && !e.recovered && refetch(e.topic));
   * ```
   * @param {string} topic
   * @param {SubscribeOptions} [options] presence, and a position to recover from
   * @returns {Promise<Subscribed>}
   */
  async subscribe(topic, options = {}) {
    const data = this.#topics.begin(topic, options);
    try {
      return /** @type {Subscribed} */ (await this.request("subscribe", data));
    } catch (error) {
      if (!this.#topics.names().includes(topic)) this.#topics.remove(topic);
      throw error;
    }
  }

  /**
   * Leaves `topic` (it is not joined again after a reconnection).
   * @param {string} topic
   * @returns {Promise<void>}
   */
  async unsubscribe(topic) {
    this.#topics.remove(topic);
    this.#presence.remove(topic);
    await this.request("unsubscribe", { topic });
  }

  /**
   * The last position seen on `topic`, a topic that keeps history (keep it,
   * e.g. in `sessionStorage`, to recover after a reload: `subscribe(topic, { since })`).
   * @param {string} topic
   * @returns {Position | null}
   */
  position(topic) {
    return this.#topics.position(topic);
  }

  /**
   * Who is on `topic` (joined with `presence: true`): member keys to their
   * metas; `null` before the first `presence_state`.
   * @param {string} topic
   * @returns {Record<string, unknown[]> | null}
   */
  presence(topic) {
    return this.#presence.members(topic);
  }

  /**
   * Calls `listener` with each presence change (joins, leaves, syncs) of
   * the topics joined with presence; returns a function that removes it.
   * @param {(change: PresenceChange) => void} listener
   * @returns {() => boolean}
   */
  onPresence(listener) {
    this.#presenceListeners.add(listener);
    return () => this.#presenceListeners.delete(listener);
  }

  /**
   * Closes the connection (code 1000) for good: waiting requests and queued
   * messages fail with kind `closed`.
   */
  close() {
    if (this.#state === "closed") return;
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      detach(socket);
      socket.close(1000);
    }
    this.#finish(1000, "closed by the client");
  }

  /**
   * An envelope in the connection's codec.
   * @param {string} type
   * @param {unknown} data
   * @param {string | null} correlationId
   * @returns {Frame}
   */
  #encode(type, data, correlationId) {
    const envelope = correlationId === null ? { type, data } : { type, data, correlationId };
    const codec = this.#options.codec;
    try {
      return codec === "msgpack" ? msgpack.encode(envelope) : JSON.stringify(envelope);
    } catch (error) {
      const name = codec === "msgpack" ? "MessagePack" : "JSON";
      throw new OriError("encode", `the data of \`${type}\` cannot be sent as ${name}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  // --- connecting -----------------------------------------------------------

  /**
   * Opens a connection and waits for the server's acceptance (the answer to
   * a `ping`; it comes only once the upgrade handler and guards passed).
   * @returns {Promise<SocketLike>}
   */
  #open() {
    return new Promise((resolve, reject) => {
      let socket;
      try {
        const protocol = this.#options.codec === "msgpack" ? MSGPACK_SUBPROTOCOL : JSON_SUBPROTOCOL;
        socket = new this.#WebSocket(this.#url, [protocol]);
      } catch (error) {
        reject(new OriError("connect", `${this.#url}: ${messageOf(error)}`, { cause: error }));
        return;
      }
      socket.binaryType = "arraybuffer";
      let settled = false;
      /** @param {OriError | null} error */
      const settle = (error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          detach(socket);
          try {
            socket.close();
          } catch {
            // already closing
          }
          reject(error);
        } else {
          resolve(socket);
        }
      };
      const timer = setTimeout(
        () =>
          settle(
            new OriError("connect", `${this.#url}: the server did not accept the connection in time`),
          ),
        this.#options.requestTimeout,
      );
      socket.onopen = () => socket.send(this.#encode("ping", undefined, OPEN_ID));
      socket.onmessage = (/** @type {SocketMessageEvent} */ event) => {
        const message = this.#parse(event.data);
        if (!message) return;
        if (message.correlationId === OPEN_ID) settle(null);
        // What the server pushes on open (e.g. a welcome) is delivered.
        else this.#deliver(message);
      };
      socket.onerror = (/** @type {SocketErrorEvent} */ event) => settle(openError(this.#url, event));
      socket.onclose = (/** @type {SocketCloseEvent} */ event) => {
        if (event.code === 1006) {
          settle(new OriError("connect", `${this.#url}: the connection failed`));
          return;
        }
        const reason = event.reason ? `: ${event.reason}` : "";
        // 1008: a connection guard said no (a refusal); another code is retried.
        settle(
          new OriError("rejected", `the server closed the connection while opening it (${event.code}${reason})`, {
            closeCode: event.code,
          }),
        );
      };
    });
  }

  /**
   * A connection the server accepted: serve it (`false`: the client was
   * closed meanwhile, and the connection is closed too).
   * @param {SocketLike} socket
   * @param {boolean} reconnected
   * @returns {boolean}
   */
  #accepted(socket, reconnected) {
    if (this.#closing) {
      detach(socket);
      socket.close(1000);
      return false;
    }
    this.#socket = socket;
    this.#lastHeard = Date.now();
    socket.onmessage = (/** @type {SocketMessageEvent} */ event) => {
      this.#lastHeard = Date.now();
      const message = this.#parse(event.data);
      if (message) this.#deliver(message);
    };
    socket.onclose = (/** @type {SocketCloseEvent} */ event) => this.#dropped(socket, event.code, event.reason);
    socket.onerror = () => {}; // a close follows
    this.#state = "open";
    this.#emit({ type: "open", reconnected });
    // Join the topics again before anything queued is written.
    for (const { topic, data } of this.#topics.rejoin()) {
      this.#rejoining.add(topic);
      socket.send(this.#encode("subscribe", data, REJOIN_PREFIX + topic));
    }
    if (this.#rejoining.size > 0) {
      this.#rejoinTimer = setTimeout(() => {
        // Unanswered: write the queue anyway rather than hold it forever.
        this.#rejoining.clear();
        this.#flush();
      }, this.#options.requestTimeout);
    } else {
      this.#flush();
    }
    const keepalive = this.#options.keepalive;
    this.#keepaliveTimer = setInterval(() => {
      if (Date.now() - this.#lastHeard >= 2 * keepalive) {
        detach(socket);
        socket.close();
        this.#dropped(socket, null, "the server stopped answering (keepalive)");
      } else if (socket.readyState === OPEN) {
        socket.send(this.#encode("ping", undefined, KEEPALIVE_ID));
      }
    }, keepalive);
    return true;
  }

  /**
   * The open connection ended.
   * @param {SocketLike} socket
   * @param {number | null} code
   * @param {string} reason
   */
  #dropped(socket, code, reason) {
    if (socket !== this.#socket) return;
    this.#socket = null;
    this.#stopTimers();
    this.#rejoining.clear();
    // Requests written to it cannot be known to have run or not: they fail.
    for (const [id, pending] of this.#pending) {
      if (!pending.written) continue;
      this.#pending.delete(id);
      pending.reject(new OriError("disconnected", "the connection dropped before the reply came"));
    }
    if (this.#closing) return;
    if (code === 1008) {
      this.#finish(code, `refused by the server: ${reason}`);
    } else if (!this.#options.reconnect) {
      this.#finish(code, reason);
    } else {
      this.#emit({ type: "disconnected", code, reason });
      // A server going away (1001) or restarting (1012) on purpose: others
      // (or it, soon) take the connection, so the first attempt is at once.
      const atOnce = code === 1001 || code === 1012;
      this.#reconnect(new Backoff(this.#options.reconnectDelay, this.#options.maxReconnectDelay), reason, atOnce);
    }
  }

  /**
   * The next reconnection attempt, after its wait.
   * @param {Backoff} backoff
   * @param {string} lastError
   * @param {boolean} [atOnce] the first attempt within `AT_ONCE_MS` (the server went away on purpose)
   */
  #reconnect(backoff, lastError, atOnce = false) {
    const max = this.#options.maxReconnectAttempts;
    if (backoff.attempt >= max) {
      this.#finish(null, `gave up after ${max} attempts: ${lastError}`);
      return;
    }
    const delay = atOnce ? backoff.atOnce(Math.min(this.#options.reconnectDelay, AT_ONCE_MS)) : backoff.nextDelay();
    this.#state = "reconnecting";
    this.#emit({ type: "reconnecting", attempt: backoff.attempt, delay });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#open().then(
        (socket) => this.#accepted(socket, true),
        (/** @type {OriError} */ error) => {
          if (this.#closing) return;
          if (error.isRefusal) this.#finish(error.closeCode ?? null, `refused by the server: ${error.message}`);
          else this.#reconnect(backoff, error.message);
        },
      );
    }, delay);
  }

  /**
   * Closed for good: fail whatever waits, tell the listeners.
   * @param {number | null} code
   * @param {string} reason
   */
  #finish(code, reason) {
    if (this.#state === "closed") return;
    this.#closing = true;
    this.#stopTimers();
    this.#queue = [];
    for (const pending of this.#pending.values()) {
      pending.reject(new OriError("closed", `the client is closed: ${reason}`));
    }
    this.#pending.clear();
    this.#stopSweeping();
    this.#state = "closed";
    this.#emit({ type: "closed", code, reason });
  }

  #stopTimers() {
    for (const timer of [this.#rejoinTimer, this.#retryTimer]) if (timer) clearTimeout(timer);
    if (this.#keepaliveTimer) clearInterval(this.#keepaliveTimer);
    this.#rejoinTimer = this.#retryTimer = this.#keepaliveTimer = null;
  }

  // --- writing --------------------------------------------------------------

  /**
   * Writes `frame` now if the connection is open and has rejoined its
   * topics, else queues it.
   * @param {Frame} frame
   * @param {string | null} id the request's id
   */
  #write(frame, id) {
    if (this.#state === "closed") throw new OriError("closed", "the client is closed");
    const socket = this.#socket;
    if (socket && socket.readyState === OPEN && this.#rejoining.size === 0 && this.#queue.length === 0) {
      this.#markWritten(id);
      socket.send(frame);
      return;
    }
    if (this.#queue.length >= this.#options.maxQueued) {
      throw new OriError(
        "queue_full",
        `the outgoing queue is full (${this.#options.maxQueued} messages) while the client is not connected`,
      );
    }
    this.#queue.push({ frame, id });
  }

  /** Writes the queue, oldest first. */
  #flush() {
    const socket = this.#socket;
    while (socket && socket.readyState === OPEN && this.#queue.length > 0) {
      const queued = /** @type {Queued} */ (this.#queue.shift());
      // A request that timed out while queued is not sent at all.
      if (queued.id !== null && !this.#pending.has(queued.id)) continue;
      this.#markWritten(queued.id);
      socket.send(queued.frame);
    }
  }

  /** @param {string | null} id */
  #markWritten(id) {
    const pending = id === null ? undefined : this.#pending.get(id);
    if (pending) pending.written = true;
  }

  // --- reading --------------------------------------------------------------

  /**
   * The envelope in a received frame, or `null` (reported as `invalidMessage`).
   * @param {unknown} data
   * @returns {Envelope | null}
   */
  #parse(data) {
    /** @param {string} reason */
    const invalid = (reason) => {
      this.stats.invalidMessages += 1;
      this.#emit({ type: "invalidMessage", reason, data });
      return null;
    };
    let message;
    if (typeof data === "string") {
      // Text is JSON on either codec (a raw text publish stays text).
      try {
        message = JSON.parse(data);
      } catch (error) {
        return invalid(`not JSON: ${messageOf(error)}`);
      }
    } else if (this.#options.codec !== "msgpack") {
      return invalid("a binary frame on a JSON connection");
    } else {
      try {
        message = msgpack.decode(toBytes(data));
      } catch (error) {
        return invalid(messageOf(error));
      }
    }
    if (typeof message !== "object" || message === null || Array.isArray(message)) {
      return invalid("not a JSON object");
    }
    if (typeof message.type !== "string") return invalid("no `type` string");
    if (message.correlationId != null && typeof message.correlationId !== "string") {
      return invalid("a `correlationId` that is not a string");
    }
    return message;
  }

  /**
   * Routes one envelope: a reply to its request, a push to the listeners.
   * @param {Envelope} message
   */
  #deliver(message) {
    const id = message.correlationId;
    if (id == null) {
      if (message.type === "pong") return;
      this.#pushed(message);
      return;
    }
    if (message.type === "subscribe" && !message.error) this.#acknowledged(message.data);
    if (id.startsWith(REJOIN_PREFIX)) {
      const topic = id.slice(REJOIN_PREFIX.length);
      if (!this.#rejoining.delete(topic)) return;
      if (message.error) {
        this.#topics.remove(topic);
        this.#presence.remove(topic);
        this.#emit({ type: "subscriptionLost", topic, error: serverError(message) });
      }
      if (this.#rejoining.size === 0) {
        if (this.#rejoinTimer) clearTimeout(this.#rejoinTimer);
        this.#rejoinTimer = null;
        this.#flush();
      }
      return;
    }
    if (id.startsWith("~")) return; // keepalive, or a late open ping
    const pending = this.#pending.get(id);
    if (!pending) {
      this.stats.unknownReplies += 1;
      return;
    }
    this.#pending.delete(id);
    if (message.error) pending.reject(serverError(message));
    else pending.resolve(message.data ?? null);
  }

  /**
   * A subscribe's acknowledgement: the topic's position, and whether a
   * recovery asked for succeeded.
   * @param {unknown} data
   */
  #acknowledged(data) {
    const ack = /** @type {Subscribed} */ (data);
    if (typeof ack?.topic !== "string") return;
    this.#topics.acknowledged(ack);
    if (typeof ack.recovered === "boolean") this.#emit({ type: "recovered", topic: ack.topic, recovered: ack.recovered });
  }

  /**
   * A message without a `correlationId`: presence and epoch changes are
   * applied; a message already seen at its position is dropped; the rest
   * goes to the listeners.
   * @param {Envelope} message
   */
  #pushed(message) {
    const data = /** @type {any} */ (message.error ?? message.data ?? null);
    if (message.type === "presence_state" || message.type === "presence_diff") {
      if (typeof data?.topic !== "string") return;
      const changes = message.type === "presence_state" ? this.#presence.state(data) : this.#presence.diff(data);
      for (const change of changes) {
        for (const listener of this.#presenceListeners) guarded(() => listener(change));
      }
      return;
    }
    if (message.type === "subscribe" && typeof data?.topic === "string" && typeof data?.epoch === "string") {
      if (this.#topics.epochChanged(data.topic, data.epoch)) {
        this.#emit({ type: "recovered", topic: data.topic, recovered: false });
      }
      return;
    }
    const { topic, offset } = /** @type {{ topic?: unknown, offset?: unknown }} */ (message);
    if (typeof topic === "string" && typeof offset === "number") {
      if (!this.#topics.accept(topic, offset)) return; // seen already (replayed and live at the seam)
      this.#push({ type: message.type, data, topic, offset });
      return;
    }
    this.#push({ type: message.type, data });
  }

  /** @param {Push} push */
  #push(push) {
    for (const listener of this.#listeners.get(push.type) ?? []) guarded(() => listener(push.data, push));
    for (const listener of this.#anyListeners) guarded(() => listener(push));
  }

  /** @param {ClientEvent} event */
  #emit(event) {
    for (const listener of this.#eventListeners) guarded(() => listener(event));
  }
}

/**
 * A server envelope.
 * @typedef {{ type: string, data?: unknown, correlationId?: string | null,
 *   error?: { code: string, message?: string, details?: unknown } }} Envelope
 */

/**
 * A received binary frame's bytes (an `ArrayBuffer`, or a Node `Buffer`).
 * @param {unknown} data
 * @returns {Uint8Array}
 */
function toBytes(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("a frame that is neither text nor bytes");
}

/** @param {Envelope} message */
function serverError(message) {
  const error = message.error ?? { code: "internal" };
  return new OriError("server", error.message ?? error.code, { code: error.code, details: error.details });
}

/**
 * Why opening failed, from an `error` event: the `ws` package says which
 * HTTP status refused the upgrade; a browser says nothing.
 * @param {string} url
 * @param {{ message?: string, error?: unknown }} event
 */
function openError(url, event) {
  const text = event.message ?? messageOf(event.error);
  const status = /Unexpected server response: (\d+)/.exec(text ?? "");
  if (status) {
    const code = Number(status[1]);
    const hint =
      code === 401
        ? ": check the credentials (token, headers)"
        : code === 404
          ? ": no WebSocket endpoint at this path (an ori server's is at /ws unless it chose another)"
          : "";
    // A 4xx is the server's answer to this client (not retried); a 5xx
    // (e.g. a load balancer while the server restarts) is retried.
    const kind = code >= 400 && code < 500 ? "refused" : "connect";
    return new OriError(kind, `the server refused the upgrade with HTTP ${code}${hint}`, { status: code });
  }
  return new OriError("connect", `${url}: ${text || "the connection failed"}`);
}

/** @param {SocketLike} socket */
function detach(socket) {
  socket.onopen = socket.onmessage = socket.onclose = null;
  socket.onerror = () => {};
}

/**
 * @param {string} url
 * @param {Record<string, string>} query
 */
function withQuery(url, query) {
  const pairs = Object.entries(query);
  if (pairs.length === 0) return url;
  const encoded = new URLSearchParams(pairs).toString();
  return url + (url.includes("?") ? "&" : "?") + encoded;
}

/** @param {unknown} error */
function messageOf(error) {
  return error instanceof Error ? error.message : String(error ?? "");
}

/**
 * Runs a listener; what it throws is reported, not let through into the client.
 * @param {() => void} call
 */
function guarded(call) {
  try {
    call();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
