// Starts the Rust client tests' app (`client_peer`, built by cargo) as a real
// server the tests can kill and start again on the same port.
//
// Its routes: `echo` (replies with `data`), `record` (`data` is a number n;
// publishes `room.note` {n} to the topic `room`), `fail` (error `teapot`),
// `hang` (never replies); a `hello` push on open; `?token=revoked` is
// refused with HTTP 401.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

const binary = process.env.ORI_CLIENT_PEER;

/** Starts the server on `addr` (default: a free port); resolves once it listens. */
export async function startPeer(addr = "127.0.0.1:0", env = {}) {
  if (!binary) {
    throw new Error(
      "ORI_CLIENT_PEER is not set: run these tests through `cargo test -p ori-tests --test typescript_client`, " +
        "or build `cargo build -p ori-tests --bin client_peer` and set ORI_CLIENT_PEER=target/debug/client_peer",
    );
  }
  const child = spawn(binary, [], { env: { ...process.env, ...env, ORI_ADDR: addr }, stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`client_peer exited (${code}) before it listened`);
  });
  const listening = (async () => {
    for await (const line of lines) {
      const match = /^listening on (ws:\/\/([^/]+)\/ws)$/.exec(line);
      if (match) return { url: match[1], addr: match[2] };
    }
    throw new Error("client_peer ended its output before it listened");
  })();
  const { url, addr: bound } = await Promise.race([listening, exited]);
  exited.catch(() => {});
  return {
    url,
    addr: bound,
    /** Stops the server gracefully (SIGTERM: its connections get the drain's close code). */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = once(child, "exit");
      child.kill("SIGTERM");
      await gone;
    },
    /** Kills the server at once (its connections drop without a close frame). */
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = once(child, "exit");
      child.kill("SIGKILL");
      await gone;
    },
  };
}
