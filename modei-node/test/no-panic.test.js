'use strict';
// No panic reaches Node: malformed input to every entry point (test/fuzz-entry.mjs), run in a
// child process so that an abort would show up as a failure here rather than kill the runner.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

test('malformed input to every entry point: only ModeiErrors, the process survives', () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'fuzz-entry.mjs'), path.join(__dirname, '..', 'index.js')], {
    encoding: 'utf8', timeout: 300000, maxBuffer: 1 << 26,
  });
  assert.equal(r.signal, null, `child killed by ${r.signal}\n${r.stderr}`);
  assert.equal(r.status, 0, `child exited ${r.status}\n${r.stderr}`);
  const s = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.deepEqual(s.bad, [], 'non-ModeiError exceptions');
  assert.ok(s.entryPoints.length >= 40, `only ${s.entryPoints.length} entry points`);
  assert.ok(s.modeiErrors > s.calls / 2, `${s.modeiErrors} ModeiErrors of ${s.calls} calls`);
  for (const n of ['canonicalize', 'verifySignature', 'Verifier#verify', 'TrustStore.fromJson', 'issuePassport', 'verifyEnvelope', 'PublicKey#verify', 'SigningKey.importKey']) {
    assert.ok(s.entryPoints.includes(n), `${n} not exercised`);
  }
});
