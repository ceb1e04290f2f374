// The presence example's page in a real browser (Debian's Chromium,
// headless, playwright-core) against two instances of its app on one real
// `redis-server` (started here on a free port): both pages show one member
// list, and when one instance is killed (SIGKILL) its members leave the
// other's list within the presence expiry.
//
//   ORI_PRESENCE_PEER=target/debug/presence_example_peer CHROMIUM=/usr/bin/chromium \
//     node --test clients/typescript/test/browser/presence.browser.js
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { after, test } from "node:test";

import { kill, launchChromium, startServer } from "./process.js";

const WAIT = 10_000;
const EXPIRY_MS = 1500;
const binary = process.env.ORI_PRESENCE_PEER;
/** What to kill at the end: redis-server processes and servers (`kill()`). */
const redisServers = [];
const instances = [];

/** A free loopback port. */
async function freePort() {
  const server = net.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  return port;
}

/** Starts `redis-server` on a free port; resolves with its URL once it answers. */
async function startRedis() {
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  redisServers.push(child);
  const deadline = Date.now() + WAIT;
  for (;;) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.end();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (up) return `redis://127.0.0.1:${port}`;
    assert.ok(Date.now() < deadline, "redis-server did not start");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Starts an instance of the presence example on `redisUrl`; resolves once it listens. */
function startInstance(redisUrl) {
  assert.ok(binary, "ORI_PRESENCE_PEER is not set: run through `cargo test -p ori-tests --test typescript_client`");
  return startServer(binary, { ORI_REDIS_URL: redisUrl, ORI_PRESENCE_EXPIRY_MS: String(EXPIRY_MS) });
}

const browser = await launchChromium();
after(async () => {
  await browser.close();
  await Promise.all([...instances.map((instance) => instance.kill()), ...redisServers.map(kill)]);
});

/** Opens the page at `addr` and connects as the user of `token`. */
async function connect(addr, token) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`http://${addr}/`);
  await page.selectOption("#token", token);
  await page.click("#connect button");
  return page;
}

/** The user ids the page lists, once they are `expected` (within `ms`). */
async function members(page, expected, ms = WAIT) {
  const deadline = Date.now() + ms;
  let shown;
  for (;;) {
    shown = await page.locator("#members li").evaluateAll((items) => items.map((li) => li.dataset.user));
    if (JSON.stringify(shown) === JSON.stringify(expected)) return shown;
    if (Date.now() > deadline) assert.deepEqual(shown, expected, "the member list");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("two instances on one Redis show one member list; a killed one's members leave", async () => {
  const redis = await startRedis();
  const [one, two] = [await startInstance(redis), await startInstance(redis)];
  instances.push(one, two);
  const alice = await connect(one.addr, "alice-token");
  const bob = await connect(two.addr, "bob-token");
  await members(alice, ["alice", "bob"]);
  await members(bob, ["alice", "bob"]);

  await two.kill();
  const killed = Date.now();
  await members(alice, ["alice"], EXPIRY_MS + 3000);
  const took = Date.now() - killed;
  // The bound, plus slack for a loaded machine (the expiry is short here).
  assert.ok(took <= EXPIRY_MS + 1500, `bob left after ${took} ms (expiry ${EXPIRY_MS} ms)`);
  assert.match(await alice.locator("#log").innerText(), /bob left/);
  await one.kill();
});
