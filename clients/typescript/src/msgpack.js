// @ts-check
/**
 * MessagePack, as ori's `ori.v1.msgpack` subprotocol carries envelopes: the
 * JSON data model (maps with string keys, arrays, strings, numbers, booleans,
 * null) plus `bin` (a `Uint8Array`). No extension types. What JSON cannot
 * say is treated as `JSON.stringify` treats it: `undefined` members are
 * left out, objects with `toJSON` are encoded as what it returns.
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A growable output buffer. */
class Writer {
  constructor() {
    this.bytes = new Uint8Array(256);
    this.view = new DataView(this.bytes.buffer);
    this.length = 0;
  }

  /** @param {number} extra bytes about to be written */
  reserve(extra) {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const bytes = new Uint8Array(size);
    bytes.set(this.bytes.subarray(0, this.length));
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer);
  }

  /** @param {number} byte */
  u8(byte) {
    this.reserve(1);
    this.bytes[this.length++] = byte;
  }

  /** @param {number} marker @param {number} value */
  u16(marker, value) {
    this.reserve(3);
    this.bytes[this.length] = marker;
    this.view.setUint16(this.length + 1, value);
    this.length += 3;
  }

  /** @param {number} marker @param {number} value */
  u32(marker, value) {
    this.reserve(5);
    this.bytes[this.length] = marker;
    this.view.setUint32(this.length + 1, value);
    this.length += 5;
  }

  /** @param {Uint8Array} bytes */
  raw(bytes) {
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  }
}

/**
 * `value` as MessagePack.
 * @param {unknown} value
 * @returns {Uint8Array}
 */
export function encode(value) {
  const out = new Writer();
  write(out, value, 0);
  return out.bytes.subarray(0, out.length);
}

/**
 * @param {Writer} out
 * @param {unknown} value
 * @param {number} depth
 */
function write(out, value, depth) {
  if (depth > 512) throw new TypeError("value nested too deeply for MessagePack");
  if (value === null || value === undefined) return out.u8(0xc0);
  switch (typeof value) {
    case "boolean":
      return out.u8(value ? 0xc3 : 0xc2);
    case "number":
      return writeNumber(out, value);
    case "bigint":
      return writeBigInt(out, value);
    case "string":
      return writeString(out, value);
    case "object":
      break;
    default:
      throw new TypeError(`${typeof value} cannot be sent as MessagePack`);
  }
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
    const bytes = value instanceof Uint8Array ? value : new Uint8Array(value);
    header(out, bytes.length, [0xc4, 0], 0xc5, 0xc6);
    return out.raw(bytes);
  }
  if (Array.isArray(value)) {
    header(out, value.length, [0x90, 16], 0xdc, 0xdd);
    for (const item of value) write(out, item === undefined ? null : item, depth + 1);
    return;
  }
  const withToJSON = /** @type {{ toJSON?: () => unknown }} */ (value);
  if (typeof withToJSON.toJSON === "function") return write(out, withToJSON.toJSON(), depth + 1);
  const entries = Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== "function");
  header(out, entries.length, [0x80, 16], 0xde, 0xdf);
  for (const [key, item] of entries) {
    writeString(out, key);
    write(out, item, depth + 1);
  }
}

/**
 * A length header: the fix form (`fix[0] | n` below `fix[1]`; none if 0), 8-bit for bin, then 16 and 32 bits.
 * @param {Writer} out
 * @param {number} n
 * @param {[number, number]} fix
 * @param {number} m16
 * @param {number} m32
 */
function header(out, n, [fixMarker, fixLimit], m16, m32) {
  if (n < fixLimit) out.u8(fixMarker | n);
  else if (fixLimit === 0 && n < 0x100) {
    out.u8(fixMarker);
    out.u8(n);
  } else if (n < 0x10000) out.u16(m16, n);
  else out.u32(m32, n);
}

