import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import def, { version, errorCodes, ModeiError, PassportError } from 'modei-core';

const require = createRequire(import.meta.url);

test('named ESM imports work', () => {
  assert.match(version(), /^\d+\.\d+\.\d+/);
  assert.ok(errorCodes().length > 50);
  assert.ok(PassportError.prototype instanceof ModeiError);
});

test('ESM exports equal the CommonJS exports', async () => {
  const esm = await import('modei-core');
  const cjs = require('modei-core');
  const names = Object.keys(esm).filter((k) => k !== 'default').sort();
  assert.deepEqual(names, Object.keys(cjs).sort());
  for (const k of names) assert.equal(esm[k], cjs[k], k);
  assert.equal(def, cjs);
});
