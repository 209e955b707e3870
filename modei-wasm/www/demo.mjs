// The demo page: verify a passport (either form) against a trust store, show what it allows,
// and lay out an attestation log as a timeline with any break highlighted. No framework; the
// only dependency is the web build of modei-wasm.
import init, * as m from '../pkg-web/index.mjs';

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const vectors = (rel) => fetch(new URL(`../../testvectors/${rel}`, import.meta.url)).then((r) => {
  if (!r.ok) throw new Error(`${rel}: HTTP ${r.status}`);
  return r.text();
});

// ---- samples (from the repository's test vectors) -------------------------------------------

async function sample(name) {
  const jwt = JSON.parse(await vectors('jwt/passports.json'));
  const org = jwt.cases.find((c) => c.id === 'org_ok');
  const akeys = JSON.parse(await vectors('attestation/keys.json'));
  const pub = m.PublicKey.fromBase64url(akeys.public_key).toJwk();
  // The gate that signed the attestation log, as a `gate` issuer of the trust store.
  const gate = { id: akeys.gate_id, type: 'gate', name: 'Flights gate (prod)', keys: [{ kid: akeys.key_id, jwk: { kty: 'OKP', crv: 'Ed25519', x: pub.x } }] };
  const store = { ...jwt.trust_store, issuers: [...jwt.trust_store.issuers, gate] };
  const iso = (ms) => new Date(ms).toISOString();
  switch (name) {
    case 'jwt-tampered':
      return { passport: org.token, trust: store, log: await vectors('attestation/tampered_byte.jsonl'), now: iso(org.now_ms), self: false };
    case 'envelope': {
      const env = JSON.parse(await vectors('envelopes.json')).cases[0];
      return { passport: JSON.stringify(env.passport, null, 2), trust: { version: 1, issuers: [gate] }, log: '', now: env.now, self: true };
    }
    case 'expired':
      return { passport: org.token, trust: store, log: '', now: '', self: false };
    default:
      return { passport: org.token, trust: store, log: await vectors('attestation/chain_valid.jsonl'), now: iso(org.now_ms), self: false };
  }
}

async function loadSample(name) {
  const s = await sample(name);
  $('passport').value = s.passport;
  $('trust').value = JSON.stringify(s.trust, null, 2);
  $('log').value = s.log;
  $('now').value = s.now;
  $('selfok').checked = s.self;
}

// ---- verification ----------------------------------------------------------------------------

function verdictCard(ok, title, code, detail) {
  const el = $('verdict');
  el.className = `card verdict ${ok ? 'ok' : 'bad'}`;
  el.innerHTML = `<span class="mark">${ok ? '✔' : '✘'}</span><div><div><strong>${esc(title)}</strong>${code ? ` <code>${esc(code)}</code>` : ''}</div>${detail ? `<div class="detail">${esc(detail)}</div>` : ''}</div>`;
  el.dataset.verdict = ok ? 'verified' : (code || 'error');
}

