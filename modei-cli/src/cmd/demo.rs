//! `modei demo`: the whole story on embedded defaults, no set-up, no network.
//!
//! An issuer, a gate and an agent get fresh keys; the gate publishes a catalog; the issuer
//! issues the agent a passport pinned to it; a scripted sequence of requests goes through the
//! gate at fixed instants; then the attestation log is verified, a tampered copy is caught, and
//! the agent's own receipts are verified against the gate's checkpoint. Every step states what
//! it expects; the command exits 0 only if every step behaved as expected (CI smoke test).

use crate::{io, CliError, Outcome};
use modei_core::attestation::{
    verify_jsonl, verify_records, Attestation, Attestor, Checkpoint, FileLog, FsyncPolicy,
    GateKeySet, LogVerifier,
};
use modei_core::catalog::{CatalogDraft, CatalogSet, Permission as CatPermission, RiskLevel};
use modei_core::constraints::Decision;
use modei_core::envelope::{Permission, Tier};
use modei_core::gate::{
    sign_pop, Approval, ApprovalDecision, Gate, GateConfig, GateDecision, GateRequest, Profile,
};
use modei_core::keys::SigningKey;
use modei_core::passport::JwtIssue;
use modei_core::time::Timestamp;
use modei_core::trust::{IssuerKind, TrustStore, TrustedIssuer, TrustedKey};
use serde_json::{json, Map, Value};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Keep the keys, trust store, catalog, passport and logs in this directory (created if
    /// missing) instead of a temporary directory that is removed afterwards.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Print one JSON object per step (JSON Lines) instead of the table.
    #[arg(long)]
    json: bool,
}

/// 2026-03-02T09:00:00Z, a Monday: the demo's fixed clock starts here.
const T0: i64 = 1_772_442_000_000;
const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const GATE_ID: &str = "gate_travel";
const PASSPORT_ID: &str = "pp_demo_0001";
const DAILY_CAP: i64 = 100_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(ms)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn fail(code: &str, e: impl std::fmt::Display) -> CliError {
    CliError::input(code, e.to_string())
}

/// Output: a table for people (colour on a terminal) or JSON lines.
struct Out {
    json: bool,
    colour: bool,
    all_ok: bool,
}

impl Out {
    fn paint(&self, s: &str, code: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }

    fn heading(&self, s: &str) {
        if !self.json {
            io::line("");
            io::line(&self.paint(s, "1").to_string());
        }
    }

    /// A set-up or verification step: `ok` says whether it behaved as expected.
    fn step(&mut self, step: &str, ok: bool, detail: &str, extra: Value) {
        self.all_ok &= ok;
        if self.json {
            let mut v = json!({"kind": "step", "step": step, "ok": ok, "detail": detail});
            if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
                m.extend(x);
            }
            io::print_json(&v);
        } else {
            let mark = if ok {
                self.paint("ok ", "32")
            } else {
                self.paint("FAIL", "31;1")
            };
            io::line(&format!("  {mark} {step:<28} {detail}"));
        }
    }
}

struct Scripted {
    /// Short label for the table.
    label: String,
    at_ms: i64,
    expect: Decision,
    expect_reason: Option<&'static str>,
}

struct Demo {
    dir: PathBuf,
    agent: SigningKey,
    gate: Gate,
    gate_pub: GateKeySet,
    passport: String,
    nonce: u64,
    /// Spend the gate has counted today (allowed + reserved by holds), mirrored by the demo
    /// and cross-checked against the gate's own `core:cost:max_cumulative` evaluations.
    spent: i64,
    /// What the agent keeps: every attestation it was handed, and the latest checkpoint.
    receipts: Vec<Value>,
    checkpoint: Option<Value>,
}

