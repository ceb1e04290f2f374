// What the client does with a server that misbehaves: a real WebSocket
// server (the `ws` package's) on 127.0.0.1 that answers the client's opening
// `ping` as ori does, then sends what an ori server never would.
import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import WebSocket, { WebSocketServer } from "ws";

import { OriClient } from "../src/index.js";
import { Backoff } from "../src/backoff.js";

/** A server that accepts, answers `ping`s, and hands each connection to `serve`. */
async function misbehaving(serve) {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(server, "listening");
  server.on("connection", (socket) => {
    socket.on("message", (data) => {
      const message = JSON.parse(String(data));
      if (message.type === "ping") {
        socket.send(JSON.stringify({ type: "pong", data: null, correlationId: message.correlationId }));
        if (message.correlationId === "~open") serve(socket);
      }
    });
  });
  return { url: `ws://127.0.0.1:${server.address().port}/ws`, close: () => server.close() };
}

test("what is not an envelope is reported and the connection is kept", async () => {
  const server = await misbehaving((socket) => {
    socket.send("not json");
    socket.send("[1,2]");
    socket.send(JSON.stringify({ data: 1 }));
    socket.send(Buffer.from([1, 2, 3]), { binary: true });
    socket.send(JSON.stringify({ type: "after", data: { ok: true } }));
  });
  const client = new OriClient(server.url, { WebSocket });
  const invalid = [];
  client.onEvent((event) => event.type === "invalidMessage" && invalid.push(event.reason));
  const after = new Promise((resolve) => client.on("after", resolve));
  await client.connect();
  assert.deepEqual(await after, { ok: true });
  assert.equal(invalid.length, 4);
  assert.match(invalid[0], /^not JSON/);
  assert.deepEqual(invalid.slice(1), ["not a JSON object", "no `type` string", "a binary frame on a JSON connection"]);
  assert.equal(client.stats.invalidMessages, 4);
  assert.equal(client.state, "open");
  client.close();
  server.close();
});

test("a reply to no request is ignored and counted", async () => {
  const server = await misbehaving((socket) => {
    socket.send(JSON.stringify({ type: "echo", data: 1, correlationId: "9999" }));
    socket.send(JSON.stringify({ type: "marker", data: null }));
  });
  const client = new OriClient(server.url, { WebSocket });
  const marker = new Promise((resolve) => client.on("marker", resolve));
  await client.connect();
  await marker;
  assert.equal(client.stats.unknownReplies, 1);
  client.close();
  server.close();
});

test("a server that stops answering is left after two keepalive intervals", async () => {
  let silent = false;
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(server, "listening");
  server.on("connection", (socket) =>
    socket.on("message", (data) => {
      const message = JSON.parse(String(data));
      if (message.type === "ping" && !silent) {
        socket.send(JSON.stringify({ type: "pong", data: null, correlationId: message.correlationId }));
      }
    }),
  );
  const client = await OriClient.connect(`ws://127.0.0.1:${server.address().port}/ws`, {
    WebSocket,
    keepalive: 100,
    reconnect: false,
  });
  silent = true;
  const [event] = await Promise.all([
    new Promise((resolve) => client.onEvent((e) => e.type === "closed" && resolve(e))),
  ]);
  assert.equal(event.reason, "the server stopped answering (keepalive)");
  server.close();
});

test("backoff doubles up to its cap, with jitter between half and all of each wait", () => {
  for (const draw of [0, 0.5, 0.999]) {
    const backoff = new Backoff(100, 400, () => draw);
    const waits = [1, 2, 3, 4, 5].map(() => backoff.nextDelay());
    const full = [100, 200, 400, 400, 400];
    waits.forEach((wait, i) => {
      assert.ok(wait >= full[i] / 2 && wait <= full[i], `${wait} within [${full[i] / 2}, ${full[i]}]`);
    });
    assert.equal(backoff.attempt, 5);
  }
});

test("with codec msgpack the client asks for ori.v1.msgpack and sends binary MessagePack", async () => {
  const { decode, encode } = await import("../src/msgpack.js");
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(server, "listening");
  const seen = [];
  server.on("connection", (socket) => {
    seen.push(socket.protocol);
    socket.on("message", (data, isBinary) => {
      const message = decode(data);
      seen.push(isBinary ? message.type : "text?");
      if (message.type === "ping") socket.send(encode({ type: "pong", data: null, correlationId: message.correlationId }));
      if (message.type === "echo") socket.send(encode({ type: "echo", data: message.data, correlationId: message.correlationId }));
    });
  });
  const client = await OriClient.connect(`ws://127.0.0.1:${server.address().port}/ws`, { WebSocket, codec: "msgpack" });
  assert.deepEqual(await client.request("echo", { bytes: new Uint8Array([1, 2]) }), { bytes: new Uint8Array([1, 2]) });
  assert.deepEqual(seen, ["ori.v1.msgpack", "ping", "echo"]);
  client.close();
  server.close();
});
