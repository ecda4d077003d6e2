// synk-codec.js under node: the bytes it writes (checked against the
// msgpack spec and what Go's msgpack writes for the same values), what it
// reads back, and what it refuses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { encode, decode, maxDepth } from "../static/synk-codec.js";

const hex = (b) => Buffer.from(b).toString("hex");
const bytes = (h) => new Uint8Array(Buffer.from(h.replace(/ /g, ""), "hex"));

test("values encode to the smallest msgpack forms", () => {
  for (const [v, want] of [
    [null, "c0"], [undefined, "c0"], [false, "c2"], [true, "c3"],
    [0, "00"], [127, "7f"], [128, "cc80"], [256, "cd0100"], [70000, "ce00011170"],
    [2 ** 40, "cf0000010000000000"], [-1, "ff"], [-32, "e0"], [-33, "d0df"], [-200, "d1ff38"],
    [-70000, "d2fffeee90"], [-(2 ** 40), "d3ffffff0000000000"], [2 ** 53 + 2, "cb4340000000000001"],
    [1.5, "cb3ff8000000000000"], [NaN, "cb7ff8000000000000"],
    ["a", "a161"], ["é", "a2c3a9"], ["x".repeat(32), "d920" + "78".repeat(32)],
    ["x".repeat(256), "da0100" + "78".repeat(256)],
    [new Uint8Array([1, 2]), "c4020102"], [new Float32Array([1]), "c4040000803f"],
    [new DataView(new Uint8Array([9, 8, 7]).buffer, 1, 1), "c40108"], [new Uint8Array([5]).buffer, "c40105"],
    [new Date(1500), "d7ff77359400" + "00000001"], [new Date(-1500), "c70cff" + "1dcd6500" + "fffffffffffffffe"],
    [[1, [2]], "92019102"], [{ a: 1, b: { c: null } }, "82a16101a16281a163c0"],
    [10n, "cf000000000000000a"], [-10n, "d3fffffffffffffff6"],
  ]) {
    assert.equal(hex(encode(v)), want, `encode(${String(v)})`);
  }
});

test("bytes decode to what the page reads", () => {
  for (const [h, want] of [
    ["c0", null], ["c3", true], ["7f", 127], ["e0", -32], ["cc80", 128], ["cd0100", 256],
    ["ce00011170", 70000], ["cf0020000000000002", 2 ** 53 + 2], ["d0df", -33], ["d1ff38", -200],
    ["d2fffeee90", -70000], ["d3ffffff0000000000", -(2 ** 40)], ["ca3fc00000", 1.5],
    ["cb3ff8000000000000", 1.5], ["a161", "a"], ["d90161", "a"], ["da000161", "a"], ["db0000000161", "a"],
    ["a2c3a9", "é"], ["92019102", [1, [2]]], ["dc0001c0", [null]], ["dd00000001c0", [null]],
    ["82a16101a16281a163c0", { a: 1, b: { c: null } }], ["de0001a161c2", { a: false }],
    ["df00000001a161c2", { a: false }], ["810102", { 1: 2 }],
  ]) {
    assert.deepEqual(decode(bytes(h)), want, h);
  }
  // Timestamps, in each of the three forms.
  assert.equal(decode(bytes("d6ff00000002")).getTime(), 2000);
  assert.equal(decode(bytes("d7ff77359400" + "00000001")).getTime(), 1500);
  assert.equal(decode(bytes("c70cff" + "1dcd6500" + "fffffffffffffffe")).getTime(), -1500);
  // Another extension is its data.
  assert.deepEqual(decode(bytes("d40507")), new Uint8Array([7]));
  // bin has a buffer of its own: new Float32Array(u.buffer) reads a pose.
  const u = decode(bytes("92c404000080 3fc0"))[0];
  assert.equal(u.byteOffset, 0);
  assert.equal(u.buffer.byteLength, 4);
  assert.deepEqual([...new Float32Array(u.buffer)], [1]);
});

test("short keys that hash alike decode apart", () => {
  // "Aa" and "BB" collide in the key cache's hash.
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(decode(encode({ Aa: 1, BB: 2 })), { Aa: 1, BB: 2 });
    assert.deepEqual(decode(encode({ BB: 3, Aa: 4 })), { BB: 3, Aa: 4 });
  }
});

test("what cannot be sent or read is refused", () => {
  let deep = [];
  for (let i = 0; i < maxDepth + 2; i++) deep = [deep];
  assert.throws(() => encode(deep), /nested deeper than 32/);
  const cyclic = { a: {} };
  cyclic.a.b = cyclic;
  assert.throws(() => encode(cyclic), /a: b: a: .*nested deeper/);
  assert.throws(() => encode({ f: () => 1 }), /f: cannot send a JS function/);
  assert.throws(() => encode(Symbol("s")), /cannot send a JS symbol/);
  assert.throws(() => encode(2n ** 64n), /beyond 64 bits/);
  assert.throws(() => encode(new Date(NaN)), /invalid Date/);
  for (const h of ["", "a2 61", "92 01", "c4 05 01", "dd ffffffff", "df ffffffff", "c1", "0101", "d7ff 00"]) {
    assert.throws(() => decode(bytes(h)), RangeError, h);
  }
});

test("random values round-trip", () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const value = (depth) => {
    switch (Math.floor(rand() * (depth > 3 ? 6 : 9))) {
      case 0: return null;
      case 1: return rand() < 0.5;
      case 2: return Math.floor((rand() - 0.5) * 2 ** (rand() * 60));
      case 3: return (rand() - 0.5) * 1e6;
      case 4: return String.fromCharCode(...Array.from({ length: Math.floor(rand() * 40) }, () => 32 + Math.floor(rand() * 0x2000)));
      case 5: return new Uint8Array(Array.from({ length: Math.floor(rand() * 10) }, () => Math.floor(rand() * 256)));
      case 6: return Array.from({ length: Math.floor(rand() * 5) }, () => value(depth + 1));
      case 7: return Object.fromEntries(Array.from({ length: Math.floor(rand() * 5) }, (_, i) => ["k" + i, value(depth + 1)]));
      default: return new Date(Math.floor((rand() - 0.3) * 1e13));
    }
  };
  for (let i = 0; i < 3000; i++) {
    const v = value(0);
    assert.deepEqual(decode(encode(v)), v);
  }
});
