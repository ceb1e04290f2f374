// The MessagePack codec on input nobody thought of (fast-check, seeded so a
// failure reproduces): JSON values survive as JSON would carry them; any
// bytes decode or fail with a clear error, and what decodes re-encodes
// stably; and the Rust server's transcoder reads what this codec writes.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import fc from "fast-check";
import WebSocket from "ws";

import { OriClient } from "../src/index.js";
import { decode, encode } from "../src/msgpack.js";
import { startPeer } from "./peer.js";

// Fixed for CI; FC_SEED=... to explore.
const seed = Number(process.env.FC_SEED ?? 27);
const runs = (numRuns) => ({ seed, numRuns });

/** One UTF-16 unit of a string: any code point, or now and then a lone surrogate. */
const unit = fc.oneof(
  { weight: 9, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
);

/** Any JSON value, strings of any UTF-16 (lone surrogates included). */
const jsonValue = fc.jsonValue({ maxDepth: 6, stringUnit: unit });

/**
 * `value` as it arrives through JSON, a lone surrogate replaced by U+FFFD:
 * what a UTF-8 frame can carry (`TextEncoder` replaces them the same way).
 */
function asCarried(value) {
  const parsed = JSON.parse(JSON.stringify(value));
  const wellFormed = (v) => {
    if (typeof v === "string") return v.toWellFormed();
    if (Array.isArray(v)) return v.map(wellFormed);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k.toWellFormed(), wellFormed(item)]));
    }
    return v;
  };
  return wellFormed(parsed);
}

test("every JSON value survives encode and decode as JSON carries it", () => {
  fc.assert(
    fc.property(jsonValue, (value) => {
      assert.deepStrictEqual(decode(encode(value)), asCarried(value));
    }),
    runs(3000),
  );
});

/** A clear error: a RangeError or TypeError that says what is wrong. */
function assertClear(error) {
  assert.ok(error instanceof RangeError || error instanceof TypeError, `not a clear error: ${error}`);
  assert.ok(error.message.length > 10, `an error without a message: ${error}`);
}

/** Decodes `bytes`: a value whose encoding is stable, or a clear error. */
function decodesOrFailsClearly(bytes) {
  let value;
  try {
    value = decode(bytes);
  } catch (error) {
    assertClear(error);
    return;
  }
  // Stable from the second round: floats widen to 64 bits and NaN becomes
  // null once, then nothing changes.
  const once = encode(value);
  assert.deepStrictEqual(encode(decode(once)), once);
}

test("any bytes decode to a value that re-encodes stably, or fail clearly", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), decodesOrFailsClearly), runs(20_000));
});

test("valid encodings cut short or with a byte changed decode, or fail clearly", () => {
  const damaged = fc
    .tuple(jsonValue, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean())
    .map(([value, at, byte, truncate]) => {
      const bytes = encode(value).slice();
      const i = at % bytes.length;
      if (truncate) return bytes.subarray(0, i);
      bytes[i] = byte;
      return bytes;
    });
  fc.assert(fc.property(damaged, decodesOrFailsClearly), runs(20_000));
});

const peers = [];
after(() => Promise.all(peers.map((peer) => peer.kill())));

test("the Rust server reads what this codec writes and answers the same value", async () => {
  const server = await startPeer();
  peers.push(server);
  const client = await OriClient.connect(server.url, { WebSocket, codec: "msgpack" });
  // The server transcodes MessagePack to JSON and back (lone surrogates
  // left as U+FFFD by the encoder, as a text frame would).
  const values = fc.sample(jsonValue, { seed, numRuns: 300 });
  for (const value of values) {
    const reply = await client.request("echo", value);
    assert.deepStrictEqual(reply, asCarried(value), JSON.stringify(value));
  }
  client.close();
});
