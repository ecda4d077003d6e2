// synk-codec.js — msgpack as synk.js speaks it to its worker: entries
// and fields go out as one map, events come back as one array per batch
// (internal/bridge on the Go side).
//
// Values map as the wasm client always mapped them (wasm/doc.go):
// null/undefined → nil, boolean → bool, a safe integer → int, another
// number → float64, string → str, Uint8Array → bin, any other typed
// array, DataView or ArrayBuffer → bin of its bytes, Date → timestamp,
// Array → array, any other object → map of its own enumerable keys.
// Back: ints and floats → number (beyond 2^53 precision is lost), bin →
// a Uint8Array with a buffer of its own (so new Float32Array(u.buffer)
// reads a pose back), timestamp → Date, map → object (other keys become
// strings), another extension → Uint8Array of its data.

/** Nesting deeper than this is refused (it also stops cycles). */
export const maxDepth = 32;

const utf8 = new TextEncoder();
const fromUTF8 = new TextDecoder();

class Writer {
  constructor() {
    this.buf = new Uint8Array(256);
    this.view = new DataView(this.buf.buffer);
    this.n = 0;
  }

  need(k) {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + k) size *= 2;
    const buf = new Uint8Array(size);
    buf.set(this.buf.subarray(0, this.n));
    this.buf = buf;
    this.view = new DataView(buf.buffer);
  }

  byte(b) { this.need(1); this.buf[this.n++] = b; }

  head(small, base, n, c8, c16, c32) {
    this.need(5);
    if (small > 0 && n < small) this.buf[this.n++] = base | n;
    else if (c8 && n < 0x100) { this.buf[this.n++] = c8; this.buf[this.n++] = n; }
    else if (n < 0x10000) { this.buf[this.n++] = c16; this.view.setUint16(this.n, n); this.n += 2; }
    else { this.buf[this.n++] = c32; this.view.setUint32(this.n, n); this.n += 4; }
  }

  bytes(b) { this.head(0, 0, b.length, 0xc4, 0xc5, 0xc6); this.need(b.length); this.buf.set(b, this.n); this.n += b.length; }

  int(v) {
    this.need(9);
    const { buf, view } = this;
    if (v >= 0) {
      if (v < 0x80) buf[this.n++] = v;
      else if (v < 0x100) { buf[this.n++] = 0xcc; buf[this.n++] = v; }
      else if (v < 0x10000) { buf[this.n++] = 0xcd; view.setUint16(this.n, v); this.n += 2; }
      else if (v < 0x100000000) { buf[this.n++] = 0xce; view.setUint32(this.n, v); this.n += 4; }
      else { buf[this.n++] = 0xcf; view.setBigUint64(this.n, BigInt(v)); this.n += 8; }
    } else if (v >= -32) buf[this.n++] = v & 0xff;
    else if (v >= -0x80) { buf[this.n++] = 0xd0; view.setInt8(this.n, v); this.n += 1; }
    else if (v >= -0x8000) { buf[this.n++] = 0xd1; view.setInt16(this.n, v); this.n += 2; }
    else if (v >= -0x80000000) { buf[this.n++] = 0xd2; view.setInt32(this.n, v); this.n += 4; }
    else { buf[this.n++] = 0xd3; view.setBigInt64(this.n, BigInt(v)); this.n += 8; }
  }

  value(v, depth) {
    if (depth > maxDepth) throw new TypeError(`value nested deeper than ${maxDepth} (or cyclic)`);
    switch (typeof v) {
      case "undefined": this.byte(0xc0); return;
      case "boolean": this.byte(v ? 0xc3 : 0xc2); return;
      case "number":
        if (Number.isSafeInteger(v)) this.int(v);
        else { this.need(9); this.buf[this.n++] = 0xcb; this.view.setFloat64(this.n, v); this.n += 8; }
        return;
      case "bigint":
        if (v < -(2n ** 63n) || v >= 2n ** 64n) throw new RangeError("a bigint beyond 64 bits cannot be sent");
        this.need(9);
        this.buf[this.n++] = v < 0n ? 0xd3 : 0xcf;
        if (v < 0n) this.view.setBigInt64(this.n, v); else this.view.setBigUint64(this.n, v);
        this.n += 8;
        return;
      case "string": {
        const b = utf8.encode(v);
        this.head(32, 0xa0, b.length, 0xd9, 0xda, 0xdb);
        this.need(b.length);
        this.buf.set(b, this.n);
        this.n += b.length;
        return;
      }
      case "object": break;
      default: throw new TypeError(`cannot send a JS ${typeof v}`);
    }
    if (v === null) { this.byte(0xc0); return; }
    if (v instanceof Uint8Array) { this.bytes(v); return; }
    if (ArrayBuffer.isView(v)) { this.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)); return; }
    if (v instanceof ArrayBuffer) { this.bytes(new Uint8Array(v)); return; }
    if (v instanceof Date) { this.date(v); return; }
    if (Array.isArray(v)) {
      this.head(16, 0x90, v.length, 0, 0xdc, 0xdd);
      for (const x of v) this.value(x, depth + 1);
      return;
    }
    const keys = Object.keys(v);
    this.head(16, 0x80, keys.length, 0, 0xde, 0xdf);
    for (const k of keys) {
      this.value(k, depth + 1);
      try {
        this.value(v[k], depth + 1);
      } catch (e) {
        throw new e.constructor(`${k}: ${e.message}`);
      }
    }
  }

  // date writes the msgpack timestamp extension (type -1), 64-bit when
  // it fits, else 96-bit.
  date(d) {
    const ms = d.getTime();
    if (!Number.isFinite(ms)) throw new RangeError("cannot send an invalid Date");
    const sec = Math.floor(ms / 1000);
    const nsec = (ms - sec * 1000) * 1e6;
    this.need(15);
    if (sec >= 0 && sec < 2 ** 34) {
      this.buf[this.n++] = 0xd7;
      this.buf[this.n++] = 0xff;
      this.view.setUint32(this.n, nsec * 4 + Math.floor(sec / 2 ** 32));
      this.view.setUint32(this.n + 4, sec >>> 0);
      this.n += 8;
    } else {
      this.buf[this.n++] = 0xc7;
      this.buf[this.n++] = 12;
      this.buf[this.n++] = 0xff;
      this.view.setUint32(this.n, nsec);
      this.view.setBigInt64(this.n + 4, BigInt(sec));
      this.n += 12;
    }
  }
}