pub fn run(a: DemoArgs) -> Result<Outcome, CliError> {
    let (dir, temporary) = match a.dir {
        Some(d) => (d, false),
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            (
                std::env::temp_dir().join(format!("modei-demo-{}-{nanos}", std::process::id())),
                true,
            )
        }
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| fail("io_error", format!("{}: {e}", dir.display())))?;
    let mut out = Out {
        json: a.json,
        colour: !a.json
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none(),
        all_ok: true,
    };
    let result = play(&dir, &mut out);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result?;
    if out.json {
        io::print_json(&json!({"kind": "summary", "ok": out.all_ok}));
    } else {
        io::line("");
        if out.all_ok {
            io::line(
                &out.paint("demo: every step behaved as expected", "32;1")
                    .to_string(),
            );
        } else {
            io::line(
                &out.paint("demo: some steps did NOT behave as expected", "31;1")
                    .to_string(),
            );
        }
    }
    Ok(if out.all_ok {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}

fn write_json(path: &Path, v: &Value, private: bool) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    if private {
        io::write_private(path, text.as_bytes())
    } else {
        io::write_public(path, text.as_bytes())
    }
}

fn play(dir: &Path, out: &mut Out) -> Result<(), CliError> {
    out.heading(&format!("modei demo  (files in {})", dir.display()));

    // --- Parties and keys -------------------------------------------------------------------
    let issuer = SigningKey::generate()?;
    let gate_key = SigningKey::generate()?;
    let agent = SigningKey::generate()?;
    let operator = SigningKey::generate()?;
    for (name, k) in [
        ("issuer", &issuer),
        ("gate", &gate_key),
        ("agent", &agent),
        ("operator", &operator),
    ] {
        write_json(&dir.join(format!("{name}.jwk")), &k.to_jwk_private(), true)?;
    }
    out.step(
        "keys",
        true,
        "issuer acme-travel, gate gate_travel, agent, operator (Ed25519)",
        json!({"issuer_kid": "acme-2026", "gate_kid": "gate-2026"}),
    );

    let trust = TrustStore::new().with(
        TrustedIssuer::new("acme-travel", IssuerKind::Organization)
            .with_name("Acme Travel (agent platform)")
            .with_tier(Tier::L2)
            .with_key(TrustedKey::new("acme-2026", issuer.public_key())),
    )?;
    io::write_public(&dir.join("trust.json"), trust.to_json()?.as_bytes())?;

    // --- The gate publishes its catalog ---------------------------------------------------------
    let attestor = Attestor::new(GATE_ID, "gate-2026", gate_key.clone())?;
    let perm = |k: &str, name: &str, risk: RiskLevel, c: Value| CatPermission {
        permission_key: k.into(),
        display_name: name.into(),
        description: String::new(),
        risk_level: risk,
        min_trust_level: 1,
        constraints: obj(c),
    };
    let mut catalogs = CatalogSet::new(GATE_ID);
    catalogs.publish(
        CatalogDraft {
            gate_id: GATE_ID.into(),
            version: 1,
            min_compatible_version: 1,
            published_at: at(T0 - 86_400_000),
            effective_at: at(T0 - 86_400_000),
            change_summary: Some("first catalog".into()),
            permissions: vec![
                perm(
                    "flights:search",
                    "Search flights",
                    RiskLevel::Low,
                    json!({"core:rate:max_per_minute": 10}),
                ),
                perm(
                    "flights:book",
                    "Book a flight",
                    RiskLevel::High,
                    json!({"core:cost:max_per_action": 80_000, "core:pricing:per_call_cents": 5}),
                ),
            ],
        },
        &attestor,
    )?;
    let catalog = catalogs
        .current()
        .ok_or_else(|| fail("internal_error", "no catalog after publishing"))?
        .clone();
    io::write_public(&dir.join("catalog-v1.json"), &catalog.to_json())?;
    let mut gate_pub = GateKeySet::new();
    gate_pub.insert(GATE_ID, "gate-2026", gate_key.public_key());
    let cat_ok = modei_core::catalog::Catalog::verify_json(&catalog.to_json(), &gate_pub).is_ok();
    out.step(
        "catalog published",
        cat_ok,
        &format!(
            "{GATE_ID} v1, 2 permissions, sha256 {}…",
            &catalog.content_hash()[..16]
        ),
        json!({"content_hash": catalog.content_hash(), "version": 1}),
    );

    // --- The issuer issues the agent a passport pinned to it -----------------------------------
    let hours = json!({"start": "08:00", "end": "20:00", "timezone": "Europe/London",
                       "days": ["mon", "tue", "wed", "thu", "fri"]});
    let domains = json!(["api.airline.example", "*.airline.example"]);
    let mut iss = JwtIssue::new(
        PASSPORT_ID,
        "agent_travel_bot",
        agent.public_key(),
        at(T0 - 3_600_000),
        at(T0 + 30 * 86_400_000),
    );
    iss.agent_name = Some("Travel booking bot".into());
    iss.audience = vec![GATE_ID.into()];
    iss.catalog = Some(modei_core::jwt::CatalogPin {
        gate_id: Some(GATE_ID.into()),
        version: Some(1),
        content_hash: Some(format!("sha256:{}", catalog.content_hash())),
    });
    iss.permissions = vec![
        Permission::new(
            "flights:search",
            obj(json!({
                "core:time:operating_hours": hours,
                "core:scope:domain_allowlist": domains,
                "core:rate:max_per_minute": 3,
            })),
        ),
        Permission::new(
            "flights:book",
            obj(json!({
                "core:time:operating_hours": hours,
                "core:scope:domain_allowlist": domains,
                "core:cost:max_per_action": 50_000,
                "core:cost:max_cumulative": DAILY_CAP,
                "core:cost:cumulative_window": "day",
                "core:cost:approval_threshold": 30_000,
                "core:cel:rules": [{
                    "expr": "int(request.metadata.passengers) <= 4",
                    "on_false": "block",
                    "message": "group bookings (more than 4 passengers) go through the travel desk"
                }],
            })),
        ),
    ];
    let passport = iss.issue("acme-travel", "acme-2026", &issuer)?;
    io::write_public(&dir.join("passport.jwt"), passport.as_bytes())?;
    let verifier = modei_core::passport::Verifier::new(
        trust.clone(),
        modei_core::trust::Policy::new().allow_self_issued(false),
    );
    let verified = verifier.verify(passport.as_bytes(), at(T0));
    out.step(
        "passport issued",
        verified.is_ok(),
        &match &verified {
            Ok(p) => format!(
                "{} for {} by acme-travel, tier {}, {} bytes JWT, pinned to catalog v1",
                p.passport_id,
                p.agent_id,
                p.tier.as_str(),
                passport.len()
            ),
            Err(e) => format!("{}: {}", e.code(), e.detail()),
        },
        json!({"passport_id": PASSPORT_ID, "bytes": passport.len()}),
    );

    // --- The gate ------------------------------------------------------------------------------
    let log_path = dir.join("attestations.jsonl");
    let _ = std::fs::remove_file(&log_path);
    let log = FileLog::open(&log_path, FsyncPolicy::Never)?;
    let gate = Gate::new(
        GateConfig::new(GATE_ID, Profile::L2, trust)
            .with_policy(modei_core::trust::Policy::new().allow_self_issued(false))
            .with_signing_key(gate_key.clone(), "gate-2026")
            .with_catalogs(catalogs)
            .with_operator("op-alice", operator.public_key())
            .with_log(Box::new(log)),
    )?;
    out.step(
        "gate configured",
        true,
        "profile L2 (nonce + timestamp, PoP), catalog v1, operator op-alice, file log",
        json!({"gate_id": GATE_ID, "profile": "L2"}),
    );

    let mut demo = Demo {
        dir: dir.to_owned(),
        agent,
        gate,
        gate_pub,
        passport,
        nonce: 0,
        spent: 0,
        receipts: Vec::new(),
        checkpoint: None,
    };

    // --- The scripted requests -------------------------------------------------------------------
    out.heading("Requests through the gate (fixed clock, Monday 2026-03-02, Europe/London)");
    if !out.json {
        io::line(&format!(
            "  {:<3} {:<44} {:<16} {:<30} {:>8}  detail",
            "#", "request", "decision", "reason", "budget"
        ));
    }
    let search = "https://api.airline.example/v1/search?from=LHR&to=JFK";
    let book = "https://api.airline.example/v1/book";
    let s = |label: &str, at_ms, expect, reason| Scripted {
        label: label.into(),
        at_ms,
        expect,
        expect_reason: reason,
    };
    use Decision::{Allow, Block, RequestHold};
    let mut n = 0;
    // Three searches within the per-minute limit, then a fourth.
    for i in 0..4 {
        let expect = if i < 3 { Allow } else { Block };
        let reason = if i < 3 {
            None
        } else {
            Some("core:rate:max_per_minute")
        };
        n += 1;
        let sc = s("flights:search LHR→JFK", T0 + i * 10 * SEC, expect, reason);
        demo.request(out, n, &sc, "flights:search", search, 0, json!({}), None);
    }
    n += 1;
    demo.request(
        out,
        n,
        &s("flights:book 1 pax, $120.00", T0 + 2 * MIN, Allow, None),
        "flights:book",
        book,
        12_000,
        json!({"passengers": 1}),
        None,
    );
    n += 1;
    let held = demo.request(
        out,
        n,
        &s(
            "flights:book 2 pax, $450.00",
            T0 + 3 * MIN,
            RequestHold,
            Some("core:cost:approval_threshold"),
        ),
        "flights:book",
        book,
        45_000,
        json!({"passengers": 2}),
        None,
    );
    // The operator approves the held booking; the agent re-presents it with the approval.
    if let Some(d) = held {
        let approval = Approval::sign(
            d.hold_id.as_deref().unwrap_or(""),
            &d.request_digest,
            ApprovalDecision::Approved,
            "op-alice",
            T0 + 4 * MIN,
            &operator,
        );
        n += 1;
        demo.request(
            out,
            n,
            &s(
                "  ↳ same, with op-alice's approval",
                T0 + 4 * MIN,
                Allow,
                None,
            ),
            "flights:book",
            book,
            45_000,
            json!({"passengers": 2}),
            Some(approval),
        );
    } else {
        out.step("operator approval", false, "no hold to approve", json!({}));
    }
    n += 1;
    demo.request(
        out,
        n,
        &s(
            "flights:book on evil.example",
            T0 + 5 * MIN,
            Block,
            Some("core:scope:domain_allowlist"),
        ),
        "flights:book",
        "https://api.evil.example/v1/book",
        9_000,
        json!({"passengers": 1}),
        None,
    );
    n += 1;
    demo.request(
        out,
        n,
        &s(
            "flights:book first class, $600.00",
            T0 + 6 * MIN,
            Block,
            Some("core:cost:max_per_action"),
        ),
        "flights:book",
        book,
        60_000,
        json!({"passengers": 1}),
        None,
    );
    n += 1;
    demo.request(
        out,
        n,
        &s(
            "flights:book 3 pax, $480.00",
            T0 + 7 * MIN,
            Block,
            Some("core:cost:max_cumulative"),
        ),
        "flights:book",
        book,
        48_000,
        json!({"passengers": 3}),
        None,
    );
    n += 1;
    demo.request(
        out,
        n,
        &s(
            "flights:book 6 pax, $240.00",
            T0 + 8 * MIN,
            Block,
            Some("core:cel:rules"),
        ),
        "flights:book",
        book,
        24_000,
        json!({"passengers": 6}),
        None,
    );
    n += 1;
    demo.request(
        out,
        n,
        &s(
            "flights:search at 21:30",
            T0 + 12 * 60 * MIN + 30 * MIN,
            Block,
            Some("core:time:operating_hours"),
        ),
        "flights:search",
        search,
        0,
        json!({}),
        None,
    );

    demo.verify_logs(out)
}

