// @ts-check
// Type tests of the presence example's generated JavaScript client
// (examples/presence/presence_api.js, what a page loads as it is): JSDoc
// types hold for JavaScript callers too.
import { PresenceApi } from "../../../../examples/presence/presence_api.js";

/** @typedef {import("../../../../examples/presence/presence_api.js").Requests} Requests */

/** @param {PresenceApi} api */
export async function whatCompiles(api) {
  /** @type {number} */
  const count = (await api.heartbeat({ status: "online" })).online;
  /** @type {string | undefined} */
  const first = (await api.getOnline())[0]?.userId;
  api.on("presence.changed", (data) => {
    /** @type {string} */
    const status = data.status;
    void status;
  });
  /** @type {Requests["presence.kick"]["errors"]} */
  const declared = "not_found";
  void [count, first, declared];
}

/** @param {PresenceApi} api */
export async function whatDoesNot(api) {
  // @ts-expect-error: `status` is a string
  await api.heartbeat({ status: 5 });
  // @ts-expect-error: no such route
  await api.teleport({});
  // @ts-expect-error: no such push
  api.on("presence.gone", () => {});
  // @ts-expect-error: a field the reply does not have
  void (await api.kick({ userId: "bob" })).kicked;
  // @ts-expect-error: a code the route does not declare
  /** @type {Requests["presence.getOnline"]["errors"]} */ const undeclared = "not_found";
  void undeclared;
}
