// The shared vector suite for the JavaScript bindings: the Node addon (modei-node), the WASM
// build under Node (pkg-node and pkg-web) and the WASM build in Chromium all run THIS file, so
// the three run the same cases with the same expectations.
//
// Expectations are read from the vector files (never from the library's own output), exactly
// as the Rust tests read them:
//   reference/jcs-vectors.json              RFC 8785 bytes and SHA-256, rejections
//   reference/wycheproof-ed25519_test.json  strict Ed25519 verdicts (151)
//   reference/modei-v2-vectors.json         reference verdicts (unflagged cases) and
//   reference-decisions.json                our verdicts for the flagged cases
//   keys.json, canonical.json, envelopes.json, jwt/*.json, attestation/, catalog/, receipt/,
//   gate/vectors.json
//
// Usage:  const results = await runSuite(m, load)
//   m     the binding's module (the same API in every binding)
//   load  async (path relative to testvectors/) => file text
// Each group gives { name, cases, failures: [strings] }. A group whose API is not in `m` yet is
// reported as skipped (with the missing names), never silently passed.
import * as LJ from './lossless-json.mjs';

const hex = (u8) => Array.from(u8, (b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (s) => new Uint8Array(s.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
const utf8 = (s) => new TextEncoder().encode(s);

async function sha256hex(bytes) {
  const c = globalThis.crypto ?? (await import('node:crypto')).webcrypto;
  return hex(new Uint8Array(await c.subtle.digest('SHA-256', bytes)));
}

/** Runs fn; returns { ok, value } or { ok:false, error } (error must be a ModeiError). */
function attempt(m, fn) {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (!(e instanceof m.ModeiError)) return { ok: false, error: e, foreign: true };
    return { ok: false, error: e };
  }
}

const describe = (r) => (r.ok ? 'ok' : `${r.foreign ? 'NON-MODEI ' : ''}${r.error?.code ?? ''} ${r.error?.message ?? r.error}`);

// ---------------------------------------------------------------------------------------------
// Groups. `needs` lists the exports a group calls; `run` returns the number of cases checked and
// pushes a message per failure.
// ---------------------------------------------------------------------------------------------

export const groups = [
  {
    name: 'reference/jcs-vectors',
    needs: ['canonicalize'],
    async run(m, load, fail) {
      const doc = JSON.parse(await load('reference/jcs-vectors.json'));
      if (doc.vectors.length !== doc.summary.cases_in_this_file) fail('case count differs from summary');
      for (const v of doc.vectors) {
        const r = attempt(m, () => m.canonicalize(v.input_json));
        if (v.rejects) {
          if (r.ok || r.foreign) fail(`${v.name}: expected a rejection, got ${r.ok ? JSON.stringify(r.value) : describe(r)}`);
          continue;
        }
        if (!r.ok) { fail(`${v.name}: ${describe(r)}`); continue; }
        const bytes = utf8(r.value);
        if (hex(bytes) !== v.canonical_hex) fail(`${v.name}: got ${JSON.stringify(r.value)} want ${JSON.stringify(v.canonical)}`);
        else if ((await sha256hex(bytes)) !== v.sha256) fail(`${v.name}: sha256 differs`);
      }
      return doc.vectors.length;
    },
  },
  {
    name: 'reference/wycheproof-ed25519',
    needs: ['verifySignature'],
    async run(m, load, fail) {
      const doc = JSON.parse(await load('reference/wycheproof-ed25519_test.json'));
      let n = 0;
      for (const g of doc.testGroups) {
        const pk = fromHex(g.publicKey.pk);
        for (const t of g.tests) {
          n++;
          const r = attempt(m, () => { m.verifySignature(pk, fromHex(t.msg), fromHex(t.sig)); return true; });
          if (r.foreign) { fail(`tc ${t.tcId}: ${describe(r)}`); continue; }
          const got = r.ok && r.value === true;
          if (got !== (t.result === 'valid')) fail(`tc ${t.tcId} (${t.comment}): got ${r.ok ? r.value : describe(r)} want ${t.result}`);
        }
      }
      if (n !== doc.numberOfTests) fail(`ran ${n} of ${doc.numberOfTests}`);
      return n;
    },
  },
  {
    name: 'reference/modei-v2-vectors',
    needs: ['verifyDetached'],
    async run(m, load, fail) {
      const text = await load('reference/modei-v2-vectors.json');
      const doc = LJ.parse(text);
      const decisions = JSON.parse(await load('reference-decisions.json'));
      const clock = decisions.clock;
      const cases = doc.cases;
      if (cases.length !== Number(doc.summary.cases_in_this_file)) fail('case count differs from summary');
      let matched = 0;
      let decided = 0;
      for (const c of cases) {
        const flagged = c.reference_quirk !== null || c.reference_exception !== null;
        const input = typeof c.envelope_text === 'string' ? c.envelope_text : LJ.stringify(c.envelope);
        const sig = typeof c.signature === 'string' ? c.signature : null;
        const r = attempt(m, () => m.verifyDetached(input, sig, { now: clock }));
        if (r.foreign) { fail(`${c.name}: ${describe(r)}`); continue; }
        let want;
        if (flagged) {
          decided++;
          want = decisions.cases[c.name];
          if (!want) { fail(`${c.name}: flagged case without a recorded decision`); continue; }
        } else {
          matched++;
          want = LJ.plain(c.expected);
        }
        const valid = r.ok;
        const code = r.ok ? null : r.error.code;
        const tier = r.ok ? r.value.tier : null;
        if (want.valid !== valid || (want.reason_code ?? null) !== code || (!flagged && (want.tier ?? null) !== tier)) {
          fail(`${c.name}: got valid=${valid} tier=${tier} code=${code} (${r.ok ? '' : r.error.detail}); want ${JSON.stringify({ valid: want.valid, tier: want.tier, reason_code: want.reason_code })}`);
        }
      }
      if (!(matched > 100 && decided > 20)) fail(`matched ${matched}, decided ${decided}`);
      return cases.length;
    },
  },
  {
    name: 'keys.json',
    needs: ['SigningKey', 'PublicKey'],
    async run(m, load, fail) {
      const doc = JSON.parse(await load('keys.json'));
      for (const k of doc.keys) {
        const id = k.seed_hex.slice(0, 8);
        const r = attempt(m, () => {
          const sk = m.SigningKey.fromSeed(fromHex(k.seed_hex));
          const pk = sk.publicKey;
          const info = pk.info();
          const same = (a) => hex(a.toBytes()) === k.public_key_hex;
          const abc = utf8('abc');
          const sig = sk.sign(abc);
          pk.verify(abc, k.signature_over_abc_base64);
          m.verifySignature(pk, abc, k.signature_over_abc_base64);
          return {
            hex: pk.toHex() === k.public_key_hex && info.hex === k.public_key_hex,
            b64: same(m.PublicKey.parse(k.public_key_base64)) && pk.toBase64() === k.public_key_base64,
            b64url: same(m.PublicKey.parse(k.public_key_base64url)) && pk.toBase64url() === k.public_key_base64url,
            spki: same(m.PublicKey.parse(k.spki_pem)) && same(m.PublicKey.fromPem(k.spki_pem)),
            jwk: same(m.PublicKey.fromJwk(k.jwk)) && same(m.PublicKey.importKey('jwk', JSON.stringify(k.jwk))),
            thumbprint: pk.thumbprint === k.jwk_thumbprint && info.thumbprint === k.jwk_thumbprint && k.jwk.kid === k.jwk_thumbprint,
            pkcs8: hex(m.SigningKey.fromPem(k.pkcs8_pem).publicKey.toBytes()) === k.public_key_hex,
            seedHex: m.SigningKey.fromSeedHex(k.seed_hex).toSeedHex() === k.seed_hex,
            agentId: pk.agentId === k.agent_id && info.agent_id === k.agent_id,
            selfIssuerId: pk.selfIssuerId === k.self_issuer_id,
            isValid: pk.isValid(abc, k.signature_over_abc_base64) === true && pk.isValid(utf8('abd'), k.signature_over_abc_base64) === false,
            sign: btoa(String.fromCharCode(...sig)) === k.signature_over_abc_base64,
          };
        });
        if (!r.ok) { fail(`${id}: ${describe(r)}`); continue; }
        for (const [what, ok] of Object.entries(r.value)) if (!ok) fail(`${id}: ${what} differs`);
      }
      return doc.keys.length;
    },
  },
  {
    name: 'canonical.json',
    needs: ['canonicalize', 'contentHash'],
    async run(m, load, fail) {
      const doc = JSON.parse(await load('canonical.json'));
      for (const c of doc.cases) {
        const r = attempt(m, () => m.canonicalize(c.input_json));
        if (!r.ok) { fail(`${c.name}: ${describe(r)}`); continue; }
        if (r.value !== c.canonical) fail(`${c.name}: got ${JSON.stringify(r.value)}`);
        if ((await sha256hex(utf8(r.value))) !== c.sha256) fail(`${c.name}: sha256 of the canonical form differs`);
        // contentHash reads strictly (signed-material rules): a duplicate key is refused there,
        // while canonicalize takes the last value (as the Rust test of this file does).
        const h = attempt(m, () => m.contentHash(c.input_json));
        if (h.ok ? h.value !== c.sha256 : h.error.code !== 'json_duplicate_key') fail(`${c.name}: contentHash ${describe(h)} ${h.value ?? ''}`);
      }
      for (const text of doc.rejects) {
        const r = attempt(m, () => m.canonicalize(text));
        if (r.ok || r.foreign) fail(`reject ${text}: ${describe(r)}`);
      }
      return doc.cases.length + doc.rejects.length;
    },
  },
  {
    name: 'envelopes.json',
    needs: ['verifyEnvelope'],
    async run(m, load, fail) {
      const doc = LJ.parse(await load('envelopes.json'));
      for (const c of doc.cases) {
        const r = attempt(m, () => m.verifyEnvelope(LJ.stringify(c.passport), { now: c.now }));
        if (r.foreign) { fail(`${c.name}: ${describe(r)}`); continue; }
        const want = LJ.plain(c.expected);
        if (r.ok !== want.valid || (r.ok ? null : r.error.code) !== (want.reason_code ?? null)) {
          fail(`${c.name}: got ${describe(r)} want ${JSON.stringify(want)}`);
        }
      }
      return doc.cases.length;
    },
  },
  {
    name: 'reference/modei-v2-vectors: keys, agent ids, credentials',
    needs: ['SigningKey', 'deriveIds', 'loadCredentials'],
    async run(m, load, fail) {
      const doc = JSON.parse(await load('reference/modei-v2-vectors.json'));
      let n = 0;
      for (const k of doc.keys) {
        n++;
        const pk = m.SigningKey.fromSeedHex(k.seed_hex).publicKey;
        const got = { public_key_b64: pk.toBase64(), public_key_hex: pk.toHex(), agent_id: pk.agentId, self_issuer_id: pk.selfIssuerId, realtime_fingerprint: pk.fingerprint };
        for (const f of Object.keys(got)) if (k[f] !== undefined && got[f] !== k[f]) fail(`key ${k.name}: ${f} ${got[f]} want ${k[f]}`);
      }
      for (const v of doc.agent_id_vectors) {
        n++;
        if (v.agent_id === null) {
          // The reference refuses the key text itself.
          const r = attempt(m, () => m.PublicKey.fromBase64(v.public_key_b64));
          if (r.ok || !(r.error instanceof m.ModeiKeyError)) fail(`agent id ${v.name}: ${describe(r)} want a ModeiKeyError`);
          continue;
        }
        const raw = Uint8Array.from(atob(v.public_key_b64), (c) => c.charCodeAt(0));
        const r = attempt(m, () => m.deriveIds(raw));
        if (!r.ok || r.value.agent_id !== v.agent_id) fail(`agent id ${v.name}: ${r.ok ? r.value.agent_id : describe(r)} want ${v.agent_id}`);
      }
      for (const v of doc.credentials_vectors) {
        n++;
        const r = attempt(m, () => m.loadCredentials(v.file_text));
        if (v.expected_load !== 'ok') {
          if (r.ok || r.error.code !== 'credentials_invalid') fail(`credentials ${v.name}: ${r.ok ? 'loaded' : describe(r)} want credentials_invalid`);
          continue;
        }
        if (!r.ok) { fail(`credentials ${v.name}: ${describe(r)}`); continue; }
        const file = JSON.parse(v.file_text);
        if (r.value.info.agent_id !== file.agent_id) fail(`credentials ${v.name}: agent_id ${r.value.info.agent_id}`);
        const plainShape = Object.keys(file).sort().join() === 'agent_id,created_at,private_key_base64,public_key_base64,version';
        if (plainShape && r.value.key.toCredentials(file.created_at) !== v.file_text) fail(`credentials ${v.name}: re-saved file differs`);
        if (v.seed_hex && hex(r.value.key.seed()) !== v.seed_hex) fail(`credentials ${v.name}: seed differs`);
      }
      return n;
    },
  },
  {
    name: 'attestation/',
    needs: ['verifyLog', 'verifyAttestation', 'verifyCheckpoint'],
    async run(m, load, fail) {
      const exp = JSON.parse(await load('attestation/expected.json'));
      const k = JSON.parse(await load('attestation/keys.json'));
      const gateKeys = [{ gate_id: k.gate_id, key_id: k.key_id, public_key: k.public_key }];
      let n = 0;
      for (const c of exp.cases) {
        n++;
        const text = await load(`attestation/${c.file}`);
        const cps = await Promise.all(c.checkpoints.map(async (f) => JSON.parse(await load(`attestation/${f}`))));
        const label = `${c.file}${c.checkpoints.length ? ` vs ${c.checkpoints.join(', ')}` : ''}`;
        // The same log as one text, as bytes, and as chunks cut every 7 bytes (inside records
        // and inside UTF-8 sequences): the report must not depend on how the log arrives.
        const bytes = utf8(text);
        const chunks = [];
        for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.slice(i, i + 7));
        const reports = [];
        for (const src of [text, bytes, chunks]) {
          const r = attempt(m, () => m.verifyLog(src, gateKeys, { checkpoints: cps }));
          if (!r.ok) { fail(`${label}: ${describe(r)}`); continue; }
          reports.push(r.value);
        }
        if (reports.length !== 3) continue;
        if (JSON.stringify(reports[0]) !== JSON.stringify(reports[1]) || JSON.stringify(reports[0]) !== JSON.stringify(reports[2])) fail(`${label}: report differs between text, bytes and chunks`);
        const fe = reports[0].first_error;
        const want = c.first_error;
        if (reports[0].ok !== (want === null)) fail(`${label}: ok=${reports[0].ok}`);
        if ((fe === null) !== (want === null) || (fe && (fe.code !== want.code || fe.index !== want.index))) {
          fail(`${label}: first_error ${JSON.stringify(fe)} want ${JSON.stringify(want)}`);
        }
      }
      // One record, and the checkpoints, verified on their own.
      const first = (await load('attestation/chain_valid.jsonl')).split('\n')[0];
      const rec = attempt(m, () => m.verifyAttestation(first, gateKeys));
      n++;
      if (!rec.ok || rec.value.sequence !== 1 || rec.value.passport_id !== 'pp_alpha') fail(`verifyAttestation: ${describe(rec)}`);
      const tampered = first.replace('"action":"', '"action":"x');
      const bad = attempt(m, () => m.verifyAttestation(tampered, gateKeys));
      n++;
      if (bad.ok || bad.error.code !== 'attestation_signature_invalid') fail(`verifyAttestation(tampered): ${describe(bad)}`);
      for (const f of ['checkpoint_pp_alpha.json', 'checkpoint_log.json']) {
        n++;
        const text = await load(`attestation/${f}`);
        const cp = attempt(m, () => m.verifyCheckpoint(text, gateKeys));
        if (!cp.ok) fail(`verifyCheckpoint ${f}: ${describe(cp)}`);
      }
      return n;
    },
  },
  {
    // The gate vectors (docs in the file's `about`): the same cases and expectations the Rust
    // and Python tests run.
    name: 'gate/vectors.json',
    needs: ['Gate'],
    async run(m, load, fail) {
      const doc = JSON.parse(await load('gate/vectors.json'));
      if (!doc.vectors.length) fail('no gate vectors');
      for (const v of doc.vectors) {
        const r = attempt(m, () => {
          const g = new m.Gate(v.config);
          for (const p of v.prior) (p.dry_run ? g.dryRun(p.request, p.now) : g.check(p.request, p.now));
          return v.dry_run ? g.dryRun(v.request, v.now) : g.check(v.request, v.now);
        });
        if (!r.ok) { fail(`${v.name}: ${describe(r)}`); continue; }
        const d = r.value;
        const e = v.expect;
        if ((d.dry_run === true) !== (v.dry_run === true)) fail(`${v.name}: dry_run ${d.dry_run}`);
        const evals = (d.evaluations ?? []).map((x) => ({ key: x.key, outcome: x.outcome }));
        // A decision without a reason may leave the field out; the vectors write null.
        if (d.decision !== e.decision || (d.reason ?? null) !== e.reason || JSON.stringify(evals) !== JSON.stringify(e.evaluations)) {
          fail(`${v.name}: got ${JSON.stringify({ decision: d.decision, reason: d.reason, evaluations: evals })} want ${JSON.stringify(e)}`);
        }
      }
      return doc.vectors.length;
    },
  },
  {
    // Not a vector file: the gate's documented behaviour (docs/api.md § Gate), the same checks as
    // modei-py/tests/test_gate.py, run identically by every JavaScript binding.
    name: 'behaviour: gate (allow/block/hold, approvals, anonymous, dry run, log)',
    needs: ['Gate', 'signApproval', 'selfIssuePassport', 'verifyLog'],
    async run(m, load, fail) {
      const NOW = '2026-06-01T12:00:00.000Z';
      const NOW_MS = Date.parse(NOW);
      const agent = m.SigningKey.fromSeed(new Uint8Array(32).fill(9));
      const operator = m.SigningKey.fromSeed(new Uint8Array(32).fill(3));
      const perms = [
        { permission_key: 'flights:book', constraints: { 'core:cost:max_per_action': 50000, 'core:cost:approval_threshold': 20000 } },
        { permission_key: 'docs:*', constraints: {} },
      ];
      const config = {
        gate_id: 'gate-1', profile: 'L1',
        signing_key: { seed_hex: '07'.repeat(32), key_id: 'gk1' },
        anonymous: { enabled: true, allowed_actions: ['docs:read'], rate_limit_per_minute: 2 },
        operators: [{ key_id: 'op1', public_key: operator.publicKey.toBase64() }],
      };
      const tok = m.selfIssuePassport(agent, { permissions: perms, issued_at: '2026-06-01T00:00:00Z', expires_at: '2026-06-02T00:00:00Z' });
      let n = 0;
      const expect = (what, cond, got) => { n++; if (!cond) fail(`${what}: got ${JSON.stringify(got)?.slice(0, 300)}`); };
      const g = new m.Gate(config);
      let d = g.check({ passport: tok, action: 'flights:book', cost_cents: 1000 }, NOW);
      expect('allow', d.decision === 'allow' && d.attestation?.sequence === 1 && d.hold_id === undefined && d.checkpoint, d);
      d = g.check({ passport: tok, action: 'flights:book', cost_cents: 90000 }, { now: NOW });
      expect('block over max_per_action', d.decision === 'block' && d.reason === 'core:cost:max_per_action' && d.detail.includes('50000') && d.evaluations.length > 0, d);
      const req = { passport: tok, action: 'flights:book', cost_cents: 30000 };
      const held = g.check(req, NOW);
      expect('hold over approval_threshold', held.decision === 'request_hold' && held.hold_id.startsWith('appr_'), held);
      d = g.check({ passport: tok, action: 'email:send' }, NOW);
      expect('block without permission', d.decision === 'block', d);
      d = g.check({ passport: 'not a passport', action: 'docs:read' }, NOW);
      expect('invalid passport is a block, not a throw', d.decision === 'block' && d.reason === 'jwt_malformed', d);
      d = g.check(JSON.stringify({ passport: tok, action: 'docs:read' }), NOW);
      expect('JSON text request', d.decision === 'allow' && d.permission === 'docs:*', d);
      const holds = g.pendingHolds();
      expect('pending hold', holds.length === 1 && holds[0].hold_id === held.hold_id && holds[0].reserved_cents === 30000, holds);
      const approval = m.signApproval(operator, { hold_id: held.hold_id, request_digest: held.request_digest, decision: 'approved', operator_key_id: 'op1', timestamp: NOW_MS - 1000 });
      d = g.check({ ...req, approval }, NOW);
      expect('approved hold', d.decision === 'allow' && d.recorded_as === 'approved' && g.pendingHolds().length === 0, d);
      const held2 = g.check(req, NOW);
      const denial = m.signApproval(operator, { hold_id: held2.hold_id, request_digest: held2.request_digest, decision: 'denied', operator_key_id: 'op1', timestamp: NOW_MS - 1000 });
      d = g.denyHold(denial, NOW);
      expect('denied hold', d.recorded_as === 'denied', d);
      const held3 = g.check(req, NOW);
      const forged = m.signApproval(agent, { hold_id: held3.hold_id, request_digest: held3.request_digest, decision: 'denied', operator_key_id: 'op1', timestamp: NOW_MS - 1000 });
      const r = attempt(m, () => g.denyHold(forged, NOW));
      expect('forged approval refused', !r.ok && r.error.code === 'approval_invalid', describe(r));
      const before = g.logLen;
      d = g.dryRun(req, NOW);
      expect('dry run changes nothing', d.decision === 'request_hold' && d.dry_run === true && g.logLen === before, d);
      const log = g.exportLog();
      const report = m.verifyLog(log, g.attestationKey);
      expect('the gate log verifies', report.ok === true && report.records === g.logLen && report.records > 5, report);
      const lines = log.split('\n').filter(Boolean);
      const cut = `${lines.slice(0, 3).join('\n')}\n${lines.slice(4).join('\n')}\n`;
      const broken = m.verifyLog(cut, [g.attestationKey]);
      expect('a dropped record is found', broken.ok === false && broken.first_error !== null, broken);
      const ds = [1, 2, 3].map(() => g.check({ action: 'docs:read', client_id: '10.0.0.1' }, NOW).decision);
      expect('anonymous, rate limited', ds.join() === 'allow,allow,block', ds);
      const anon = g.check({ action: 'docs:read', client_id: '10.0.0.9' }, NOW);
      expect('anonymous id and upgrade', anon.passport_id === 'anon:10.0.0.9' && anon.upgrade?.message, anon);
      expect('anonymous blocked action', g.check({ action: 'flights:book', client_id: '10.0.0.2' }, NOW).decision === 'block');
      const rl = new m.RevocationList(NOW);
      const g2 = new m.Gate(config, { revocation: rl });
      const tok2 = m.selfIssuePassport(agent, { passport_id: 'pp_rev_2', permissions: perms, issued_at: '2026-06-01T00:00:00Z', expires_at: '2026-06-02T00:00:00Z' });
      expect('live revocation: before', g2.check({ passport: tok2, action: 'docs:read' }, NOW).decision === 'allow');
      rl.revokePassport('pp_rev_2');
      d = g2.check({ passport: tok2, action: 'docs:read' }, NOW);
      expect('live revocation: after', d.reason === 'passport_revoked', d);
      const many = await g2.checkManyAsync([{ passport: tok, action: 'docs:read' }, { action: 'x', nonsense: 1 }], NOW);
      expect('checkManyAsync', many.length === 2 && many[0].decision === 'allow' && many[1].error?.code === 'request_invalid', many);
      const bad = attempt(m, () => new m.Gate({ gate_id: 'g', nonsense: 1 }));
      expect('bad config', !bad.ok && bad.error instanceof m.InvalidInputError, describe(bad));
      const badReq = attempt(m, () => g.check({ action: 'x', unknown_member: 1 }, NOW));
      expect('bad request', !badReq.ok && badReq.error.code === 'request_invalid', describe(badReq));
      return n;
    },
  },
  ...['passports', 'attacks', 'delegation', 'trust-store'].map((f) => ({
    name: `jwt/${f}.json`,
    needs: ['Verifier', 'TrustStore'],
    async run(m, load, fail) {
      const doc = JSON.parse(await load(`jwt/${f}.json`));
      const store = m.TrustStore.fromJson(JSON.stringify(doc.trust_store));
      for (const c of doc.cases) {
        const r = attempt(m, () => {
          const v = new m.Verifier({ ...verifierOptions(c.verifier), trust_store: store });
          return v.verify(c.token, { now: c.now_ms });
        });
        if (r.foreign) { fail(`${c.id}: ${describe(r)}`); continue; }
        if (c.expect.error !== undefined) {
          if (r.ok) fail(`${c.id}: expected ${c.expect.error}, verified ${r.value.passport_id}`);
          else if (r.error.code !== c.expect.error) fail(`${c.id}: got ${r.error.code} (${r.error.detail}) want ${c.expect.error}`);
          continue;
        }
        if (!r.ok) { fail(`${c.id}: expected success, got ${describe(r)}`); continue; }
        const o = c.expect.ok;
        const p = r.value;
        const got = {
          passport_id: p.passport_id, tier: p.tier, root_issuer: p.root_issuer?.id,
          lineage_len: p.lineage?.length, warnings: p.warnings?.length,
        };
        for (const k of Object.keys(o)) if (got[k] !== o[k]) fail(`${c.id}: ${k} got ${got[k]} want ${o[k]}`);
      }
      return doc.cases.length;
    },
  })),
];

/** A vector case's `verifier` object as Verifier options (the documented option names). */
export function verifierOptions(cfg) {
  const o = { allow_self_issued: cfg.allow_self_issued === true };
  for (const k of ['min_tier', 'allowed_issuers', 'gate_id', 'accept_eddsa', 'max_token_bytes', 'leeway_ms', 'revocation']) {
    if (cfg[k] !== undefined) o[k] = cfg[k];
  }
  if (cfg.freshness) {
    const { mode, max_age_ms: ms } = cfg.freshness;
    if (mode !== 'warn' && mode !== 'deny') throw new Error(`freshness mode ${mode}`);
    o.revocation_freshness = mode === 'warn' ? { warn_after_ms: ms } : { deny_after_ms: ms };
  }
  return o;
}

/** Runs every group. Returns [{ name, cases, failures, skipped }]. */
export async function runSuite(m, load, { only } = {}) {
  const out = [];
  for (const g of groups) {
    if (only && !only.includes(g.name)) continue;
    const missing = g.needs.filter((n) => !(n in m));
    if (missing.length) {
      out.push({ name: g.name, cases: 0, failures: [], skipped: `not in this build yet: ${missing.join(', ')}` });
      continue;
    }
    const failures = [];
    let cases = 0;
    try {
      cases = await g.run(m, load, (msg) => failures.push(msg));
    } catch (e) {
      failures.push(`threw: ${e && e.stack || e}`);
    }
    out.push({ name: g.name, cases, failures });
  }
  return out;
}

/** One line per group, and a last line `RESULT: PASS n/n` or `RESULT: FAIL ...`. */
export function formatResults(results) {
  const lines = [];
  let bad = 0;
  for (const r of results) {
    if (r.skipped) lines.push(`skip ${r.name}: ${r.skipped}`);
    else if (r.failures.length) {
      bad++;
      lines.push(`FAIL ${r.name}: ${r.failures.length} of ${r.cases}`);
      for (const f of r.failures.slice(0, 20)) lines.push(`     ${f}`);
    } else lines.push(`ok   ${r.name}: ${r.cases} cases`);
  }
  const ran = results.filter((r) => !r.skipped);
  lines.push(`VECTORS: ${bad ? 'FAIL' : 'PASS'} ${ran.length - bad}/${ran.length} groups, ${ran.reduce((s, r) => s + r.cases, 0)} cases`);
  return lines.join('\n');
}
