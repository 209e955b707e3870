// examples/server.mjs: start it on 127.0.0.1 (port 0), send requests, check allow and block,
// stop it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

test('examples/server.mjs gates /flights/search with a passport header', async () => {
  const child = spawn(process.execPath, [fileURLToPath(new URL('../examples/server.mjs', import.meta.url))], {
    env: { ...process.env, PORT: '0', MODEI_TRUST_STORE: '' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = await once(child.stdout, 'data');
    const info = JSON.parse(String(line).split('\n')[0]);
    assert.match(info.listening, /^http:\/\/127\.0\.0\.1:\d+$/);
    const get = async (path, headers = {}) => {
      const r = await fetch(`${info.listening}${path}`, { headers });
      return { status: r.status, body: await r.json() };
    };
    const allow = await get('/flights/search?to=OPO', { authorization: `Passport ${info.demo_tokens.search}` });
    assert.equal(allow.status, 200);
    assert.equal(allow.body.decision, 'allow');
    assert.equal(allow.body.permission, 'flights:search');
    assert.equal(allow.body.attestation.decision, 'allow');
    assert.equal(allow.body.attestation.sequence, 1);
    const tooDear = await get('/flights/search?cost_cents=60000', { authorization: `Passport ${info.demo_tokens.search}` });
    assert.equal(tooDear.status, 403);
    assert.equal(tooDear.body.reason, 'core:cost:max_per_action');
    const viaHeader = await get('/flights/search', { 'x-modei-passport': info.demo_tokens.search });
    assert.equal(viaHeader.status, 200);

    const noPerm = await get('/flights/search', { authorization: `Passport ${info.demo_tokens.readOnly}` });
    assert.equal(noPerm.status, 403);
    assert.equal(noPerm.body.decision, 'block');
    assert.ok(noPerm.body.reason);

    const book = await get('/flights/book', { authorization: `Passport ${info.demo_tokens.search}` });
    assert.equal(book.status, 403);

    const none = await get('/flights/search');
    assert.equal(none.status, 401);
    assert.equal(none.body.reason, 'passport_missing');

    const t = info.demo_tokens.search;
    const tampered = `${t.slice(0, -6)}${t.slice(-6, -5) === 'A' ? 'B' : 'A'}${t.slice(-5)}`;
    const bad = await get('/flights/search', { authorization: `Passport ${tampered}` });
    assert.equal(bad.status, 401);
    assert.equal(bad.body.decision, 'block');
    assert.match(bad.body.reason, /^(signature_invalid|jwt_malformed|signature_malformed)$/);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});
