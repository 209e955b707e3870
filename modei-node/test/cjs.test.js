'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const m = require('..');

test('require() loads the native binding', () => {
  assert.match(m.version(), /^\d+\.\d+\.\d+/);
  assert.equal(m.version(), require('../package.json').version);
});

test('every export is defined', () => {
  for (const [k, v] of Object.entries(m)) assert.notEqual(v, undefined, k);
});
