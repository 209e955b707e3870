// No panic reaches JS from the wasm build either: malformed input to every entry point (the
// same fuzzer as modei-node, test/fuzz-entry.mjs there), run in a child process.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('wasm pkg-node: malformed input to every entry point gives only ModeiErrors', () => {
  const fuzz = fileURLToPath(new URL('../../modei-node/test/fuzz-entry.mjs', import.meta.url));
  const target = fileURLToPath(new URL('../pkg-node/index.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [fuzz, target], { encoding: 'utf8', timeout: 300000, maxBuffer: 1 << 26 });
  assert.equal(r.signal, null, `child killed by ${r.signal}\n${r.stderr}`);
  assert.equal(r.status, 0, `child exited ${r.status}\n${r.stderr}`);
  const s = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.deepEqual(s.bad, [], 'non-ModeiError exceptions');
  assert.ok(s.entryPoints.length >= 40, `only ${s.entryPoints.length} entry points`);
});
