// @ts-check
/**
 * ori's client for browsers and Node: {@link OriClient} speaks an ori
 * server's envelopes (PROTOCOL.md), reconnects, queues, rejoins its topics
 * and correlates replies; {@link OriError} says why a call failed.
 * @module
 */
export { OriClient, JSON_SUBPROTOCOL } from "./client.js";
export { OriError } from "./errors.js";