function whoCard(p, verified) {
  const iss = p.issuer ?? {};
  const root = p.root_issuer ?? iss;
  const rows = [
    ['Agent', `${esc(p.agent_name ?? '')} <span class="chip">${esc(p.agent_id ?? '?')}</span>`],
    ['Issuer', `${esc(iss.id ?? '?')} <span class="chip">${esc(iss.type ?? '')}</span> <span class="chip">key ${esc(iss.key_id ?? '')}</span>`],
  ];
  if (root.id && root.id !== iss.id) rows.push(['Trust anchor', `${esc(root.id)} <span class="chip">${esc(root.type)}</span>`]);
  rows.push(['Tier', p.tier ? `<span class="tier">${esc(p.tier)}</span>` : '<span class="none">not established (unverified)</span>']);
  rows.push(['Valid', `${esc(p.issued_at ?? '?')} → ${esc(p.expires_at ?? '?')}`]);
  if (p.audience?.length) rows.push(['Audience', p.audience.map((a) => `<span class="chip">${esc(a)}</span>`).join('')]);
  if (p.lineage?.length) rows.push(['Delegated via', p.lineage.map((l) => `<span class="chip">${esc(l.agent_id)}</span>`).join(' → ')]);
  rows.push(['Can delegate', p.delegation_authority ? 'yes' : 'no']);
  rows.push(['Form', p.form === 'jwt' ? 'JWT' : 'v2 envelope']);
  $('who').innerHTML = `<h2>Who ${verified ? '' : '(unverified: shown as decoded)'}</h2><dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

const human = {
  max_per_action_cost: (v) => `at most ${v} per action`,
  rate_limit_per_minute: (v) => `${v} per minute`,
  rate_limit_per_hour: (v) => `${v} per hour`,
  allowed_domains: (v) => `domains: ${[].concat(v).join(', ')}`,
  allowed_paths: (v) => `paths: ${[].concat(v).join(', ')}`,
  allowed_models: (v) => `models: ${[].concat(v).join(', ')}`,
  requires_approval: (v) => (v ? 'needs human approval' : 'no approval needed'),
};

function permsCard(perms) {
  if (!perms) { $('perms').innerHTML = ''; return; }
  const body = perms.length
    ? perms.map((p) => {
      const cs = Object.entries(p.constraints ?? {});
      const chips = cs.length
        ? cs.map(([k, v]) => `<span class="chip" title="${esc(k)}">${esc(human[k] ? human[k](v) : `${k}: ${JSON.stringify(v)}`)}</span>`).join('')
        : '<span class="none">no constraints</span>';
      return `<tr><td><strong>${esc(p.permission_key)}</strong></td><td>${chips}</td></tr>`;
    }).join('')
    : '<tr><td colspan="2" class="none">no permissions</td></tr>';
  $('perms').innerHTML = `<h2>Allowed to</h2><table><tr><th>permission</th><th>constraints</th></tr>${body}</table>`;
}

function chainCard(logText, storeObj) {
  const el = $('chain');
  if (!logText.trim()) { el.innerHTML = ''; el.dataset.state = 'none'; return; }
  const lines = logText.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const records = lines.map((l, i) => {
    try { return { i, r: JSON.parse(l) }; } catch { return { i, r: null }; }
  });
  let report = null;
  let note = '';
  // The gate keys an auditor trusts: the trust store's `gate` issuers and their keys.
  const gateKeys = (storeObj?.issuers ?? []).filter((x) => x.type === 'gate')
    .flatMap((i) => i.keys.map((k) => ({ gate_id: i.id, key_id: k.kid, public_key: k.jwk ?? k.public_key })));
  try {
    report = m.verifyLog(logText, gateKeys);
  } catch (e) {
    note = `${e.code ?? ''} ${e.detail ?? e.message}`;
  }
  const fe = report?.first_error ?? null;
  const chains = new Map();
  for (const { i, r } of records) {
    const k = r?.passport_id ?? '(unreadable)';
    if (!chains.has(k)) chains.set(k, []);
    chains.get(k).push({ i, r });
  }
  const cols = [...chains.entries()].map(([pid, recs]) => `<div><h3>${esc(pid)}</h3><ol class="timeline">${recs.map(({ i, r }) => {
    const cls = fe && i === fe.index ? 'break' : fe && i > fe.index ? 'after' : '';
    const dec = r ? String(r.decision).toLowerCase() : '?';
    const err = fe && i === fe.index ? `<div class="errline">✘ ${esc(fe.code)}: ${esc(fe.detail ?? '')}</div>` : '';
    return `<li class="${cls}" data-index="${i}"><span class="seq">#${esc(r?.sequence ?? '?')}</span> <span class="dec ${esc(dec)}">${esc(dec)}</span> ${esc(r?.action ?? 'unreadable line')}<span class="when">${esc(r?.timestamp ?? '')}</span>${err}</li>`;
  }).join('')}</ol></div>`).join('');
  let summary;
  if (report) {
    summary = fe
      ? `<div class="summary errline">Chain broken at record ${fe.index} (line ${fe.index + 1}): ${esc(fe.code)}. Records after it are not trusted.</div>`
      : `<div class="summary" style="color:var(--ok);font-weight:600">✔ ${report.records} records, ${report.passports} chain(s): every link and signature verifies.</div>`;
  } else summary = `<div class="summary none">${esc(note)}</div>`;
  el.innerHTML = `<h2>Attestation chain</h2>${summary}<div class="chains">${cols}</div>`;
  el.dataset.state = report ? (fe ? 'broken' : 'ok') : 'unverified';
}

function run() {
  const passport = $('passport').value.trim();
  const trustText = $('trust').value;
  const now = $('now').value.trim() || undefined;
  let storeObj = null;
  let store;
  try {
    storeObj = JSON.parse(trustText);
    store = m.TrustStore.fromJson(trustText);
  } catch (e) {
    verdictCard(false, 'The trust store cannot be read', e.code ?? 'json_syntax', e.detail ?? e.message);
    $('who').innerHTML = ''; permsCard(null); chainCard($('log').value, null);
    return;
  }
  try {
    const v = new m.Verifier({ trust_store: store, allow_self_issued: $('selfok').checked });
    const p = v.verify(passport, { now });
    verdictCard(true, `Verified: ${p.form === 'jwt' ? 'JWT' : 'v2 envelope'} passport ${p.passport_id}`, null, `issued by ${p.root_issuer.id}, tier ${p.tier}${p.warnings.length ? `; warnings: ${p.warnings.map((w) => w.code).join(', ')}` : ''}`);
    whoCard(p, true);
    permsCard(p.permissions);
  } catch (e) {
    verdictCard(false, 'Not verified', e.code ?? 'error', e.detail ?? e.message);
    try {
      const u = m.inspectPassport(passport);
      const b = u.body;
      const env = u.form === 'jwt' ? null : b;
      whoCard(env ? {
        form: u.form, agent_id: env.identity?.agent_id, agent_name: env.identity?.agent_name,
        issuer: env.provenance?.issuer, issued_at: env.provenance?.issued_at, expires_at: env.provenance?.expires_at,
        delegation_authority: env.delegation_authority,
      } : {
        form: u.form, agent_id: b.sub, agent_name: b.name, issuer: { id: b.iss, key_id: u.header?.kid },
        issued_at: b.iat && new Date(b.iat * 1000).toISOString(), expires_at: b.exp && new Date(b.exp * 1000).toISOString(),
        audience: [].concat(b.aud ?? []), delegation_authority: !!b.del?.authority,
      }, false);
      permsCard(Array.isArray(b.permissions) ? b.permissions : null);
    } catch {
      $('who').innerHTML = '';
      permsCard(null);
    }
  }
  chainCard($('log').value, storeObj);
}

// ---- wiring ------------------------------------------------------------------------------------

for (const label of document.querySelectorAll('.drop')) {
  const ta = label.querySelector('textarea');
  label.addEventListener('dragover', (e) => { e.preventDefault(); label.classList.add('over'); });
  label.addEventListener('dragleave', () => label.classList.remove('over'));
  label.addEventListener('drop', async (e) => {
    e.preventDefault();
    label.classList.remove('over');
    const f = e.dataTransfer.files[0];
    ta.value = f ? await f.text() : e.dataTransfer.getData('text');
    run();
  });
}
$('go').addEventListener('click', run);
$('sample').addEventListener('change', async (e) => { await loadSample(e.target.value); run(); });

await init();
$('foot').textContent = `modei-wasm ${m.version()} · verification runs locally in WebAssembly`;
const first = new URLSearchParams(location.search).get('sample') ?? 'jwt';
$('sample').value = first;
await loadSample(first);
run();
document.body.dataset.ready = '1';
