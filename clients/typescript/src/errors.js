// @ts-check
/**
 * Why a client call failed, and what to do about it: one error class whose
 * `kind` says what happened (the same cases as `ori::client::ClientError`).
 * @module
 */

/**
 * What went wrong:
 * - `refused`: the server refused the upgrade with an HTTP status (401: the
 *   upgrade handler said no, e.g. a missing token). Not retried.
 * - `rejected`: the server closed the connection while opening it (1008: a
 *   connection guard said no). Not retried.
 * - `connect`: the server could not be reached, or the handshake failed.
 * - `server`: the server answered with an error envelope; `code` is its code.
 * - `timeout`: no reply within the request timeout.
 * - `disconnected`: the connection dropped after the request was written; it
 *   is not sent again (it may or may not have run).
 * - `queue_full`: the outgoing queue is full while the client is not connected.
 * - `closed`: the client is closed (`close()`, a refusal, or reconnecting gave up).
 * - `encode`: the data could not be serialized.
 * @typedef {"refused" | "rejected" | "connect" | "server" | "timeout" | "disconnected"
 *   | "queue_full" | "closed" | "encode"} OriErrorKind
 */

/** Why an ori client call failed. */
export class OriError extends Error {
  /**
   * @param {OriErrorKind} kind what went wrong
   * @param {string} message what happened, and what to do
   * @param {{ code?: string, details?: unknown, status?: number, closeCode?: number, cause?: unknown }} [fields]
   */
  constructor(kind, message, fields = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = "OriError";
    /** What went wrong. @type {OriErrorKind} */
    this.kind = kind;
    /**
     * The server's error code (`bad_request`, `forbidden`, `unknown_type`,
     * or the application's own) when `kind` is `server`; otherwise the kind.
     * @type {string}
     */
    this.code = fields.code ?? kind;
    /**
     * The structured details of a `server` error (`error.details` in the
     * envelope, from `SocketError::with_details`), if it has any.
     * @type {unknown}
     */
    this.details = fields.details;
    /** The HTTP status of a `refused` upgrade. @type {number | undefined} */
    this.status = fields.status;
    /** The close code of a `rejected` connection. @type {number | undefined} */
    this.closeCode = fields.closeCode;
  }

  /** Whether trying again with the same credentials cannot help (refused or rejected by a guard). */
  get isRefusal() {
    return this.kind === "refused" || (this.kind === "rejected" && this.closeCode === 1008);
  }
}