impl Demo {
    /// Sends one request (L2: fresh nonce, timestamp, PoP) and checks the expectation.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &mut self,
        out: &mut Out,
        n: usize,
        sc: &Scripted,
        action: &str,
        target: &str,
        cost: i64,
        metadata: Value,
        approval: Option<Approval>,
    ) -> Option<GateDecision> {
        self.nonce += 1;
        let mut req = GateRequest::new(action)
            .passport(self.passport.clone())
            .target(target)
            .cost(cost)
            .metadata(metadata)
            .nonce(format!("demo-nonce-{:04}", self.nonce), sc.at_ms);
        req.approval = approval;
        let pop = sign_pop(&self.agent, GATE_ID, PASSPORT_ID, &req);
        let mut problems = Vec::new();
        match pop {
            Ok(p) => req.pop = Some(p),
            Err(e) => problems.push(format!("PoP: {}: {}", e.code(), e.detail())),
        }
        let approved = req.approval.is_some();
        let d = self.gate.check_at(&req, at(sc.at_ms));
        // Cross-check the gate's own count of today's spend with ours (before this request).
        if let Some(e) = d
            .evaluations
            .iter()
            .find(|e| &*e.key == "core:cost:max_cumulative")
        {
            if e.observed.as_i64() != Some(self.spent) {
                problems.push(format!(
                    "gate counted {} spent today, expected {}",
                    e.observed, self.spent
                ));
            }
        }
        if matches!(d.decision, Decision::Allow | Decision::RequestHold) && !approved {
            self.spent += cost; // an approval turns the reservation into spend: no change
        }
        if d.decision != sc.expect {
            problems.push(format!("expected {}", sc.expect.as_str()));
        }
        if d.reason.as_deref() != sc.expect_reason {
            problems.push(format!(
                "expected reason {}",
                sc.expect_reason.unwrap_or("none")
            ));
        }
        if approved && d.recorded_as.attestation().as_str() != "approved" {
            problems.push("not recorded as approved".into());
        }
        if d.attestation.is_none() {
            problems.push("no attestation".into());
        }
        if let Some(a) = &d.attestation {
            self.receipts.push(a.clone());
        }
        if d.checkpoint.is_some() {
            self.checkpoint = d.checkpoint.clone();
        }
        let ok = problems.is_empty();
        out.all_ok &= ok;
        let remaining = DAILY_CAP - self.spent;
        let shown_decision = if approved && d.decision == Decision::Allow {
            "allow (approved)".to_owned()
        } else {
            d.decision.as_str().to_owned()
        };
        let reason = d.reason.clone().unwrap_or_else(|| "-".into());
        let mut detail = d.detail.clone().unwrap_or_default();
        if let Some(h) = &d.hold_id {
            detail = format!("{detail} (hold {h})");
        }
        if !ok {
            detail = format!("{detail}  <-- {}", problems.join("; "));
        }
        if out.json {
            io::print_json(&json!({
                "kind": "request", "n": n, "at": at(sc.at_ms).to_rfc3339_seconds().unwrap_or_default(),
                "request": sc.label.trim_start_matches([' ', '↳']),
                "action": action, "target": target, "cost_cents": cost,
                "decision": d.decision.as_str(), "recorded_as": d.recorded_as.attestation().as_str(),
                "reason": d.reason, "detail": d.detail, "hold_id": d.hold_id,
                "remaining_budget_cents": remaining,
                "expected": {"decision": sc.expect.as_str(), "reason": sc.expect_reason},
                "ok": ok, "problems": problems,
            }));
        } else {
            let colour = match d.decision {
                Decision::Allow => "32",
                Decision::RequestHold => "33",
                Decision::Block => "31",
            };
            let dec = out.paint(&format!("{shown_decision:<16}"), colour);
            let mark = if ok { "" } else { " FAIL" };
            io::line(&format!(
                "  {n:<3} {:<44} {dec} {reason:<30} {:>8}  {detail}{mark}",
                truncate(&sc.label, 44),
                format!("${}.{:02}", remaining / 100, remaining % 100),
            ));
        }
        Some(d)
    }

    fn verify_logs(&mut self, out: &mut Out) -> Result<(), CliError> {
        out.heading("Attestations");
        let log_path = self.dir.join("attestations.jsonl");
        let bytes = std::fs::read(&log_path)
            .map_err(|e| fail("io_error", format!("{}: {e}", log_path.display())))?;
        let report = verify_jsonl(&mut &bytes[..], LogVerifier::new(&self.gate_pub));
        let expected_records = self.receipts.len() as u64;
        out.step(
            "operator verifies the log",
            report.is_ok() && report.records == expected_records,
            &format!(
                "{} records, {} chain(s), hash links and signatures intact",
                report.records, report.passports
            ),
            json!({"report": report.to_value()}),
        );

        // Tamper with one record in a copy: turn a block into an allow.
        let lines: Vec<&[u8]> = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let target_index = lines
            .iter()
            .position(|l| {
                let t = String::from_utf8_lossy(l);
                t.contains("\"decision\":\"block\"") && t.contains("core:cost:max_per_action")
            })
            .unwrap_or(0);
        let mut tampered = Vec::with_capacity(bytes.len());
        for (i, l) in lines.iter().enumerate() {
            if i == target_index {
                let t = String::from_utf8_lossy(l).replacen(
                    "\"decision\":\"block\"",
                    "\"decision\":\"allow\"",
                    1,
                );
                tampered.extend_from_slice(t.as_bytes());
            } else {
                tampered.extend_from_slice(l);
            }
            tampered.push(b'\n');
        }
        let copy = self.dir.join("attestations-tampered.jsonl");
        io::write_public(&copy, &tampered)?;
        let report = verify_jsonl(&mut &tampered[..], LogVerifier::new(&self.gate_pub));
        let (ok, detail, got) = match &report.first_error {
            Some((i, e)) => (
                *i == target_index as u64 && e.code().as_str() == "attestation_signature_invalid",
                format!(
                    "record {i} edited (block→allow): caught at index {i}: {}: {}",
                    e.code(),
                    e.detail()
                ),
                json!({"index": i, "code": e.code().as_str()}),
            ),
            None => (false, "the tampered copy verified!".into(), Value::Null),
        };
        out.step(
            "tampered copy detected",
            ok,
            &detail,
            json!({"tampered_index": target_index, "first_error": got}),
        );

        // The agent's side: its receipts against the gate's last checkpoint.
        let mut recs = Vec::new();
        let mut parse_ok = true;
        for r in &self.receipts {
            match Attestation::from_value(r.clone()) {
                Ok(a) => recs.push(a),
                Err(_) => parse_ok = false,
            }
        }
        let _ = io::write_public(
            &self.dir.join("agent-receipts.jsonl"),
            &recs.iter().fold(Vec::new(), |mut b, a| {
                a.append_json_line(&mut b);
                b
            }),
        );
        let cp = self
            .checkpoint
            .as_ref()
            .and_then(|v| Checkpoint::from_json(v.to_string().as_bytes()).ok());
        let (ok, detail) = match &cp {
            Some(cp) => {
                let _ = io::write_public(&self.dir.join("checkpoint.json"), &cp.to_json());
                let mut v = LogVerifier::new(&self.gate_pub);
                match v.checkpoint(cp) {
                    Err(e) => (false, format!("checkpoint: {}: {}", e.code(), e.detail())),
                    Ok(()) => {
                        let r = verify_records(recs.iter(), v);
                        match &r.first_error {
                            None => (
                                parse_ok,
                                format!(
                                    "{} receipts reach the signed checkpoint (sequence {})",
                                    r.records, cp.sequence
                                ),
                            ),
                            Some((i, e)) => {
                                (false, format!("index {i}: {}: {}", e.code(), e.detail()))
                            }
                        }
                    }
                }
            }
            None => (false, "no checkpoint received".into()),
        };
        out.step("agent verifies its receipts", ok, &detail, json!({}));

        // And the agent can prove a dropped record: its checkpoint against a truncated log.
        if let Some(cp) = &cp {
            let mut v = LogVerifier::new(&self.gate_pub);
            let _ = v.checkpoint(cp);
            let r = verify_records(recs.iter().take(recs.len().saturating_sub(1)), v);
            let (ok, detail) = match &r.first_error {
                Some((i, e)) => (
                    e.code().as_str() == "attestation_truncated",
                    format!("log missing its last record: index {i}: {}", e.code()),
                ),
                None => (
                    false,
                    "a truncated log verified against the checkpoint!".into(),
                ),
            };
            out.step("dropped record detected", ok, &detail, json!({}));
        }
        Ok(())
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}