/** @param {Writer} out @param {string} text */
function writeString(out, text) {
  if (text.length < 32) {
    // Short strings (most keys and values): UTF-8 by hand, no allocation.
    out.reserve(1 + text.length * 3);
    const start = out.length++;
    const bytes = out.bytes;
    let at = out.length;
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c < 0x80) bytes[at++] = c;
      else if (c < 0x800) {
        bytes[at++] = 0xc0 | (c >> 6);
        bytes[at++] = 0x80 | (c & 0x3f);
      } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
        bytes[at++] = 0xf0 | (c >> 18);
        bytes[at++] = 0x80 | ((c >> 12) & 0x3f);
        bytes[at++] = 0x80 | ((c >> 6) & 0x3f);
        bytes[at++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800 && c < 0xe000) c = 0xfffd; // a lone surrogate, as TextEncoder writes it
        bytes[at++] = 0xe0 | (c >> 12);
        bytes[at++] = 0x80 | ((c >> 6) & 0x3f);
        bytes[at++] = 0x80 | (c & 0x3f);
      }
    }
    const n = at - out.length;
    if (n < 32) {
      bytes[start] = 0xa0 | n;
      out.length = at;
      return;
    }
    out.length = start; // 32..=93 bytes: needs str8; write it the general way
  }
  const bytes = encoder.encode(text);
  const n = bytes.length;
  if (n < 32) out.u8(0xa0 | n);
  else if (n < 0x100) {
    out.u8(0xd9);
    out.u8(n);
  } else if (n < 0x10000) out.u16(0xda, n);
  else out.u32(0xdb, n);
  out.raw(bytes);
}

/** @param {Writer} out @param {number} n */
function writeNumber(out, n) {
  if (!Number.isFinite(n)) return out.u8(0xc0); // as JSON.stringify: null
  if (Number.isSafeInteger(n)) {
    if (n >= 0 && n < 0x80) out.u8(n);
    else if (n >= 0 && n < 0x100) out.u8(0xcc), out.u8(n);
    else if (n >= 0 && n < 0x10000) out.u16(0xcd, n);
    else if (n >= 0 && n < 0x100000000) out.u32(0xce, n);
    else if (n < 0 && n >= -32) out.u8(n & 0xff);
    else if (n < 0 && n >= -0x80) out.u8(0xd0), out.u8(n & 0xff);
    else if (n < 0 && n >= -0x8000) out.u16(0xd1, n & 0xffff);
    else if (n < 0 && n >= -0x80000000) out.u32(0xd2, n >>> 0);
    else writeBigInt(out, BigInt(n));
    return;
  }
  out.reserve(9);
  out.bytes[out.length] = 0xcb;
  out.view.setFloat64(out.length + 1, n);
  out.length += 9;
}

/** @param {Writer} out @param {bigint} n */
function writeBigInt(out, n) {
  out.reserve(9);
  if (n >= 0n) {
    if (n > 0xffffffffffffffffn) throw new RangeError(`${n} does not fit MessagePack's 64 bits`);
    out.bytes[out.length] = 0xcf;
    out.view.setBigUint64(out.length + 1, n);
  } else {
    if (n < -0x8000000000000000n) throw new RangeError(`${n} does not fit MessagePack's 64 bits`);
    out.bytes[out.length] = 0xd3;
    out.view.setBigInt64(out.length + 1, n);
  }
  out.length += 9;
}

/**
 * The value in `bytes` (all of them: trailing bytes are an error). 64-bit
 * integers become numbers (as `JSON.parse` reads them), `bin` a `Uint8Array`.
 * @param {Uint8Array | ArrayBuffer} input
 * @returns {unknown}
 */
export function decode(input) {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const reader = { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), at: 0 };
  const value = read(reader, 0);
  if (reader.at !== bytes.length) throw new RangeError("not valid MessagePack: bytes after the first value");
  return value;
}

/**
 * @typedef {{ bytes: Uint8Array, view: DataView, at: number }} Reader
 */