/** Encodes v as one msgpack value; throws a TypeError or RangeError for
 *  what cannot be sent. */
export function encode(v) {
  const w = new Writer();
  w.value(v, 0);
  return w.buf.slice(0, w.n);
}

// Short strings (keys, names) are decoded by hand and kept: a batch of
// poses names the same few keys thousands of times.
const keyCache = new Map();
const maxCached = 4096;

class Reader {
  constructor(buf) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.n = 0;
  }

  take(k) {
    if (this.n + k > this.buf.length) throw new RangeError("msgpack: truncated");
    const at = this.n;
    this.n += k;
    return at;
  }

  str(len) {
    const at = this.take(len);
    const b = this.buf;
    if (len <= 16) {
      let key = 0, ascii = true;
      for (let i = at; i < at + len; i++) {
        if (b[i] >= 0x80) { ascii = false; break; }
        key = key * 31 + b[i] | 0;
      }
      if (ascii) {
        const cached = keyCache.get(key);
        if (cached !== undefined && cached.length === len && sameASCII(cached, b, at)) return cached;
        const s = String.fromCharCode.apply(null, b.subarray(at, at + len));
        if (keyCache.size >= maxCached) keyCache.clear();
        keyCache.set(key, s);
        return s;
      }
    }
    return fromUTF8.decode(b.subarray(at, at + len));
  }

  bin(len) { const at = this.take(len); return this.buf.slice(at, at + len); }

  array(len, depth) {
    if (len > this.buf.length - this.n) throw new RangeError("msgpack: truncated");
    const out = new Array(len);
    for (let i = 0; i < len; i++) out[i] = this.value(depth + 1);
    return out;
  }

  map(len, depth) {
    if (len * 2 > this.buf.length - this.n) throw new RangeError("msgpack: truncated");
    const out = {};
    for (let i = 0; i < len; i++) {
      const k = this.value(depth + 1);
      out[typeof k === "string" ? k : String(k)] = this.value(depth + 1);
    }
    return out;
  }

  ext(len) {
    const type = this.view.getInt8(this.take(1));
    const at = this.take(len);
    if (type !== -1) return this.buf.slice(at, at + len);
    const v = this.view;
    switch (len) {
      case 4: return new Date(v.getUint32(at) * 1000);
      case 8: {
        const hi = v.getUint32(at), lo = v.getUint32(at + 4);
        const nsec = Math.floor(hi / 4), sec = (hi & 3) * 2 ** 32 + lo;
        return new Date(sec * 1000 + Math.floor(nsec / 1e6));
      }
      case 12: return new Date(Number(v.getBigInt64(at + 4)) * 1000 + Math.floor(v.getUint32(at) / 1e6));
    }
    throw new RangeError(`msgpack: a timestamp of ${len} bytes`);
  }

  value(depth) {
    if (depth > maxDepth + 8) throw new RangeError("msgpack: nested too deep");
    const c = this.buf[this.take(1)];
    const v = this.view;
    if (c < 0x80) return c;
    if (c < 0x90) return this.map(c & 0x0f, depth);
    if (c < 0xa0) return this.array(c & 0x0f, depth);
    if (c < 0xc0) return this.str(c & 0x1f);
    if (c >= 0xe0) return c - 0x100;
    switch (c) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return this.bin(this.buf[this.take(1)]);
      case 0xc5: return this.bin(v.getUint16(this.take(2)));
      case 0xc6: return this.bin(v.getUint32(this.take(4)));
      case 0xc7: return this.ext(this.buf[this.take(1)]);
      case 0xc8: return this.ext(v.getUint16(this.take(2)));
      case 0xc9: return this.ext(v.getUint32(this.take(4)));
      case 0xca: return v.getFloat32(this.take(4));
      case 0xcb: return v.getFloat64(this.take(8));
      case 0xcc: return this.buf[this.take(1)];
      case 0xcd: return v.getUint16(this.take(2));
      case 0xce: return v.getUint32(this.take(4));
      case 0xcf: return Number(v.getBigUint64(this.take(8)));
      case 0xd0: return v.getInt8(this.take(1));
      case 0xd1: return v.getInt16(this.take(2));
      case 0xd2: return v.getInt32(this.take(4));
      case 0xd3: return Number(v.getBigInt64(this.take(8)));
      case 0xd4: return this.ext(1);
      case 0xd5: return this.ext(2);
      case 0xd6: return this.ext(4);
      case 0xd7: return this.ext(8);
      case 0xd8: return this.ext(16);
      case 0xd9: return this.str(this.buf[this.take(1)]);
      case 0xda: return this.str(v.getUint16(this.take(2)));
      case 0xdb: return this.str(v.getUint32(this.take(4)));
      case 0xdc: return this.array(v.getUint16(this.take(2)), depth);
      case 0xdd: return this.array(v.getUint32(this.take(4)), depth);
      case 0xde: return this.map(v.getUint16(this.take(2)), depth);
      case 0xdf: return this.map(v.getUint32(this.take(4)), depth);
    }
    throw new RangeError(`msgpack: unknown byte 0x${c.toString(16)}`);
  }
}

function sameASCII(s, b, at) {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== b[at + i]) return false;
  return true;
}

/** Decodes one msgpack value from the bytes b (a Uint8Array). */
export function decode(b) {
  const r = new Reader(b);
  const v = r.value(0);
  if (r.n !== b.length) throw new RangeError(`msgpack: ${b.length - r.n} bytes after the value`);
  return v;
}
