// Node benchmark: passport JWT verify (modei-core native addon) vs `jose` jwtVerify with an
// Ed25519 key and vs node:crypto on the same token; median of repetitions.
//
//   cd modei-node && npm run build:release      # the addon, release profile
//   cd bench && npm install && node bench.mjs   # jose is a bench-only dependency
//
// Every contender verifies the same token and checks the same claims it can (signature, exp,
// nbf, iss). modei does the whole passport verification: strict header rules, trust store
// lookup by (iss, kid) with key windows, policy, claim shapes, delegation rules, tier.
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import * as jose from 'jose';
import { measure, measureAsync, table } from './harness.mjs';

const m = createRequire(import.meta.url)('..');

export function fixture(m, passportId = 'pp_bench_0001') {
  const issuer = m.SigningKey.fromSeed(new Uint8Array(32).fill(0x11));
  const agent = m.SigningKey.fromSeed(new Uint8Array(32).fill(0xa1));
  const jwk = issuer.publicKey.toJwk();
  const store = m.TrustStore.fromJson({
    version: 1,
    issuers: [{ id: 'acme', type: 'organization', name: 'Acme', keys: [{ kid: 'acme-2026', jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x } }] }],
  });
  const now = Date.parse('2026-06-01T00:00:00Z');
  const token = m.issuePassport(issuer, 'acme', 'acme-2026', {
    agent_key: agent.publicKey.toBase64(),
    passport_id: passportId,
    agent_name: 'Email assistant',
    issued_at: now - 60_000,
    expires_at: now + 3_600_000,
    audience: ['gate:flights-prod'],
    permissions: [
      { permission_key: 'api:read', constraints: { max_per_action_cost: 100 } },
      { permission_key: 'email:send', constraints: { rate_limit_per_minute: 10, allowed_domains: ['example.com'] } },
    ],
  });
  return { issuer, agent, jwk, store, now, token };
}

async function main() {
  const f = fixture(m);
  const verifier = new m.Verifier({ trust_store: f.store, gate_id: 'gate:flights-prod' });
  const p = verifier.verify(f.token, { now: f.now });
  if (p.passport_id !== 'pp_bench_0001') throw new Error('fixture does not verify');

  const { x } = f.jwk;
  const keyObject = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  const cryptoKey = await jose.importJWK({ kty: 'OKP', crv: 'Ed25519', x }, 'Ed25519');
  const nowSec = Math.floor(f.now / 1000);
  const joseOpts = { issuer: 'acme', audience: 'gate:flights-prod', algorithms: ['Ed25519', 'EdDSA'], currentDate: new Date(f.now) };
  const r = await jose.jwtVerify(f.token, keyObject, joseOpts);
  if (r.payload.jti !== 'pp_bench_0001') throw new Error('jose does not verify the token');

  const [h, pl, s] = f.token.split('.');
  const signed = Buffer.from(`${h}.${pl}`);
  const sig = Buffer.from(s, 'base64url');
  if (!crypto.verify(null, signed, keyObject, sig)) throw new Error('node:crypto does not verify');
  const handRolled = (tok) => {
    const [hh, pp, ss] = tok.split('.');
    const header = JSON.parse(Buffer.from(hh, 'base64url'));
    if (header.alg !== 'Ed25519' && header.alg !== 'EdDSA') throw new Error('alg');
    if (!crypto.verify(null, Buffer.from(`${hh}.${pp}`), keyObject, Buffer.from(ss, 'base64url'))) throw new Error('sig');
    const c = JSON.parse(Buffer.from(pp, 'base64url'));
    if (c.iss !== 'acme' || c.exp <= nowSec || (c.nbf ?? 0) > nowSec + 30) throw new Error('claims');
    return c;
  };

  const rows = [];
  rows.push(measure('modei-core Verifier.verify (native, full passport verify)', () => verifier.verify(f.token, { now: f.now })));
  rows.push(await measureAsync('jose 6 jwtVerify (KeyObject)', () => jose.jwtVerify(f.token, keyObject, joseOpts)));
  rows.push(await measureAsync('jose 6 jwtVerify (CryptoKey)', () => jose.jwtVerify(f.token, cryptoKey, joseOpts)));
  rows.push(measure('node:crypto verify (signature only, same token)', () => crypto.verify(null, signed, keyObject, sig)));
  rows.push(measure('node:crypto hand-rolled JWT verify (split, JSON, sig, claims)', () => handRolled(f.token)));
  // Full gate check: verify + constraints + state + a signed, chained attestation.
  const gateConfig = (capacity) => ({
    gate_id: 'gate:flights-prod', profile: 'L1', checkpoints: false, cache_capacity: capacity,
    trust_store: f.store, signing_key: { seed_hex: '07'.repeat(32), key_id: 'gk1' },
  });
  const req = { passport: f.token, action: 'api:read', cost_cents: 10 };
  const warmGate = new m.Gate(gateConfig(4096));
  if (warmGate.check(req, f.now).decision !== 'allow') throw new Error('gate does not allow the fixture');
  rows.push(measure('modei-core Gate.check, warm (verified passport cached), attested', () => warmGate.check(req, f.now)));
  // Cold: a one-entry cache and two tokens taken in turn, so every check verifies afresh.
  const other = fixture(m, 'pp_bench_0002').token;
  const coldGate = new m.Gate(gateConfig(1));
  const reqs = [req, { ...req, passport: other }];
  let turn = 0;
  if (coldGate.check(reqs[1], f.now).decision !== 'allow') throw new Error('gate does not allow the second token');
  rows.push(measure('modei-core Gate.check, cold (verify every time), attested', () => coldGate.check(reqs[turn ^= 1], f.now)));
  console.log(`modei-core ${m.version()} on Node ${process.version}, ${f.token.length}-byte token, ${process.arch}`);
  console.log(table(rows, 'jose 6 jwtVerify (KeyObject)'));
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
