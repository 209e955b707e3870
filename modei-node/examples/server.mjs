// A node:http server that gates a route with a passport header.
//
//   node examples/server.mjs                     # demo mode: makes an issuer key, prints tokens
//   MODEI_TRUST_STORE=trust.json node examples/server.mjs
//
//   curl -H "Authorization: Passport $TOKEN" http://127.0.0.1:8787/flights/search?to=LIS
//
// The passport (a JWT or a v2 envelope wire pair, in `Authorization: Passport <...>` or
// `X-Modei-Passport`) goes to a modei Gate with the action the route needs (`flights:search`):
// the gate verifies it against the trust store, matches the permission, enforces its
// constraints (here a per-action cost cap) and signs an attestation. Status: 200 allow (with the
// attestation), 202 request_hold, 401 when the passport itself does not verify, 403 any other
// block. A block is a result, never an exception.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { Gate, TrustStore, SigningKey, issuePassport, errorCodes } from 'modei-core';

const GATE_ID = 'gate:flights-demo';
const ROUTES = { '/flights/search': 'flights:search', '/flights/book': 'flights:book' };

function passportFrom(req) {
  const auth = req.headers.authorization ?? '';
  if (auth.startsWith('Passport ')) return auth.slice('Passport '.length).trim();
  const h = req.headers['x-modei-passport'];
  return typeof h === 'string' ? h : null;
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

// Codes that mean "this passport does not verify" (401) rather than "not allowed" (403).
const AUTH_FAMILIES = new Set(['passport', 'trust', 'key']);
const authCodes = new Set(errorCodes().filter((c) => AUTH_FAMILIES.has(c.family)).map((c) => c.code));

export function createGatedServer(gate) {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const action = ROUTES[url.pathname];
    if (!action) return send(res, 404, { error: 'not_found' });
    const passport = passportFrom(req);
    if (!passport) return send(res, 401, { decision: 'block', reason: 'passport_missing' });
    const cost = Number(url.searchParams.get('cost_cents') ?? 0);
    const d = gate.check({ action, passport, target: `https://flights.example${url.pathname}`, cost_cents: cost });
    const body = { decision: d.decision, reason: d.reason, detail: d.detail, agent_id: d.agent_id, permission: d.permission };
    if (d.decision === 'allow') {
      return send(res, 200, { ...body, result: { flights: [{ to: url.searchParams.get('to') ?? 'LIS', price_cents: 12900 }] }, attestation: d.attestation });
    }
    if (d.decision === 'request_hold') return send(res, 202, { ...body, hold_id: d.hold_id });
    return send(res, authCodes.has(d.reason) ? 401 : 403, body);
  });
}

function demoSetup() {
  const issuer = SigningKey.generate();
  const jwk = issuer.publicKey.toJwk();
  const store = TrustStore.fromJson({
    version: 1,
    issuers: [{ id: 'acme', type: 'organization', name: 'Acme (demo)', keys: [{ kid: 'demo-1', jwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x } }] }],
  });
  const agent = SigningKey.generate().publicKey.toBase64();
  const mk = (permissions) => issuePassport(issuer, 'acme', 'demo-1', { agent_key: agent, agent_name: 'Travel agent (demo)', ttl_seconds: 3600, audience: GATE_ID, permissions });
  return {
    store,
    tokens: {
      search: mk([{ permission_key: 'flights:search', constraints: { 'core:cost:max_per_action': 50000 } }]),
      readOnly: mk(['hotels:search']),
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let store;
  let tokens = null;
  if (process.env.MODEI_TRUST_STORE) {
    store = TrustStore.fromJson(readFileSync(process.env.MODEI_TRUST_STORE, 'utf8'), process.env.MODEI_TRUST_STORE);
  } else {
    ({ store, tokens } = demoSetup());
  }
  // The gate's attestation key: generated here; a real deployment loads it (signing_key.pem).
  const gate = new Gate({
    gate_id: GATE_ID, profile: 'L1', trust_store: store,
    signing_key: { seed_hex: Buffer.from(SigningKey.generate().seed()).toString('hex'), key_id: 'gate-demo-1' },
  });
  const server = createGatedServer(gate);
  server.listen(Number(process.env.PORT ?? 8787), '127.0.0.1', () => {
    const { port } = server.address();
    console.log(JSON.stringify({ listening: `http://127.0.0.1:${port}`, gate_id: GATE_ID, demo_tokens: tokens }));
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
