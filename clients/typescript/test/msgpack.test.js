// The client's MessagePack codec: exact bytes for the spec's formats, round
// trips of the JSON data model, and clear errors for what is not MessagePack.
import assert from "node:assert/strict";
import { test } from "node:test";

import { decode, encode } from "../src/msgpack.js";

const hex = (bytes) => Buffer.from(bytes).toString("hex");

test("each value takes the smallest format", () => {
  const cases = [
    [null, "c0"],
    [false, "c2"],
    [true, "c3"],
    [0, "00"],
    [127, "7f"],
    [128, "cc80"],
    [256, "cd0100"],
    [65536, "ce00010000"],
    [2 ** 32, "cf0000000100000000"],
    [-1, "ff"],
    [-32, "e0"],
    [-33, "d0df"],
    [-129, "d1ff7f"],
    [-32769, "d2ffff7fff"],
    [1.5, "cb3ff8000000000000"],
    [NaN, "c0"],
    ["", "a0"],
    ["é", "a2c3a9"],
    ["x".repeat(32), "d920" + "78".repeat(32)],
    [[1, [2]], "920191" + "02"],
    [{ a: 1, skip: undefined }, "81a16101"],
    [new Uint8Array([1, 2]), "c4020102"],
    [new Date(0), "b8" + Buffer.from("1970-01-01T00:00:00.000Z").toString("hex")],
    [2n ** 63n, "cf8000000000000000"],
  ];
  for (const [value, expected] of cases) assert.equal(hex(encode(value)), expected, `${String(value)}`);
});

test("the JSON data model round-trips", () => {
  const values = [
    { type: "chat.say", data: { text: "héllo 👋", n: [-3, 0, 2 ** 40, -(2 ** 40), 1.25], ok: true, none: null }, correlationId: "c1" },
    "x".repeat(70_000),
    Array.from({ length: 70_000 }, (_, i) => i % 7),
    Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
  ];
  for (const value of values) assert.deepEqual(decode(encode(value)), value);
  assert.deepEqual(decode(encode({ bin: new Uint8Array([9]) })), { bin: new Uint8Array([9]) });
});

test("what is not MessagePack is a clear error", () => {
  assert.throws(() => decode(new Uint8Array([0xa3, 0x61])), /ends too early/);
  assert.throws(() => decode(new Uint8Array([0x01, 0x02])), /bytes after the first value/);
  assert.throws(() => decode(new Uint8Array([0xd4, 0x01, 0x00])), /marker 0xd4/);
  assert.throws(() => decode(new Uint8Array([0xa1, 0xff])), TypeError, "invalid UTF-8");
  assert.throws(() => decode(new Uint8Array([0x81, 0x90, 0x01])), /map key/);
  assert.throws(() => encode(() => 1), /function cannot be sent/);
  const nested = new Uint8Array(600).fill(0x91);
  assert.throws(() => decode(nested), /nested too deeply/);
  // "__proto__" is a plain key, not the prototype.
  const parsed = decode(encode(JSON.parse('{"__proto__": {"polluted": true}}')));
  assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
  assert.deepEqual(Object.keys(parsed), ["__proto__"]);
  assert.equal({}.polluted, undefined);
});
