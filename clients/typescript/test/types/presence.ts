// Type tests of the presence example's generated client
// (examples/presence/presence_api.ts): what must compile, and, marked
// `@ts-expect-error`, what must not. Checked by `tsc -p test/types`.
import { OriClient } from "../../src/index.js";
import type { ClientOptions, PresenceChange, Subscribed } from "../../src/index.js";
import { PresenceApi } from "../../../../examples/presence/presence_api.js";
import type { HeartbeatAck, OnlineUser, PresenceChanged, Requests } from "../../../../examples/presence/presence_api.js";

declare const api: PresenceApi;
declare const options: ClientOptions;

export async function whatCompiles(): Promise<void> {
  const connected: PresenceApi = await PresenceApi.connect("ws://127.0.0.1:3000/ws", options);
  const client: OriClient = connected.client;
  const ack: HeartbeatAck = await api.heartbeat({ status: "online" });
  const count: number = ack.online;
  const users: OnlineUser[] = await api.getOnline({ timeout: 500 });
  const first: string | undefined = users[0]?.userId;
  const nothing: null = await api.setStatus({ status: "away" });
  const kicked: number = (await api.kick({ userId: "bob" })).connections;
  const stop: () => void = api.on("presence.changed", (data: PresenceChanged) => {
    const status: string = data.status;
  });
  const joined: Subscribed = await api.subscribe("presence", { presence: true, since: { epoch: "E", offset: 3 } });
  const offset: number | undefined = joined.offset;
  const members: Record<string, unknown[]> | null = api.presence("presence");
  const stopPresence: () => boolean = api.onPresence((change: PresenceChange) => {
    if (change.type === "join") {
      const first: boolean = change.newMember;
    }
  });
  const data: Requests["presence.kick"]["data"] = { userId: "bob" };
  const declared: Requests["presence.kick"]["errors"] = "not_found";
  const guarded: Requests["presence.kick"]["errors"] = "forbidden";
  void [client, count, first, nothing, kicked, stop, data, declared, guarded, offset, members, stopPresence];
}

export async function whatDoesNot(): Promise<void> {
  // @ts-expect-error: `status` is a string
  await api.heartbeat({ status: 5 });
  // @ts-expect-error: `data` is required
  await api.heartbeat();
  // @ts-expect-error: a field `data` does not have
  await api.kick({ userId: "bob", reason: "spam" });
  // @ts-expect-error: `presence` is a boolean
  await api.subscribe("presence", { presence: "yes" });
  // @ts-expect-error: no such route
  await api.teleport({ to: "mars" });
  // @ts-expect-error: a field the reply does not have
  const beats: number = (await api.heartbeat({ status: "online" })).beats;
  // @ts-expect-error: the reply is a list, not a user
  const user: OnlineUser = await api.getOnline();
  // @ts-expect-error: no such push
  api.on("presence.gone", () => {});
  // @ts-expect-error: a push's data is typed
  api.on("presence.changed", (data) => { const n: number = data.status; });
  // @ts-expect-error: a code the route does not declare
  const undeclared: Requests["presence.getOnline"]["errors"] = "not_found";
  void [beats, user, undeclared];
}
