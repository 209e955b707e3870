// Gates from Node sharing state through Redis (`redis: { url }` in the gate config), against a
// real redis-server on 127.0.0.1 (a free port, its own data dir) started here and stopped after.
// Without redis-server on PATH the tests skip, unless MODEI_REQUIRE_REDIS or CI is set (as
// scripts/test.sh does), where a missing server fails.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as m from 'modei-core';

const NOW = '2026-06-01T12:00:00.000Z';
const agent = m.SigningKey.fromSeed(new Uint8Array(32).fill(9));
const required = Boolean(process.env.MODEI_REQUIRE_REDIS || process.env.CI);
let binary = null;
try {
  binary = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || null;
} catch { binary = null; }
const skip = binary === null && !required ? 'no redis-server on PATH' : false;

let server;
let url;
let dir;

const freePort = () => new Promise((resolve, reject) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  s.on('error', reject);
});
const reachable = (port) => new Promise((resolve) => {
  const c = connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
  c.on('error', () => resolve(false));
});

before(async () => {
  if (skip) return;
  assert.ok(binary, 'redis-server is required (CI / MODEI_REQUIRE_REDIS) but was not found');
  const port = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'modei-node-redis-'));
  server = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!(await reachable(port))) {
    assert.ok(Date.now() < deadline, 'redis-server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  url = `redis://127.0.0.1:${port}/`;
});

after(() => {
  if (server) server.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const config = (gateId, extra = {}) => ({
  gate_id: gateId, profile: 'L1', checkpoints: false,
  signing_key: { seed_hex: '07'.repeat(32), key_id: 'gk1' },
  redis: { url, timeout_ms: 2000 },
  ...extra,
});
const passport = (constraints) => m.selfIssuePassport(agent, {
  permissions: [{ permission_key: 'pay:*', constraints }],
  issued_at: '2026-06-01T00:00:00Z', expires_at: '2026-06-02T00:00:00Z',
});

test('two gates share a daily cap exactly', { skip }, () => {
  const tok = passport({ 'core:cost:max_cumulative': 10000 });
  const gates = [new m.Gate(config('node-cap')), new m.Gate(config('node-cap'))];
  let allowed = 0;
  for (let i = 0; i < 60; i++) {
    if (gates[i % 2].check({ passport: tok, action: 'pay:send', cost_cents: 500 }, NOW).decision === 'allow') allowed++;
  }
  assert.equal(allowed, 20); // 10,000 cents a day at 500 each, across both gates
});

test('replicas with shared_chains write one chain', { skip }, () => {
  const tok = passport({});
  const gates = [0, 1, 2].map(() => new m.Gate(config('node-chain', { shared_chains: true })));
  for (let i = 0; i < 30; i++) {
    assert.equal(gates[i % 3].check({ passport: tok, action: 'pay:read' }, NOW).decision, 'allow');
  }
  const records = gates.flatMap((g) => g.exportLog().split('\n').filter(Boolean).map((l) => JSON.parse(l)));
  records.sort((a, b) => a.sequence - b.sequence);
  assert.deepEqual(records.map((r) => r.sequence), Array.from({ length: 30 }, (_, i) => i + 1));
  const report = m.verifyLog(records.map((r) => `${JSON.stringify(r)}\n`).join(''), [gates[0].attestationKey]);
  assert.equal(report.ok, true, JSON.stringify(report));
  assert.equal(report.records, 30);
});

test('an unreachable Redis fails closed', { skip }, () => {
  const g = new m.Gate({ ...config('node-gone'), redis: { url: 'redis://127.0.0.1:1/' } });
  const d = g.check({ passport: passport({ 'core:cost:max_cumulative': 100 }), action: 'pay:send', cost_cents: 1 }, NOW);
  assert.equal(d.decision, 'block');
  assert.equal(d.reason, 'state_unavailable');
});

test('a bad redis config is a clear error', () => {
  assert.throws(() => new m.Gate({ gate_id: 'g', redis: { url: 'redis://x/', timeout_ms: 0 } }),
    (e) => e instanceof m.InvalidInputError && e.code === 'invalid_argument' && /timeout_ms/.test(e.message));
});
