// Example code checked by `tsc --noEmit` against index.d.ts (test/types.test.js). It is also a
// tour of the API; it is type-checked, not run.
import {
  canonicalize, contentHash, parseJson, SigningKey, PublicKey, verifySignature, TrustStore,
  RevocationList, Verifier, issuePassport, selfIssuePassport, delegatePassport, verifyEnvelope,
  verifyDetached, inspectPassport, ModeiError, PassportError, errorCodes, version,
  loadCredentials, deriveIds, Gate, signApproval, signPop, requestDigest, verifyLog, verifyLogAsync,
  verifyAttestation, verifyCheckpoint, verifyLogFile,
} from 'modei-core';
import type { Passport, BatchResult, PublicKeyInfo, ErrorFamily, VerifiedEnvelope, Decision, LogReport, Hold, GateKey } from 'modei-core';

const v: string = version();
const codes: { code: string; family: ErrorFamily; meaning: string }[] = errorCodes();
const c: string = canonicalize({ b: 1, a: [true, null] });
const h: string = contentHash('{"a":1}');
const parsed = parseJson('{"a":[1,2]}');

const key: SigningKey = SigningKey.generate();
const seeded = SigningKey.fromSeed(new Uint8Array(32));
const pk: PublicKey = key.publicKey;
const info: PublicKeyInfo = pk.info();
const sig: Uint8Array = key.sign('hello');
verifySignature(pk, 'hello', sig);
pk.verify(new Uint8Array([1]), 'aGVsbG8=');
const ok: boolean = pk.isValid('hello', sig);
const jwk = pk.toJwk();
const x: string = jwk.x;
const hex: string = pk.toHex();
const thumb: string = pk.thumbprint + pk.agentId + pk.selfIssuerId;
const again = PublicKey.fromJwk(jwk);
const any = PublicKey.from(hex);
const fromPem = SigningKey.fromPem(seeded.toPem());
const imported = SigningKey.importKey('seed_hex', seeded.toSeedHex());
const creds: string = key.toCredentials(new Date());
const loaded: SigningKey = loadCredentials(creds).key;
const createdAt: string = loadCredentials(creds).info.created_at;
const ids = deriveIds(pk.toBytes());
const agentId: string = ids.agent_id;

const store = TrustStore.fromJson({
  version: 1,
  issuers: [{ id: 'acme', type: 'organization', keys: [{ kid: 'k1', jwk }] }],
});
store.addIssuer({ id: 'globex', type: 'platform', keys: [{ kid: 'g1', public_key: hex }] });
const n: number = store.size;
const has: boolean = store.has('acme') && store.issuerIds.length === 2;
const rev = new RevocationList(Date.now());
rev.revokePassport('pp_1');
const revoked: boolean = rev.passportRevoked('pp_1');

const token: string = issuePassport(key, 'acme', 'k1', {
  agent_key: info.public_key,
  ttl_seconds: 3600,
  permissions: ['api:read', { permission_key: 'email:send', constraints: { rate_limit_per_minute: 10 } }],
  audience: 'gate:1',
});
const selfToken: string = selfIssuePassport(key, { ttl_seconds: 60 });
const child: string = delegatePassport(selfToken, key, SigningKey.generate().publicKey, { ttl_seconds: 30 });

const verifier = new Verifier({ trust_store: store, revocation: rev, allow_self_issued: true, gate_id: 'gate:1', revocation_freshness: 'L2' });
const verifier2 = new Verifier(store, { min_tier: 'L1' });
try {
  const p: Passport = verifier.verify(token, new Date());
  const tier: 'L0' | 'L0.5' | 'L1' | 'L2' | 'L3' = p.tier;
  const keys: string[] = p.permissions.map((g) => g.permission_key);
  const root: string = p.root_issuer.id;
  verifier2.verify(token, { now: Date.now() });
} catch (e) {
  if (e instanceof PassportError) {
    const code: string = e.code;
    const detail: string = e.detail;
  } else if (e instanceof ModeiError) {
    const fam = e.family;
  }
}
const batch: BatchResult<Passport>[] = verifier.verifyMany([token, child]);
for (const r of batch) {
  if (r.ok) console.log(r.passport.passport_id);
  else console.log(r.error.code);
}
async function later(): Promise<number> {
  const rs = await verifier.verifyManyAsync([token]);
  return rs.length;
}

const wire: string = selfIssuePassport(key, { form: 'envelope', ttl_seconds: 3600, permissions: ['api:read'], delegation_authority: true });
const sub: string = delegatePassport(wire, key, SigningKey.generate().publicKey, { permissions: ['api:read'] });
const ve: VerifiedEnvelope = verifyEnvelope(sub, { now: Date.now() });
const depth: number = ve.delegation_depth;
const w = JSON.parse(wire) as { envelope: object; signature: string };
const ve2 = verifyDetached(JSON.stringify(w.envelope), w.signature);
const ve3 = verifyEnvelope(w.envelope, w.signature, { leeway_ms: 0 });
const seen = inspectPassport(token);
const form: 'jwt' | 'v2_envelope' = seen.form;

const gate = new Gate({ gate_id: 'gate-1', profile: 'L1', trust_store: store, signing_key: { seed_hex: '07'.repeat(32), key_id: 'gk1' } });
const d: Decision = gate.check({ action: 'flights:book', passport: token, cost_cents: 1000 }, '2026-06-01T12:00:00Z');
if (d.decision === 'request_hold' && d.hold_id) {
  const approval = signApproval(key, { hold_id: d.hold_id, request_digest: d.request_digest, decision: 'approved', operator_key_id: 'op1' });
  gate.check({ action: 'flights:book', passport: token, approval });
}
const dry: Decision = gate.dryRun({ action: 'docs:read' });
const holds: Hold[] = gate.pendingHolds();
const gk: GateKey | null = gate.attestationKey;
const log: string | null = gate.exportLog();
const report: LogReport = verifyLog(log ?? '', gk ? [gk] : [], { checkpoints: [] });
const fromFile: LogReport = verifyLogFile('/var/log/gate.jsonl', gk ?? []);
async function audit(): Promise<boolean> {
  const r = await verifyLogAsync([new Uint8Array(0), '...'], gk ?? []);
  const ds = await gate.checkManyAsync([{ action: 'docs:read' }]);
  return r.ok && ds.length === 1;
}
const pop: string = signPop(key, 'gate-1', 'pp_1', { action: 'x', nonce: 'n1', timestamp: Date.now() });
const digest: string = requestDigest('gate-1', null, { action: 'x' });
const rec = verifyAttestation('{}', { gate_id: 'g', key_id: 'k', public_key: hex });
const cp = verifyCheckpoint('{}', []);

export { dry, holds, report, fromFile, audit, pop, digest, rec, cp };
export { v, codes, c, h, parsed, ok, x, thumb, again, any, fromPem, imported, loaded, createdAt, agentId, n, has, revoked, later, depth, ve2, ve3, form };
