// Registers the shared vector suite (suite.mjs) as node:test tests: one test per group, failing
// with the group's failure list. Used by modei-node and modei-wasm (both builds) tests.
import { readFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { groups, runSuite } from './suite.mjs';

const root = new URL('../', import.meta.url);
export const load = (rel) => readFile(new URL(rel, root), 'utf8');

export function registerSuite(test, m, label) {
  for (const g of groups) {
    test(`${label}: vectors ${g.name}`, async (t) => {
      const [r] = await runSuite(m, load, { only: [g.name] });
      if (r.skipped) {
        t.skip(r.skipped);
        return;
      }
      assert.deepEqual(r.failures, [], `${r.failures.length} of ${r.cases} cases differ`);
      assert.ok(r.cases > 0, 'no cases ran');
    });
  }
}
