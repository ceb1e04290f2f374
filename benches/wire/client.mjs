// The load client of ori's wire benchmarks (Node + ws): it speaks what the
// shared load generator cannot (permessage-deflate, MessagePack, wss://) and
// drives ori and the Bun peer alike. One workload per run; prints one JSON line.
//
//   node client.mjs rpc      URL=ws://127.0.0.1:3000/ws CONNS=64 WINDOW=16 SECS=8 CODEC=json|msgpack
//   node client.mjs fanout   URL=... SUBS=1000 PAYLOAD=2048 SECS=8 DEFLATE=1 WINDOW=4
//   node client.mjs connect  URL=wss://... SECS=5 CONCURRENCY=32
//   node client.mjs idle     URL=... CONNS=2000 DEFLATE=1   (holds them until stdin closes)
// CA=path trusts that PEM for wss://.
// MessagePack is msgpackr (standard MessagePack, no record extension): the
// fastest JavaScript codec, so the client does not hide what the server costs.
import fs from "node:fs";
import WebSocket from "ws";
import { Packr } from "msgpackr";

const packr = new Packr({ useRecords: false, mapsAsObjects: true });
const encode = (value) => packr.pack(value);
const decode = (bytes) => packr.unpack(bytes);

const env = process.env;
const mode = process.argv[2];
const url = env.URL ?? "ws://127.0.0.1:3000/ws";
const secs = Number(env.SECS ?? 8);
const codec = env.CODEC ?? "json";
const deflate = env.DEFLATE === "1";
const ca = env.CA ? fs.readFileSync(env.CA) : undefined;

function open() {
  const protocols = codec === "msgpack" ? ["ori.v1.msgpack"] : [];
  const ws = new WebSocket(url, protocols, { perMessageDeflate: deflate, ca });
  ws.binaryType = "nodebuffer";
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function send(ws, envelope) {
  ws.send(codec === "msgpack" ? encode(envelope) : JSON.stringify(envelope));
}

function parse(data, isBinary) {
  return isBinary ? decode(data) : JSON.parse(data.toString());
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : 0;
}

async function rpc() {
  const conns = Number(env.CONNS ?? 64), window = Number(env.WINDOW ?? 16);
  const payload = "x".repeat(Number(env.PAYLOAD ?? 64));
  const sockets = await Promise.all(Array.from({ length: conns }, open));
  const latencies = [];
  let replies = 0, running = true, id = 0;
  const sentAt = new Map();
  for (const ws of sockets) {
    ws.on("message", (data, isBinary) => {
      const m = parse(data, isBinary);
      const t = sentAt.get(m.correlationId);
      if (t === undefined) return;
      sentAt.delete(m.correlationId);
      replies++;
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (running) request(ws);
    });
  }
  function request(ws) {
    const cid = String(id++);
    sentAt.set(cid, process.hrtime.bigint());
    send(ws, { type: "bench.echo", data: payload, correlationId: cid });
  }
  const start = performance.now();
  for (const ws of sockets) for (let i = 0; i < window; i++) request(ws);
  await new Promise((r) => setTimeout(r, secs * 1000));
  running = false;
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  for (const ws of sockets) ws.terminate();
  return { ops: replies, rate: replies / elapsed, p50_ms: percentile(latencies, 0.5), p99_ms: percentile(latencies, 0.99) };
}

async function fanout() {
  const subs = Number(env.SUBS ?? 1000), window = Number(env.WINDOW ?? 4);
  // A JSON object of about PAYLOAD bytes, like an app's state update.
  const bytes = Number(env.PAYLOAD ?? 2048);
  const item = { id: 12345, name: "sensor-north-7", status: "online", value: 21.5, unit: "celsius", tags: ["a", "b"] };
  const payload = { items: [] };
  while (JSON.stringify(payload).length < bytes) payload.items.push({ ...item, id: payload.items.length });
  const sockets = [];
  for (let i = 0; i < subs; i += 100) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, subs - i) }, open))));
  }
  let delivered = 0, round = 0, running = true, publishedAt = new Map();
  const perRound = new Map();
  const latencies = [];
  const publisher = await open();
  function publish() {
    const r = round++;
    perRound.set(r, 0);
    publishedAt.set(r, process.hrtime.bigint());
    send(publisher, { type: "bench.publish", data: { topic: "fan", payload: { round: r, ...payload } } });
  }
  await Promise.all(sockets.map((ws) => new Promise((resolve) => {
    ws.once("message", () => resolve());
    send(ws, { type: "subscribe", data: { topic: "fan" }, correlationId: "s" });
  })));
  for (const ws of sockets) {
    ws.on("message", (data, isBinary) => {
      const m = parse(data, isBinary);
      if (m.type !== "bench.message") return;
      delivered++;
      const r = m.data.round;
      const n = perRound.get(r) + 1;
      if (n === subs) {
        latencies.push(Number(process.hrtime.bigint() - publishedAt.get(r)) / 1e6);
        perRound.delete(r);
        publishedAt.delete(r);
        if (running) publish();
      } else perRound.set(r, n);
    });
  }
  const start = performance.now();
  for (let i = 0; i < window; i++) publish();
  await new Promise((r) => setTimeout(r, secs * 1000));
  running = false;
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const expected = (round - perRound.size) * subs + [...perRound.values()].reduce((a, b) => a + b, 0);
  for (const ws of [...sockets, publisher]) ws.terminate();
  return { ops: delivered, rate: delivered / elapsed, lost: expected - delivered, round_p50_ms: percentile(latencies, 0.5), round_p99_ms: percentile(latencies, 0.99), payload_bytes: JSON.stringify(payload).length };
}

async function connect() {
  const concurrency = Number(env.CONCURRENCY ?? 32);
  let done = 0, failed = 0, running = true;
  async function loop() {
    while (running) {
      try {
        const ws = await open();
        await new Promise((resolve) => {
          ws.once("message", resolve);
          send(ws, { type: "ping", correlationId: "c" });
        });
        ws.close();
        done++;
      } catch {
        failed++;
      }
    }
  }
  const start = performance.now();
  const loops = Array.from({ length: concurrency }, loop);
  await new Promise((r) => setTimeout(r, secs * 1000));
  running = false;
  await Promise.all(loops);
  return { ops: done, rate: done / ((performance.now() - start) / 1000), failed };
}

async function idle() {
  const conns = Number(env.CONNS ?? 2000);
  const sockets = [];
  for (let i = 0; i < conns; i += 100) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, conns - i) }, open))));
  }
  await Promise.all(sockets.map((ws) => new Promise((resolve) => {
    ws.once("message", resolve);
    send(ws, { type: "ping", correlationId: "i" });
  })));
  console.log(JSON.stringify({ open: sockets.length }));
  await new Promise((resolve) => process.stdin.once("end", resolve).resume());
  for (const ws of sockets) ws.terminate();
  return { ops: sockets.length };
}

const workloads = { rpc, fanout, connect, idle };
if (!workloads[mode]) {
  console.error(`usage: node client.mjs ${Object.keys(workloads).join("|")}`);
  process.exit(2);
}
const result = await workloads[mode]();
console.log(JSON.stringify({ mode, codec, deflate, ...result }));
process.exit(0);
