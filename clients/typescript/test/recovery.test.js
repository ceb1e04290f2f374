// The TypeScript client's history recovery and presence against a real ori
// server (`client_peer`), over real sockets on 127.0.0.1: after a dropped
// connection it joins again from the last position it saw, reports whether
// it recovered, delivers what it missed exactly once; it keeps presence and
// says who is a new member.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import WebSocket from "ws";

import { OriClient } from "../src/index.js";
import { WAIT, nextEvent, presenceChanges } from "./listen.js";
import { startPeer } from "./peer.js";

const peers = [];
after(() => Promise.all(peers.map((peer) => peer.kill())));

for (const codec of ["json", "msgpack"]) {
  describe(codec, () => {
    const options = () => ({ WebSocket, codec, reconnectDelay: 300, maxReconnectDelay: 300 });

    test("after a drop the client recovers what it missed, exactly once, in order", async () => {
      const server = await startPeer();
      peers.push(server);
      const client = await OriClient.connect(server.url, options());
      const got = [];
      client.on("kept", (data, push) => got.push([data, push.offset]));
      const ack = await client.subscribe("hist:ts");
      assert.equal(ack.offset, 0);
      assert.equal(typeof ack.epoch, "string");
      for (const n of [1, 2, 3]) await client.request("kept", { topic: "hist:ts", n });
      await waitFor(() => got.length === 3);
      assert.deepEqual(client.position("hist:ts"), { epoch: ack.epoch, offset: 3 });

      // Another client publishes while this one is away.
      const other = await OriClient.connect(server.url, options());
      const dropped = nextEvent(client, (e) => e.type === "disconnected");
      client.send("kick", null);
      await dropped;
      for (const n of [4, 5, 6]) await other.request("kept", { topic: "hist:ts", n });
      const recovered = await nextEvent(client, (e) => e.type === "recovered");
      assert.deepEqual(recovered, { type: "recovered", topic: "hist:ts", recovered: true });
      await waitFor(() => got.length === 6);
      await other.request("kept", { topic: "hist:ts", n: 7 });
      await waitFor(() => got.length === 7);
      assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7].map((n) => [n, n]), "each once, in order");
      client.close();
      other.close();
    });

    test("the client keeps presence: a second device is not a second member", async () => {
      const server = await startPeer();
      peers.push(server);
      const watcher = await OriClient.connect(server.url, options());
      const synced = presenceChanges(watcher, 1);
      await watcher.subscribe("room:ts", { presence: true });
      assert.deepEqual(await synced, [{ type: "synced", topic: "room:ts" }]);
      assert.deepEqual(watcher.presence("room:ts"), {});

      const phone = await OriClient.connect(server.url, options());
      const web = await OriClient.connect(server.url, options());
      const joins = presenceChanges(watcher, 2);
      await phone.request("presence.track", { topic: "room:ts", key: "alice", meta: { device: "phone" } });
      await web.request("presence.track", { topic: "room:ts", key: "alice", meta: { device: "web" } });
      assert.deepEqual(await joins, [
        { type: "join", topic: "room:ts", key: "alice", meta: { device: "phone" }, newMember: true },
        { type: "join", topic: "room:ts", key: "alice", meta: { device: "web" }, newMember: false },
      ]);
      assert.deepEqual(watcher.presence("room:ts"), { alice: [{ device: "phone" }, { device: "web" }] });

      // The watcher drops; the phone leaves about then: as a diff, or as the
      // new state's difference, once either way.
      const after = presenceChanges(watcher, 2);
      const dropped = nextEvent(watcher, (e) => e.type === "disconnected");
      watcher.send("kick", null);
      await dropped;
      phone.close();
      const changes = await after;
      assert.deepEqual(
        changes.find((c) => c.type === "leave"),
        { type: "leave", topic: "room:ts", key: "alice", meta: { device: "phone" }, gone: false },
      );
      assert.ok(changes.some((c) => c.type === "synced"), JSON.stringify(changes));
      const last = presenceChanges(watcher, 1);
      web.close();
      assert.deepEqual(await last, [
        { type: "leave", topic: "room:ts", key: "alice", meta: { device: "web" }, gone: true },
      ]);
      assert.deepEqual(watcher.presence("room:ts"), {});
      watcher.close();
    });
  });
}

/** Polls `check` until it holds, within WAIT. */
async function waitFor(check) {
  const deadline = Date.now() + WAIT;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
