// The TypeScript client against a real ori server (the Rust client tests'
// app, `client_peer`), over real sockets on 127.0.0.1.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import WebSocket from "ws";

import { OriClient, OriError } from "../src/index.js";
import { WAIT, nextEvent, pushes } from "./listen.js";
import { startPeer } from "./peer.js";

const peers = [];
after(() => Promise.all(peers.map((peer) => peer.kill())));

async function peer(addr, env) {
  const started = await startPeer(addr, env);
  peers.push(started);
  return started;
}

// Every test runs once per codec: JSON text frames and MessagePack binary frames.
for (const codec of ["json", "msgpack"]) {
describe(codec, () => {
  const options = (extra = {}) => ({ WebSocket, codec, reconnectDelay: 50, maxReconnectDelay: 200, ...extra });

  test("requests get their replies; pushes on open reach listeners", async () => {
    const server = await peer();
    const client = new OriClient(server.url, options());
    const hello = pushes(client, "hello", 1);
    await client.connect();
    assert.equal(client.state, "open");
    const [greeting] = await hello;
    assert.match(greeting.socket_id, /\S/);
    const data = { text: "héllo", n: [1, 2.5, null], nested: { ok: true } };
    const replies = await Promise.all([1, 2, 3].map((i) => client.request("echo", { ...data, i })));
    assert.deepEqual(
      replies.map((r) => r.i),
      [1, 2, 3],
    );
    assert.deepEqual(replies[0], { ...data, i: 1 });
    client.close();
    assert.equal(client.state, "closed");
  });

  test("server errors are typed: the code is the server's", async () => {
    const server = await peer();
    const client = await OriClient.connect(server.url, options());
    await assert.rejects(client.request("fail", {}), (error) => {
      assert.ok(error instanceof OriError);
      assert.equal(error.kind, "server");
      assert.equal(error.code, "teapot");
      assert.equal(error.message, "I refuse");
      assert.equal(error.details, undefined);
      return true;
    });
    await assert.rejects(client.request("fail.detailed", {}), (error) => {
      assert.ok(error instanceof OriError);
      assert.equal(error.code, "busy");
      assert.deepEqual(error.details, { retryAfterMs: 250, reasons: ["busy", 'queue "full"'] });
      return true;
    });
    await assert.rejects(client.request("no.such.route", {}), { kind: "server", code: "unknown_type" });
    await assert.rejects(client.request("echo.bad type", {}), { kind: "server", code: "bad_request" });
    await assert.rejects(client.subscribe("__reserved"), { kind: "server", code: "forbidden" });
    // The connection is still good.
    assert.deepEqual(await client.request("echo", 7), 7);
    client.close();
  });

  test("a request without a reply times out; a late reply would be counted, not delivered", async () => {
    const server = await peer();
    const client = await OriClient.connect(server.url, options());
    const started = Date.now();
    await assert.rejects(client.request("hang", {}, { timeout: 150 }), { kind: "timeout" });
    assert.ok(Date.now() - started >= 140, "waited for the timeout");
    assert.deepEqual(await client.request("echo", "still open"), "still open");
    client.close();
  });

  test("a refusal (HTTP 401) is not retried", async () => {
    const server = await peer();
    const client = new OriClient(server.url, options({ query: { token: "revoked" } }));
    const attempts = [];
    client.onEvent((event) => attempts.push(event.type));
    await assert.rejects(client.connect(), (error) => {
      assert.equal(error.kind, "refused");
      assert.equal(error.status, 401);
      assert.ok(error.isRefusal);
      assert.match(error.message, /401: check the credentials/);
      return true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(client.state, "closed");
    assert.deepEqual(attempts, ["closed"], "no reconnection attempt");
    assert.throws(() => client.send("echo", 1), { kind: "closed" });
  });

  test("a wrong path (HTTP 404) says where an ori server's endpoint is", async () => {
    const server = await peer();
    const url = server.url.replace(/\/ws$/, "/websocket");
    await assert.rejects(OriClient.connect(url, options()), (error) => {
      assert.equal(error.kind, "refused");
      assert.equal(error.status, 404);
      assert.match(error.message, /404: no WebSocket endpoint at this path \(an ori server's is at \/ws/);
      return true;
    });
  });

  test("an unreachable server fails the first connect with kind `connect`", async () => {
    const server = await peer();
    await server.kill();
    await assert.rejects(OriClient.connect(server.url, options()), { kind: "connect" });
  });

  test("after a planned restart (1012) the client comes back at once, without backing off", async () => {
    const first = await peer(undefined, { ORI_DRAIN_CLOSE_CODE: "1012" });
    const client = await OriClient.connect(first.url, options({ reconnectDelay: 600, maxReconnectDelay: 600 }));
    try {
      const disconnected = nextEvent(client, (e) => e.type === "disconnected");
      const attempt = nextEvent(client, (e) => e.type === "reconnecting");
      await first.stop(); // SIGTERM: a drain closing with 1012
      assert.equal((await disconnected).code, 1012);
      assert.ok((await attempt).delay <= 250, "the first attempt waits jitter only, not the backoff's 300-600 ms");
      const reopened = nextEvent(client, (e) => e.type === "open", 3 * WAIT);
      await peer(first.addr, { ORI_DRAIN_CLOSE_CODE: "1012" });
      const listening = Date.now();
      await reopened;
      // At most one failed attempt at once (the server was not up yet), then one wait of the backoff.
      assert.ok(Date.now() - listening < 1000, `back ${Date.now() - listening} ms after the server listened`);
    } finally {
      client.close();
    }
  });

  test("after a restart the client reconnects, rejoins its topics, then writes its queue in order", async () => {
    const first = await peer();
    const client = await OriClient.connect(first.url, options({ maxQueued: 100 }));
    await client.subscribe("room");
    assert.deepEqual(client.topics, ["room"]);
    assert.deepEqual(await recordOne(client, 0), [{ n: 0 }]);

    const disconnected = nextEvent(client, (e) => e.type === "disconnected");
    await first.kill();
    await disconnected;
    assert.equal(client.state, "reconnecting");

    // Queued while the server is down; `record` publishes each n to `room`,
    // which the client sees only if it joined `room` again before they ran.
    const notes = pushes(client, "room.note", 10, 3 * WAIT);
    for (let n = 1; n <= 10; n++) client.send("record", n);
    const reopened = nextEvent(client, (e) => e.type === "open", 3 * WAIT);
    await peer(first.addr);
    assert.deepEqual(await reopened, { type: "open", reconnected: true });
    assert.deepEqual(
      (await notes).map((note) => note.n),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    assert.equal(client.state, "open");
    client.close();
  });

  test("re-authentication: new credentials reach the guard and every reconnection", async () => {
    const first = await peer();
    const client = await OriClient.connect(first.url, options({ query: { token: "t1" } }));
    assert.equal(await client.request("whoami"), "t1");
    await client.reauthenticate({ query: { token: "t2" } });
    assert.equal(await client.request("whoami"), "t2");

    const reopened = nextEvent(client, (e) => e.type === "open", 3 * WAIT);
    await first.kill();
    await peer(first.addr);
    await reopened;
    assert.equal(await client.request("whoami"), "t2", "the reconnection sent the new token");

    const closed = nextEvent(client, (e) => e.type === "disconnected" || e.type === "closed");
    await assert.rejects(client.reauthenticate({ query: { token: "bad" } }));
    const event = await closed;
    assert.equal(event.code, 1008, JSON.stringify(event));
    client.close();
  });

  /** Records `n` and returns the note the subscribed client gets back. */
  async function recordOne(client, n) {
    const note = pushes(client, "room.note", 1);
    await client.request("record", n);
    return note;
  }

  test("requests written before a drop fail with `disconnected`; the queue is bounded", async () => {
    const server = await peer();
    const client = await OriClient.connect(server.url, options({ maxQueued: 3, reconnectDelay: 10_000 }));
    const hanging = assert.rejects(client.request("hang", {}), { kind: "disconnected" });
    const disconnected = nextEvent(client, (e) => e.type === "disconnected");
    await server.kill();
    await hanging;
    await disconnected;
    client.send("echo", 1);
    client.send("echo", 2);
    const queuedRequest = client.request("echo", 3);
    assert.throws(() => client.send("echo", 4), (error) => {
      assert.equal(error.kind, "queue_full");
      assert.match(error.message, /full \(3 messages\)/);
      return true;
    });
    client.close();
    await assert.rejects(queuedRequest, { kind: "closed" });
  });

  test("close() ends for good: waiting requests fail, listeners hear `closed`", async () => {
    const server = await peer();
    const client = await OriClient.connect(server.url, options());
    const closed = nextEvent(client, (e) => e.type === "closed");
    const waiting = client.request("hang", {});
    client.close();
    await assert.rejects(waiting, { kind: "closed" });
    assert.deepEqual(await closed, { type: "closed", code: 1000, reason: "closed by the client" });
    await assert.rejects(client.request("echo", 1), { kind: "closed" });
  });

  test("close() while the first connection opens rejects connect() with `closed`", async () => {
    const server = await peer();
    const client = new OriClient(server.url, options());
    const connecting = client.connect();
    client.close();
    await assert.rejects(connecting, { kind: "closed" });
    assert.equal(client.state, "closed");
  });
});
}
