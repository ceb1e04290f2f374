// The TypeScript client's per-request overhead against a hand-written
// client (raw `ws.send` + `JSON.parse` + a map of pending ids), both
// driving the same real ori server (`client_peer`, its `echo` route), in
// turns. Prints requests/s and the client's CPU per request for each.
//
//   cargo build --release -p ori-tests --bin client_peer
//   ORI_CLIENT_PEER=target/release/client_peer taskset -c 1 node clients/typescript/bench/overhead.mjs
//
// CONNS connections x WINDOW requests in flight, SECS seconds per turn,
// ROUNDS turns each (default 4 x 32, 4 s, 3). The server runs on core 0 when
// `taskset` is available.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import WebSocket from "ws";

import { OriClient } from "../src/index.js";

const env = process.env;
const CONNS = Number(env.CONNS ?? 4);
const WINDOW = Number(env.WINDOW ?? 32);
const SECS = Number(env.SECS ?? 4);
const ROUNDS = Number(env.ROUNDS ?? 3);
const DATA = { text: "x".repeat(64), n: 42 };

async function startServer() {
  const server = spawn("taskset", ["-c", "0", env.ORI_CLIENT_PEER], {
    env: { ...env, ORI_ADDR: "127.0.0.1:0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  for await (const line of createInterface({ input: server.stdout })) {
    const match = /^listening on (\S+)$/.exec(line);
    if (match) return { url: match[1], stop: () => server.kill("SIGKILL") };
  }
  throw new Error("client_peer did not start");
}

/** Runs `start(onReply)` until SECS pass; `onReply` counts and asks for the next request. */
async function measure(connect) {
  const senders = await Promise.all(Array.from({ length: CONNS }, connect));
  let replies = 0;
  let running = true;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.all(
    senders.map(async (send) => {
      const lanes = Array.from({ length: WINDOW }, async () => {
        while (running) {
          await send();
          replies++;
        }
      });
      await Promise.all(lanes);
    }),
    setTimeout(() => (running = false), SECS * 1000),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { rate: replies / seconds, cpuUs: (used.user + used.system) / replies };
}

/** A hand-written client: what an app would write without ori's. */
async function rawConnection(url) {
  const ws = new WebSocket(url);
  await once(ws, "open");
  const pending = new Map();
  let next = 0;
  ws.on("message", (data) => {
    const message = JSON.parse(data.toString());
    const resolve = pending.get(message.correlationId);
    if (resolve) {
      pending.delete(message.correlationId);
      resolve(message.data);
    }
  });
  return () =>
    new Promise((resolve) => {
      const id = String(++next);
      pending.set(id, resolve);
      ws.send(JSON.stringify({ type: "echo", data: DATA, correlationId: id }));
    });
}

async function oriConnection(url, codec) {
  const client = await OriClient.connect(url, { WebSocket, codec });
  return () => client.request("echo", DATA);
}

const server = await startServer();
const results = { raw: [], ori: [], "ori msgpack": [] };
const clients = {
  raw: () => rawConnection(server.url),
  ori: () => oriConnection(server.url, "json"),
  "ori msgpack": () => oriConnection(server.url, "msgpack"),
};
const names = Object.keys(clients);
for (let round = 0; round < ROUNDS; round++) {
  // Each round starts with another client, so that none always goes first.
  for (let i = 0; i < names.length; i++) {
    const name = names[(round + i) % names.length];
    results[name].push(await measure(clients[name]));
  }
}
server.stop();
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
const raw = median(results.raw.map((r) => r.cpuUs));
console.log(`${CONNS} connections x ${WINDOW} in flight, ${ROUNDS} rounds of ${SECS} s, medians:`);
for (const [name, runs] of Object.entries(results)) {
  const rate = median(runs.map((r) => r.rate));
  const cpuUs = median(runs.map((r) => r.cpuUs));
  console.log(
    `${name.padEnd(12)} ${rate.toFixed(0).padStart(8)} requests/s  ${cpuUs.toFixed(2).padStart(6)} client µs/request  ${(cpuUs / raw).toFixed(2)}x raw`,
  );
}
process.exit(0);
