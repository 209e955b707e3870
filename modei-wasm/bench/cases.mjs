// The WASM benchmark cases, shared by the Node run (bench.mjs) and the Chromium page
// (bench.html): passport JWT verify and attestation-chain verify per record, for each
// implementation given (modei-wasm; in Node also the native addon), and jose in the same run.
import { measure, measureAsync } from '../../modei-node/bench/harness.mjs';

/** Builds the token and trust store with the library under test (any build: same bytes). */
export function fixture(m) {
  const issuer = m.SigningKey.fromSeed(new Uint8Array(32).fill(0x11));
  const agent = m.SigningKey.fromSeed(new Uint8Array(32).fill(0xa1));
  const jwk = issuer.publicKey.toJwk();
  const storeDoc = {
    version: 1,
    issuers: [{ id: 'acme', type: 'organization', name: 'Acme', keys: [{ kid: 'acme-2026', jwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x } }] }],
  };
  const now = Date.parse('2026-06-01T00:00:00Z');
  const token = m.issuePassport(issuer, 'acme', 'acme-2026', {
    agent_key: agent.publicKey.toBase64(),
    passport_id: 'pp_bench_0001',
    agent_name: 'Email assistant',
    issued_at: now - 60_000,
    expires_at: now + 3_600_000,
    audience: ['gate:flights-prod'],
    permissions: [
      { permission_key: 'api:read', constraints: { max_per_action_cost: 100 } },
      { permission_key: 'email:send', constraints: { rate_limit_per_minute: 10, allowed_domains: ['example.com'] } },
    ],
  });
  return { x: jwk.x, storeDoc, now, token };
}

/**
 * impls: [{ name, m }]; jose: the jose module; log: { text, records, gateKeys } or null
 * (attestation log to verify). Returns rows for harness.table.
 */
export async function runBench({ impls, jose, log, opts }) {
  const f = fixture(impls[0].m);
  const rows = [];
  for (const { name, m } of impls) {
    const v = new m.Verifier({ trust_store: m.TrustStore.fromJson(f.storeDoc), gate_id: 'gate:flights-prod' });
    if (v.verify(f.token, { now: f.now }).passport_id !== 'pp_bench_0001') throw new Error(`${name}: fixture does not verify`);
    rows.push(measure(`${name}: passport JWT verify`, () => v.verify(f.token, { now: f.now }), opts));
  }
  if (jose) {
    const key = await jose.importJWK({ kty: 'OKP', crv: 'Ed25519', x: f.x }, 'Ed25519');
    const jo = { issuer: 'acme', audience: 'gate:flights-prod', algorithms: ['Ed25519', 'EdDSA'], currentDate: new Date(f.now) };
    await jose.jwtVerify(f.token, key, jo);
    rows.push(await measureAsync('jose 6 jwtVerify (CryptoKey)', () => jose.jwtVerify(f.token, key, jo), opts));
  }
  if (log) {
    for (const { name, m } of impls) {
      const rep = m.verifyLog(log.text, log.gateKeys);
      if (rep.first_error) throw new Error(`${name}: log does not verify: ${JSON.stringify(rep.first_error)}`);
      const r = measure(`${name}: attestation log verify, per record`, () => m.verifyLog(log.text, log.gateKeys), opts);
      for (const k of ['median_us', 'min_us', 'max_us']) r[k] /= log.records;
      rows.push(r);
    }
  }
  return rows;
}
