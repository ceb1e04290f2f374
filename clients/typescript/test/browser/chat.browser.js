// The chat example's page in a real browser: Debian's Chromium, headless,
// driven by playwright-core, against the chat example's app run as a real
// server (`chat_peer`), which the test kills and starts again. Two pages
// talk to each other, both come back after the restart and keep talking, a
// reloaded page shows the last messages and recovers what came meanwhile,
// and a page the connection guard refuses shows why. On a failure each
// page's screenshot is saved and its path printed.
//
//   ORI_CHAT_PEER=target/debug/chat_peer CHROMIUM=/usr/bin/chromium \
//     node --test clients/typescript/test/browser/
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";

import { launchChromium, startServer } from "./process.js";

const WAIT = 10_000;
const binary = process.env.ORI_CHAT_PEER;

/** Starts the chat server on `addr`; resolves with its address once it listens. */
function startChat(addr = "127.0.0.1:0") {
  assert.ok(binary, "ORI_CHAT_PEER is not set: run through `cargo test -p ori-tests --test typescript_client`");
  return startServer(binary, {}, addr);
}

const browser = await launchChromium();
const servers = [];
after(async () => {
  await browser.close();
  await Promise.all(servers.map((server) => server.kill()));
});

/** Runs `body` with fresh pages; on a failure, saves a screenshot of each. */
async function withPages(names, body) {
  const pages = await Promise.all(names.map(async () => (await browser.newContext()).newPage()));
  try {
    await body(...pages);
  } catch (error) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ori-browser-"));
    for (const [i, page] of pages.entries()) {
      const file = path.join(dir, `${names[i]}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      console.error(`screenshot of ${names[i]}: ${file}`);
    }
    throw error;
  } finally {
    await Promise.all(pages.map((page) => page.context().close()));
  }
}

/** Opens the page at `addr` and joins as `name`. */
async function join(page, addr, name) {
  await page.goto(`http://${addr}/`);
  await page.fill("#name", name);
  await page.click("#join button");
}

const statusOf = (page) => page.locator("#status");
const logOf = (page) => page.locator("#log");

async function say(page, text) {
  await page.fill("#text", text);
  await page.click("#say button");
}

test("two pages chat, survive a server restart, and keep chatting", async () => {
  const first = await startChat();
  servers.push(first);
  await withPages(["ann", "bob"], async (ann, bob) => {
    await join(ann, first.addr, "ann");
    await assert.doesNotReject(statusOf(ann).filter({ hasText: "connected as ann" }).waitFor({ timeout: WAIT }));
    await join(bob, first.addr, "bob");
    await statusOf(bob).filter({ hasText: "connected as bob" }).waitFor({ timeout: WAIT });
    await logOf(ann).filter({ hasText: "* bob joined" }).waitFor({ timeout: WAIT });

    await say(ann, "hi bob");
    await logOf(bob).filter({ hasText: "ann: hi bob" }).waitFor({ timeout: WAIT });
    await logOf(ann).filter({ hasText: "ann: hi bob" }).waitFor({ timeout: WAIT }); // delivered, logged

    await first.kill();
    await statusOf(ann).filter({ hasText: "reconnecting" }).waitFor({ timeout: WAIT });
    await statusOf(bob).filter({ hasText: "reconnecting" }).waitFor({ timeout: WAIT });
    const second = await startChat(first.addr);
    servers.push(second);
    await statusOf(ann).filter({ hasText: "(reconnected)" }).waitFor({ timeout: WAIT });
    await statusOf(bob).filter({ hasText: "(reconnected)" }).waitFor({ timeout: WAIT });

    await say(bob, "still here");
    await logOf(ann).filter({ hasText: "bob: still here" }).waitFor({ timeout: WAIT });
    await say(ann, "me too");
    await logOf(bob).filter({ hasText: "ann: me too" }).waitFor({ timeout: WAIT });
  });
});

test("a reloaded page shows the last messages, then what came meanwhile, each once", async () => {
  const server = await startChat();
  servers.push(server);
  await withPages(["ann", "bob"], async (ann, bob) => {
    await join(ann, server.addr, "ann");
    await statusOf(ann).filter({ hasText: "connected as ann" }).waitFor({ timeout: WAIT });
    await join(bob, server.addr, "bob");
    await statusOf(bob).filter({ hasText: "connected as bob" }).waitFor({ timeout: WAIT });
    await say(bob, "before the reload");
    await logOf(ann).filter({ hasText: "bob: before the reload" }).waitFor({ timeout: WAIT });

    await ann.reload(); // the tab keeps its sessionStorage: its lines and its position
    await say(bob, "while ann was away");
    await logOf(bob).filter({ hasText: "bob: while ann was away" }).waitFor({ timeout: WAIT });
    await join(ann, server.addr, "ann");
    await logOf(ann).filter({ hasText: "bob: while ann was away" }).waitFor({ timeout: WAIT });
    const lines = (await logOf(ann).innerText()).split("\n");
    const count = (text) => lines.filter((line) => line === text).length;
    assert.equal(count("bob: before the reload"), 1, lines.join(" | "));
    assert.equal(count("bob: while ann was away"), 1, lines.join(" | "));
    assert.ok(!lines.includes("(some messages were missed)"), lines.join(" | "));
  });
});

test("a page the connection guard refuses shows why", async () => {
  const server = await startChat();
  servers.push(server);
  await withPages(["nameless"], async (page) => {
    await join(page, server.addr, "");
    await statusOf(page).filter({ hasText: "refused:" }).waitFor({ timeout: WAIT });
    assert.match(await statusOf(page).innerText(), /refused: .*1008.*a name of 1 to 32 characters is required/);
    assert.equal(await page.locator("#say").isHidden(), true);
  });
});