/** @param {Reader} r @param {number} n */
function take(r, n) {
  if (r.at + n > r.bytes.length) throw new RangeError("not valid MessagePack: it ends too early");
  const at = r.at;
  r.at += n;
  return at;
}

/**
 * @param {Reader} r
 * @param {number} depth
 * @returns {unknown}
 */
function read(r, depth) {
  if (depth > 512) throw new RangeError("not valid MessagePack: nested too deeply");
  const marker = r.bytes[take(r, 1)];
  if (marker < 0x80) return marker;
  if (marker >= 0xe0) return marker - 0x100;
  if (marker < 0x90) return readMap(r, marker & 0x0f, depth);
  if (marker < 0xa0) return readArray(r, marker & 0x0f, depth);
  if (marker < 0xc0) return readString(r, marker & 0x1f);
  const v = r.view;
  switch (marker) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return readBin(r, v.getUint8(take(r, 1)));
    case 0xc5:
      return readBin(r, v.getUint16(take(r, 2)));
    case 0xc6:
      return readBin(r, v.getUint32(take(r, 4)));
    case 0xca:
      return v.getFloat32(take(r, 4));
    case 0xcb:
      return v.getFloat64(take(r, 8));
    case 0xcc:
      return v.getUint8(take(r, 1));
    case 0xcd:
      return v.getUint16(take(r, 2));
    case 0xce:
      return v.getUint32(take(r, 4));
    case 0xcf:
      return Number(v.getBigUint64(take(r, 8)));
    case 0xd0:
      return v.getInt8(take(r, 1));
    case 0xd1:
      return v.getInt16(take(r, 2));
    case 0xd2:
      return v.getInt32(take(r, 4));
    case 0xd3:
      return Number(v.getBigInt64(take(r, 8)));
    case 0xd9:
      return readString(r, v.getUint8(take(r, 1)));
    case 0xda:
      return readString(r, v.getUint16(take(r, 2)));
    case 0xdb:
      return readString(r, v.getUint32(take(r, 4)));
    case 0xdc:
      return readArray(r, v.getUint16(take(r, 2)), depth);
    case 0xdd:
      return readArray(r, v.getUint32(take(r, 4)), depth);
    case 0xde:
      return readMap(r, v.getUint16(take(r, 2)), depth);
    case 0xdf:
      return readMap(r, v.getUint32(take(r, 4)), depth);
    default:
      throw new RangeError(`not valid MessagePack here: marker 0x${marker.toString(16)} (extension types are not used)`);
  }
}

/** @param {Reader} r @param {number} n */
function readString(r, n) {
  const at = take(r, n);
  const bytes = r.bytes;
  if (n < 64) {
    // Short ASCII (most keys and values): by hand; anything else goes to TextDecoder.
    let text = "";
    for (let i = at; i < at + n; i++) {
      const c = bytes[i];
      if (c >= 0x80) return decoder.decode(bytes.subarray(at, at + n));
      text += String.fromCharCode(c);
    }
    return text;
  }
  return decoder.decode(bytes.subarray(at, at + n));
}

/** @param {Reader} r @param {number} n */
function readBin(r, n) {
  const at = take(r, n);
  return r.bytes.slice(at, at + n);
}

/** @param {Reader} r @param {number} n @param {number} depth */
function readArray(r, n, depth) {
  const items = [];
  for (let i = 0; i < n; i++) items.push(read(r, depth + 1));
  return items;
}

/** @param {Reader} r @param {number} n @param {number} depth */
function readMap(r, n, depth) {
  /** @type {Record<string, unknown>} */
  const map = {};
  for (let i = 0; i < n; i++) {
    const key = read(r, depth + 1);
    if (typeof key !== "string" && typeof key !== "number") {
      throw new RangeError("not valid MessagePack here: a map key that is not a string");
    }
    const value = read(r, depth + 1);
    // A key such as "__proto__" stays a plain property.
    Object.defineProperty(map, String(key), { value, enumerable: true, writable: true, configurable: true });
  }
  return map;
}
