// @ts-check
/**
 * ori's client for browsers and Node: {@link OriClient} speaks an ori
 * server's envelopes (PROTOCOL.md), reconnects, queues, rejoins its topics
 * (recovering what it missed on topics that keep history), keeps presence,
 * and correlates replies; {@link OriError} says why a call failed.
 * @module
 */
export { OriClient, JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL } from "./client.js";
export { encode as encodeMsgpack, decode as decodeMsgpack } from "./msgpack.js";
export { OriError } from "./errors.js";

/** @typedef {import("./client.js").ClientOptions} ClientOptions */
/** @typedef {import("./client.js").ClientEvent} ClientEvent */
/** @typedef {import("./client.js").ConnectionState} ConnectionState */
/** @typedef {import("./client.js").Push} Push */
/** @typedef {import("./topics.js").SubscribeOptions} SubscribeOptions */
/** @typedef {import("./topics.js").Subscribed} Subscribed */
/** @typedef {import("./topics.js").Position} Position */
/** @typedef {import("./presence.js").PresenceChange} PresenceChange */
/** @typedef {import("./errors.js").OriErrorKind} OriErrorKind */
