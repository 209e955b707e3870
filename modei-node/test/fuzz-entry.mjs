// Malformed input to every entry point of the JS API (functions, class statics, methods of live
// instances). Every call must return or throw a ModeiError: never another exception, never a
// crash of the process. Shared by modei-node (test/no-panic.test.js runs it in a child process so
// that an abort would be seen as a failure, not kill the runner) and modei-wasm.
// Usage as a script: node fuzz-entry.mjs <module path>  -> prints one JSON summary line.

const garbage = [
  undefined, null, 0, -1, 1e308, NaN, true, '', ' ', '{', '[', '{"a":', 'null', '""', '{}', '[]',
  '\u0000', '\ud800', 'x'.repeat(70000), '{"a":'.repeat(3000), '[' .repeat(5000),
  'eyJhbGciOiJub25lIn0.e30.', 'a.b.c', 'a.b.c.d', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
  new Uint8Array(0), new Uint8Array(31), new Uint8Array(32), new Uint8Array(64).fill(255), new Uint8Array([0xff, 0xfe, 0x00]),
  {}, [], [1, 2], { a: { b: { c: [] } } }, { now: 'yesterday' }, { now: -1e20 }, { ttl_seconds: -1 },
  { permissions: 'x' }, { permissions: [{}] }, { trust_store: 42 }, { revocation: 'nope' },
  { version: 1, issuers: [{ id: 'a', type: 'organization', keys: [{ kid: 'k', public_key: 'x' }] }] },
  { envelope: {}, signature: 'AAAA' }, Object.create(null), () => 1, Symbol('s'), 10n,
];

function pick(i, n) {
  const out = [];
  for (let k = 0; k < n; k++) out.push(garbage[(i * 7 + k * 13) % garbage.length]);
  return out;
}

export function entryPoints(m, fixtures) {
  const out = [];
  const skip = new Set(['__raiseForTest', 'FAMILY_CLASSES', 'default']);
  for (const [name, v] of Object.entries(m)) {
    if (skip.has(name) || typeof v !== 'function' || v.prototype instanceof Error || v === m.ModeiError) continue;
    const isClass = /^[A-Z]/.test(name);
    if (!isClass) { out.push([name, (...a) => v(...a)]); continue; }
    // SigningKey and PublicKey have no public constructor (factories only): `new` is a TypeError-like
    // misuse napi reports itself; not an entry point.
    if (name !== 'SigningKey' && name !== 'PublicKey')
    out.push([`new ${name}`, (...a) => new v(...a)]);
    for (const s of Object.getOwnPropertyNames(v)) {
      if (['length', 'name', 'prototype'].includes(s) || s.startsWith('_') || typeof v[s] !== 'function') continue;
      out.push([`${name}.${s}`, (...a) => v[s](...a)]);
    }
    const inst = fixtures[name];
    if (!inst) continue;
    for (const meth of Object.getOwnPropertyNames(Object.getPrototypeOf(inst))) {
      // free(): wasm-bindgen's manual memory release (WASM only), not an entry point to fuzz.
      if (meth === 'constructor' || meth === 'free' || meth.startsWith('_')) continue;
      const d = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(inst), meth);
      if (!d || typeof d.value !== 'function') continue;
      out.push([`${name}#${meth}`, (...a) => inst[meth](...a)]);
    }
  }
  return out;
}

export function fixturesFor(m) {
  const key = m.SigningKey.fromSeed(new Uint8Array(32).fill(7));
  const store = new m.TrustStore();
  return {
    SigningKey: key,
    PublicKey: key.publicKey,
    TrustStore: store,
    RevocationList: new m.RevocationList(0),
    Verifier: new m.Verifier({ trust_store: store, allow_self_issued: true }),
  };
}

/** Runs every entry point with `rounds` argument combinations; returns a summary. */
export async function fuzzAll(m, { rounds = 60 } = {}) {
  const fixtures = fixturesFor(m);
  const eps = entryPoints(m, fixtures);
  const bad = [];
  let calls = 0;
  let modeiErrors = 0;
  for (const [name, fn] of eps) {
    for (let i = 0; i < rounds; i++) {
      const args = pick(i + name.length, 1 + (i % 5));
      calls++;
      try {
        const r = fn(...args);
        if (r && typeof r.then === 'function') await r;
      } catch (e) {
        if (e instanceof m.ModeiError && typeof e.code === 'string' && e.code.length) modeiErrors++;
        else if (bad.length < 30) bad.push(`${name}(${args.map(show).join(', ')}): ${e && e.constructor && e.constructor.name}: ${String(e && e.message).slice(0, 160)}`);
      }
    }
  }
  return { entryPoints: eps.map(([n]) => n), calls, modeiErrors, bad };
}

function show(a) {
  if (typeof a === 'string') return JSON.stringify(a.length > 20 ? `${a.slice(0, 20)}…(${a.length})` : a);
  if (a instanceof Uint8Array) return `Uint8Array(${a.length})`;
  if (typeof a === 'function') return 'fn';
  if (typeof a === 'symbol' || typeof a === 'bigint') return String(a);
  try { return JSON.stringify(a)?.slice(0, 40) ?? String(a); } catch { return String(a); }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const target = process.argv[2];
  let m = await import(target);
  if (m.default && !m.version) m = m.default;
  const r = await fuzzAll(m);
  console.log(JSON.stringify(r));
}
