'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const m = require('..');

const FAMILIES = {
  canonicalization: m.CanonicalizationError, key: m.ModeiKeyError, passport: m.PassportError,
  trust: m.TrustError, constraint: m.ConstraintError, attestation: m.AttestationError,
  catalog: m.CatalogError, state: m.StateError, input: m.InvalidInputError,
};

test('error table', () => {
  const table = m.errorCodes();
  assert.ok(table.length > 50);
  const codes = table.map((r) => r.code);
  assert.equal(new Set(codes).size, codes.length, 'duplicate codes');
  for (const r of table) {
    assert.deepEqual(Object.keys(r).sort(), ['code', 'family', 'meaning']);
    assert.match(r.code, /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
    assert.ok(r.family in FAMILIES, r.family);
    assert.ok(r.meaning.trim());
  }
  assert.deepEqual([...new Set(table.map((r) => r.family))].sort(), Object.keys(FAMILIES).sort());
});

test('class hierarchy', () => {
  assert.ok(m.ModeiError.prototype instanceof Error);
  for (const [fam, Cls] of Object.entries(FAMILIES)) {
    assert.ok(Cls.prototype instanceof m.ModeiError, Cls.name);
    assert.equal(m.FAMILY_CLASSES[fam], Cls);
    assert.equal(Cls.prototype.family, fam);
    assert.equal(Cls.prototype.name, Cls.name);
  }
});

test('every Rust error becomes its family class with .code and .detail', () => {
  for (const { code, family } of m.errorCodes()) {
    let caught;
    try {
      m.__raiseForTest(code, `detail for ${code}`);
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof Error, code);
    assert.ok(caught instanceof m.ModeiError, code);
    assert.equal(Object.getPrototypeOf(caught), FAMILIES[family].prototype, code);
    assert.equal(caught.code, code);
    assert.equal(caught.detail, `detail for ${code}`);
    assert.equal(caught.family, family);
    assert.equal(caught.message, `${code}: detail for ${code}`);
    assert.equal(caught.name, FAMILIES[family].name);
    assert.match(String(caught.stack), /errors\.test\.js/);
  }
});

test('unknown code -> InvalidInputError invalid_argument', () => {
  assert.throws(() => m.__raiseForTest('no_such_code'),
    (e) => e instanceof m.InvalidInputError && e.code === 'invalid_argument' && /no_such_code/.test(e.detail));
});

test('napi argument errors -> InvalidInputError invalid_argument', () => {
  assert.throws(() => m.__raiseForTest(42),
    (e) => e instanceof m.InvalidInputError && e.code === 'invalid_argument' && e.cause instanceof Error);
});
