// Starting the example servers (and redis-server) as real processes for the
// browser tests, and launching Chromium as the machine allows it.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

/**
 * Starts `binary` with `env` on `addr`; resolves once it prints `listening on
 * http://ADDR`, with that address and a `kill()` (SIGKILL: no goodbye).
 */
export async function startServer(binary, env, addr = "127.0.0.1:0") {
  const child = spawn(binary, [], { env: { ...process.env, ...env, ORI_ADDR: addr }, stdio: ["ignore", "pipe", "inherit"] });
  for await (const line of createInterface({ input: child.stdout })) {
    const match = /^listening on http:\/\/(\S+)$/.exec(line);
    if (match) return { addr: match[1], kill: () => kill(child) };
  }
  throw new Error(`${binary} did not start`);
}

/** Kills `child` with SIGKILL and waits for it to exit. */
export async function kill(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = once(child, "exit");
  child.kill("SIGKILL");
  await gone;
}

/** Headless Chromium (`CHROMIUM`, default `/usr/bin/chromium`), with the flags a closed network needs. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
}
