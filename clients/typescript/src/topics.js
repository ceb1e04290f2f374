// @ts-check
/**
 * What an {@link OriClient} remembers of each topic it joined: whether it
 * asked for presence, and where it stands on a topic that keeps history, so
 * that a reconnection asks for what was missed (`since`) and a message is
 * never shown twice at the seam (PROTOCOL.md, "History and recovery").
 * The same rules as `ori::client` (`client/topics.rs`).
 * @module
 */

/**
 * A place in a topic's history.
 * @typedef {{ epoch: string, offset: number }} Position
 */

/**
 * How to join a topic.
 * @typedef {object} SubscribeOptions
 * @property {boolean} [presence] also receive (and keep) the topic's presence
 * @property {Position} [since] recover from this position (e.g. kept across a
 *   page reload); without it, the last position the client saw
 */

/**
 * The server's acknowledgement of a subscribe: `epoch` and `offset` when the
 * topic keeps history, `recovered` when a position was asked for.
 * @typedef {{ topic: string, epoch?: string, offset?: number, recovered?: boolean }} Subscribed
 */

/**
 * One joined topic: `live` while its messages flow on this connection (a
 * second subscribe's acknowledgement then does not move the position).
 * @typedef {{ presence: boolean, position: Position | null, acked: boolean, live: boolean }} Joined
 */

export class Topics {
  /** @type {Map<string, Joined>} in the order joined */ #joined = new Map();

  /**
   * Records a subscribe about to be sent; returns its `data`.
   * @param {string} topic
   * @param {SubscribeOptions} options
   */
  begin(topic, options = {}) {
    const existing = this.#joined.get(topic);
    const position = options.since ?? existing?.position ?? null;
    const presence = Boolean(options.presence) || Boolean(existing?.presence);
    this.#joined.set(topic, { presence, position, acked: existing?.acked ?? false, live: existing?.live ?? false });
    return subscribeData(topic, /** @type {Joined} */ (this.#joined.get(topic)));
  }

  /** Each acknowledged topic's subscribe `data`, to join again after a reconnection. */
  rejoin() {
    for (const joined of this.#joined.values()) joined.live = false;
    return [...this.#joined].filter(([, j]) => j.acked).map(([topic, j]) => ({ topic, data: subscribeData(topic, j) }));
  }

  /**
   * Applies a subscribe's acknowledgement.
   * @param {Subscribed} ack
   */
  acknowledged(ack) {
    const joined = this.#joined.get(ack.topic);
    if (!joined) return;
    joined.acked = true;
    if (joined.live) return; // subscribed again on a live subscription: the stream goes on
    joined.live = true;
    if (typeof ack.epoch === "string" && typeof ack.offset === "number" && ack.recovered !== true) {
      // Not recovered (or not asked): the live stream starts after `offset`.
      joined.position = { epoch: ack.epoch, offset: ack.offset };
    }
  }

  /**
   * The topic's history was lost: start again at offset 0 of `epoch`.
   * @param {string} topic
   * @param {string} epoch
   */
  epochChanged(topic, epoch) {
    const joined = this.#joined.get(topic);
    if (!joined) return false;
    joined.position = { epoch, offset: 0 };
    return true;
  }

  /**
   * Whether a message at `offset` of `topic` is new (the position moves to
   * it); `false` for one seen already.
   * @param {string} topic
   * @param {number} offset
   */
  accept(topic, offset) {
    const position = this.#joined.get(topic)?.position;
    if (!position) return true;
    if (offset <= position.offset) return false;
    position.offset = offset;
    return true;
  }

  /** @param {string} topic */
  remove(topic) {
    this.#joined.delete(topic);
  }

  /** The acknowledged topics, in order. */
  names() {
    return [...this.#joined].filter(([, j]) => j.acked).map(([topic]) => topic);
  }

  /**
   * The last position seen on `topic`.
   * @param {string} topic
   * @returns {Position | null}
   */
  position(topic) {
    const position = this.#joined.get(topic)?.position;
    return position ? { ...position } : null;
  }
}

/**
 * @param {string} topic
 * @param {Joined} joined
 */
function subscribeData(topic, joined) {
  /** @type {{ topic: string, presence?: boolean, since?: Position }} */
  const data = { topic };
  if (joined.presence) data.presence = true;
  if (joined.position) data.since = { epoch: joined.position.epoch, offset: joined.position.offset };
  return data;
}
