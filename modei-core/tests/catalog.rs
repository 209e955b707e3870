//! Permission catalogs and consumption receipts.
//!
//! Vectors in `testvectors/catalog/` and `testvectors/receipt/` are produced by
//! [`generate_catalog`] / [`generate_receipt`] from fixed seeds and clocks. The tests check every
//! file as read from disk against its recorded expectations, and regenerate all files in memory
//! and require byte-identity. Rewrite with
//! `MODEI_REGENERATE=1 cargo test -p modei-core --test catalog`.

mod common;

use modei_core::attestation::{Attestor, GateKeySet};
use modei_core::catalog::*;
use modei_core::keys::{PublicKey, SigningKey};
use modei_core::receipt::*;
use modei_core::time::Timestamp;
use modei_core::Code;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

const GATE: &str = "gate:flights-prod";
const T0: i64 = 1_780_272_000_000; // 2026-06-01T00:00:00.000Z
const DAY: i64 = 86_400_000;

fn signer() -> Attestor {
    Attestor::with_thumbprint_key_id(GATE, SigningKey::from_seed(&[0x11; 32])).unwrap()
}
fn rogue() -> Attestor {
    Attestor::new(GATE, signer().key_id(), SigningKey::from_seed(&[0x22; 32])).unwrap()
}
fn agent_key() -> SigningKey {
    SigningKey::from_seed(&[0x33; 32])
}
fn gate_keys() -> GateKeySet {
    let s = signer();
    let mut k = GateKeySet::new();
    k.insert(GATE, s.key_id(), s.public_key());
    k
}
fn ts(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + ms)
}
fn pretty(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap();
    out.push(b'\n');
    out
}
fn perm(key: &str, risk: RiskLevel, trust: u8, c: Value) -> Permission {
    Permission {
        permission_key: key.into(),
        display_name: key.replace(':', " "),
        description: format!("{key} on the flights API"),
        risk_level: risk,
        min_trust_level: trust,
        constraints: c.as_object().cloned().unwrap_or_default(),
    }
}

fn draft_v1() -> CatalogDraft {
    CatalogDraft {
        gate_id: GATE.into(),
        version: 1,
        min_compatible_version: 1,
        published_at: ts(0),
        effective_at: ts(0),
        change_summary: Some("first catalog".into()),
        permissions: vec![
            perm(
                "flights:search",
                RiskLevel::Low,
                1,
                json!({
                "core:pricing:model": "per_call", "core:pricing:per_call_cents": 2,
                "core:pricing:currency": "USD", "core:pricing:free_tier_calls": 3,
                "core:platform_fee:basis_points": 200, "core:platform_fee:recipient": "gate_modei",
                "core:sla:uptime_basis_points": 9990, "core:sla:response_time_ms": 800,
                "core:rate:max_per_minute": 60}),
            ),
            perm(
                "flights:book",
                RiskLevel::High,
                2,
                json!({
                "core:pricing:per_call_cents": 4500, "core:platform_fee:basis_points": 250,
                "core:cost:approval_threshold": 100000, "core:approval:required": false,
                "core:scope:domain_allowlist": ["api.flights.example", "pay.example"]}),
            ),
            perm(
                "flights:stream",
                RiskLevel::Medium,
                1,
                json!({
                "core:pricing:model": "per_minute", "core:pricing:per_minute_cents": 30,
                "core:platform_fee:basis_points": 150}),
            ),
            perm("flights:status", RiskLevel::Low, 1, json!({})),
            perm(
                "flights:premium",
                RiskLevel::Medium,
                3,
                json!({
                "core:pricing:model": "subscription", "core:pricing:subscription_cents": 9900}),
            ),
        ],
    }
}

fn draft_v2() -> CatalogDraft {
    let mut d = draft_v1();
    d.version = 2;
    d.published_at = ts(DAY);
    d.effective_at = ts(2 * DAY);
    d.change_summary = Some("prices and limits revised".into());
    let set = |d: &mut CatalogDraft, key: &str, ck: &str, v: Value| {
        let p = d
            .permissions
            .iter_mut()
            .find(|p| p.permission_key == key)
            .unwrap();
        if v.is_null() {
            p.constraints.remove(ck);
        } else {
            p.constraints.insert(ck.into(), v);
        }
    };
    set(
        &mut d,
        "flights:search",
        "core:pricing:per_call_cents",
        json!(3),
    );
    set(
        &mut d,
        "flights:search",
        "core:sla:uptime_basis_points",
        json!(9950),
    );
    set(
        &mut d,
        "flights:search",
        "core:platform_fee:basis_points",
        json!(250),
    );
    set(
        &mut d,
        "flights:search",
        "core:rate:max_per_minute",
        json!(30),
    );
    set(
        &mut d,
        "flights:book",
        "core:scope:domain_allowlist",
        json!(["api.flights.example"]),
    );
    set(
        &mut d,
        "flights:book",
        "core:cost:approval_threshold",
        json!(200000),
    );
    set(
        &mut d,
        "flights:stream",
        "core:pricing:per_minute_cents",
        json!(25),
    );
    d.permissions
        .iter_mut()
        .find(|p| p.permission_key == "flights:stream")
        .unwrap()
        .description = "live fare stream".into();
    d.permissions
        .retain(|p| p.permission_key != "flights:status");
    d.permissions.push(perm(
        "flights:cancel",
        RiskLevel::High,
        2,
        json!({"core:pricing:per_call_cents": 100}),
    ));
    d
}

fn draft_v3() -> CatalogDraft {
    let mut d = draft_v2();
    d.version = 3;
    d.min_compatible_version = 2;
    d.published_at = ts(3 * DAY);
    d.effective_at = ts(3 * DAY);
    d.change_summary = Some("faster search; v1 retired".into());
    let p = d
        .permissions
        .iter_mut()
        .find(|p| p.permission_key == "flights:search")
        .unwrap();
    p.constraints
        .insert("core:sla:response_time_ms".into(), json!(500));
    d
}

fn published() -> (CatalogSet, Vec<Catalog>, Vec<CatalogDiff>) {
    let s = signer();
    let mut set = CatalogSet::new(GATE);
    let mut cats = Vec::new();
    let mut diffs = Vec::new();
    for d in [draft_v1(), draft_v2(), draft_v3()] {
        let (c, diff) = set.publish(d, &s).unwrap();
        cats.push(c.clone());
        diffs.push(diff);
    }
    (set, cats, diffs)
}

fn generate_catalog() -> BTreeMap<String, Vec<u8>> {
    let (set, cats, diffs) = published();
    let mut files = BTreeMap::new();
    for c in &cats {
        files.insert(format!("catalog_v{}.json", c.version()), c.to_json());
    }
    // Content edited, hash left alone.
    let mut v: Value = serde_json::from_slice(&cats[0].to_json()).unwrap();
    v["permissions"][1]["constraints"]["core:pricing:per_call_cents"] = json!(1);
    files.insert(
        "tampered_content.json".into(),
        modei_core::canonical::canonicalize(&v),
    );
    // Same content, hash recomputed, signed by another key under the gate's key id.
    files.insert(
        "bad_signature.json".into(),
        Catalog::publish(draft_v1(), &rogue()).unwrap().to_json(),
    );
    files.insert("diff_v1_v2.json".into(), pretty(&diffs[1].to_value()));
    files.insert("diff_v2_v3.json".into(), pretty(&diffs[2].to_value()));
    let h = |i: usize| cats[i].content_hash().to_owned();
    let pins = [
        (
            GATE,
            2,
            Some(h(1)),
            json!(2),
            "the pinned version and hash are held",
        ),
        (GATE, 3, None, json!(3), "version-only pin"),
        (
            GATE,
            2,
            Some(h(2)),
            json!("catalog_pin_unknown"),
            "hash of another version: never falls back",
        ),
        (
            GATE,
            4,
            None,
            json!("catalog_pin_unknown"),
            "a version the gate never published",
        ),
        (
            GATE,
            1,
            Some(h(0)),
            json!("catalog_pin_incompatible"),
            "below min_compatible_version 2 of v3",
        ),
        (
            "gate:other",
            2,
            Some(h(1)),
            json!("catalog_pin_unknown"),
            "another gate's pin",
        ),
    ];
    let pin_cases: Vec<Value> = pins
        .iter()
        .map(|(g, v, hash, want, why)| {
            // Record what the code says; the test re-checks it from the file.
            let got = match set.check_pin(g, *v, hash.as_deref()) {
                Ok(c) => json!(c.version()),
                Err(e) => json!(e.code().as_str()),
            };
            assert_eq!(&got, want, "{why}");
            json!({"gate_id": g, "version": v, "content_hash": hash, "expect": want, "proves": why})
        })
        .collect();
    files.insert(
        "expected.json".into(),
        pretty(&json!({
            "gate_id": GATE,
            "key_id": signer().key_id(),
            "public_key": signer().public_key().to_base64url(),
            "content_hashes": cats.iter().map(|c| (c.version().to_string(), json!(c.content_hash()))).collect::<Map<_, _>>(),
            "verify": [
                {"file": "catalog_v1.json", "expect": "ok"},
                {"file": "catalog_v2.json", "expect": "ok"},
                {"file": "catalog_v3.json", "expect": "ok"},
                {"file": "tampered_content.json", "expect": "catalog_hash_mismatch"},
                {"file": "bad_signature.json", "expect": "catalog_signature_invalid"},
            ],
            "pins": pin_cases,
        })),
    );
    files
}

fn payload(i: u64) -> String {
    modei_core::canonical::content_hash(&json!({"request": i}))
}

struct Call {
    key: &'static str,
    outcome: Outcome,
    quantity: u64,
    calls_before: u64,
    nonce: &'static str,
    at: i64,
}

fn issue(
    cat: &Catalog,
    c: &Call,
    agent: &SigningKey,
    gate: &Attestor,
    rid: Option<&str>,
) -> Receipt {
    let ph = payload(c.at as u64);
    let pop = AgentPop::sign(
        agent,
        GATE,
        "pp_alpha",
        c.key,
        ts(c.at - 50),
        c.nonce,
        cat.content_hash(),
        &ph,
    )
    .unwrap();
    let d = ReceiptDraft {
        passport_id: "pp_alpha",
        agent_id: "agent_a",
        permission_key: c.key,
        attestation_id: Some("att_0000000000000000000000000000000a"),
        outcome: c.outcome,
        quantity: c.quantity,
        calls_before: c.calls_before,
        request_payload_hash: &ph,
        response_payload_hash: None,
        issued_at: ts(c.at),
        receipt_id: rid,
    };
    let resp = payload(c.at as u64 + 1);
    let d = ReceiptDraft {
        response_payload_hash: Some(&resp),
        ..d
    };
    Receipt::issue(&d, cat, pop, gate, DEFAULT_POP_WINDOW_MS).unwrap()
}

fn calls() -> Vec<Call> {
    let c = |key, outcome, quantity, calls_before, nonce, at| Call {
        key,
        outcome,
        quantity,
        calls_before,
        nonce,
        at,
    };
    vec![
        c("flights:search", Outcome::Success, 1, 0, "n-01", 1_000),
        c("flights:search", Outcome::Success, 5, 1, "n-02", 2_000),
        c("flights:book", Outcome::Success, 1, 0, "n-03", 3_000),
        c(
            "flights:stream",
            Outcome::Success,
            billable_minutes(150_000),
            0,
            "n-04",
            4_000,
        ),
        c("flights:book", Outcome::Error, 1, 0, "n-05", 5_000),
        c("flights:search", Outcome::Timeout, 1, 6, "n-06", 6_000),
        c("flights:search", Outcome::Partial, 2, 10, "n-07", 7_000),
        c("flights:premium", Outcome::Success, 1, 0, "n-08", 8_000),
    ]
}

fn generate_receipt() -> BTreeMap<String, Vec<u8>> {
    let (_, cats, _) = published();
    let v1 = &cats[0];
    let gate = signer();
    let agent = agent_key();
    let mut files = BTreeMap::new();
    let mut valid = Vec::new();
    for c in calls() {
        valid.push(issue(v1, &c, &agent, &gate, None).to_json().unwrap());
    }
    let mut lines = valid.clone();
    // Invalid ones, each excluded and counted by settlement.
    let mut t: Value = serde_json::from_slice(&valid[1]).unwrap();
    t["cost_cents"] = json!(5);
    lines.push(modei_core::canonical::canonicalize(&t)); // 8: edited after signing
    let replay = Call {
        key: "flights:search",
        outcome: Outcome::Success,
        quantity: 1,
        calls_before: 3,
        nonce: "n-02",
        at: 9_000,
    };
    lines.push(
        issue(v1, &replay, &agent, &gate, Some("rcpt_replayed_nonce"))
            .to_json()
            .unwrap(),
    ); // 9: replayed nonce
    let other_agent = SigningKey::from_seed(&[0x44; 32]);
    let c10 = Call {
        key: "flights:search",
        outcome: Outcome::Success,
        quantity: 1,
        calls_before: 3,
        nonce: "n-10",
        at: 10_000,
    };
    lines.push(
        issue(v1, &c10, &other_agent, &gate, None)
            .to_json()
            .unwrap(),
    ); // 10: PoP not by the passport's key
    let c11 = Call {
        key: "flights:book",
        outcome: Outcome::Success,
        quantity: 1,
        calls_before: 0,
        nonce: "n-11",
        at: 11_000,
    };
    let mut r = issue(v1, &c11, &agent, &gate, None);
    r.charge.cost_cents = 4000;
    r.charge.platform_fee_cents = 100;
    let r = Receipt {
        signature: modei_core::keys::Signature::from([0; 64]),
        ..r
    };
    let mut rv: Value = serde_json::from_slice(&r.to_json().unwrap()).unwrap();
    rv.as_object_mut().unwrap().remove("signature");
    let sig = SigningKey::from_seed(&[0x11; 32])
        .sign(&modei_core::canonical::canonicalize(&rv))
        .to_base64url();
    rv["signature"] = json!(sig);
    lines.push(modei_core::canonical::canonicalize(&rv)); // 11: gate-signed but cost does not recompute
    let c12 = Call {
        key: "flights:search",
        outcome: Outcome::Success,
        quantity: 1,
        calls_before: 3,
        nonce: "n-12",
        at: 2 * DAY,
    };
    lines.push(issue(v1, &c12, &agent, &gate, None).to_json().unwrap()); // 12: outside the period
    lines.push(b"{\"not\":\"a receipt\"}".to_vec()); // 13: unparsable
    let mut jl = Vec::new();
    for l in &lines {
        jl.extend_from_slice(l);
        jl.push(b'\n');
    }
    files.insert("receipts.jsonl".into(), jl);
    let summary = settle(&lines);
    let fee_edges: Vec<Value> = FEE_EDGES
        .iter()
        .map(|(c, bp, _)| json!({"cost_cents": c, "basis_points": bp, "fee_cents": platform_fee_cents(*c, *bp).unwrap()}))
        .collect();
    files.insert(
        "expected.json".into(),
        pretty(&json!({
            "agent_public_key": agent.public_key().to_base64url(),
            "catalog": "../catalog/catalog_v1.json",
            "period": [ts(0).to_rfc3339_millis().unwrap(), ts(DAY).to_rfc3339_millis().unwrap()],
            "charges": lines.iter().take(8).map(|l| {
                let r = Receipt::from_json(l).unwrap();
                json!({"receipt_id": r.receipt_id, "permission_key": r.permission_key, "outcome": r.outcome.as_str(),
                       "quantity": r.quantity, "free_units": r.charge.free_units, "cost_cents": r.charge.cost_cents,
                       "platform_fee_cents": r.charge.platform_fee_cents})
            }).collect::<Vec<_>>(),
            "individually_invalid": {"8": "receipt_invalid", "10": "receipt_invalid", "11": "receipt_invalid", "13": "receipt_invalid"},
            "replayed_nonce": [9],
            "out_of_period": [12],
            "settlement": summary.to_value().unwrap(),
            "fee_edges": fee_edges,
        })),
    );
    files
}

/// (cost, basis points, fee) worked out by hand: ceil(cost × bp / 10000).
const FEE_EDGES: &[(u64, u64, u64)] = &[
    (0, 200, 0),
    (1, 1, 1),
    (1, 0, 0),
    (6, 200, 1),
    (50, 200, 1),
    (51, 200, 2),
    (9_999, 1, 1),
    (10_000, 1, 1),
    (10_001, 1, 2),
    (4_500, 250, 113),
    (90, 150, 2),
    (100, 10_000, 100),
    (9_007_199_254_740_991, 1, 900_719_925_475),
    (9_007_199_254_740_991, 10_000, 9_007_199_254_740_991),
    (u64::MAX, 10_000, u64::MAX),
];

fn settle(lines: &[Vec<u8>]) -> SettlementSummary {
    let (set, _, _) = published();
    let gk = gate_keys();
    let agent = agent_key().public_key();
    let mut s = Settlement::new(GATE, ts(0), ts(DAY), &set, &gk, |p: &str| {
        (p == "pp_alpha").then(|| agent.clone())
    });
    for l in lines {
        s.add_json(l);
    }
    s.finish()
}

fn check_dir(dir: &str, files: &BTreeMap<String, Vec<u8>>) {
    let dir = common::testvectors_dir().join(dir);
    if std::env::var_os("MODEI_REGENERATE").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    for (name, bytes) in files {
        let disk = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            disk == *bytes,
            "{name} differs from what the code generates"
        );
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            name == "README.md" || files.contains_key(&name),
            "stray vector file {name}"
        );
    }
}

#[test]
fn catalog_vectors() {
    check_dir("catalog", &generate_catalog());
    let dir = common::testvectors_dir().join("catalog");
    let exp = common::load("catalog/expected.json");
    let mut keys = GateKeySet::new();
    keys.insert(
        GATE,
        exp["key_id"].as_str().unwrap(),
        PublicKey::from_base64url(exp["public_key"].as_str().unwrap()).unwrap(),
    );
    let mut set = CatalogSet::new(GATE);
    for case in exp["verify"].as_array().unwrap() {
        let f = case["file"].as_str().unwrap();
        let got = match Catalog::verify_json(&std::fs::read(dir.join(f)).unwrap(), &keys) {
            Ok(c) => {
                assert_eq!(
                    c.content_hash(),
                    exp["content_hashes"][c.version().to_string()]
                        .as_str()
                        .unwrap()
                );
                set.insert(c).unwrap();
                "ok".to_owned()
            }
            Err(e) => e.code().as_str().to_owned(),
        };
        assert_eq!(got, case["expect"].as_str().unwrap(), "{f}");
    }
    for case in exp["pins"].as_array().unwrap() {
        let got = match set.check_pin(
            case["gate_id"].as_str().unwrap(),
            case["version"].as_u64().unwrap(),
            case["content_hash"].as_str(),
        ) {
            Ok(c) => json!(c.version()),
            Err(e) => json!(e.code().as_str()),
        };
        assert_eq!(got, case["expect"], "{}", case["proves"]);
    }
    // Diffs recomputed from the files read back equal the recorded diffs.
    let diff12 = diff(set.get(1).unwrap(), set.get(2).unwrap());
    assert_eq!(diff12.to_value(), common::load("catalog/diff_v1_v2.json"));
    assert_eq!(
        diff(set.get(2).unwrap(), set.get(3).unwrap()).to_value(),
        common::load("catalog/diff_v2_v3.json")
    );
}

#[test]
fn diff_classification() {
    let (_, cats, diffs) = published();
    let d = &diffs[1];
    let find = |kind: &str, key: &str| {
        d.changes
            .iter()
            .find(|c| c.kind == kind && c.permission_key.as_deref() == Some(key))
            .unwrap_or_else(|| panic!("{kind} {key}: {:#?}", d.changes))
            .breaking
    };
    assert!(find("price_increase", "flights:search"));
    assert!(find("sla_downgrade", "flights:search"));
    assert!(find("platform_fee_increase", "flights:search"));
    assert!(find("constraint_tightened", "flights:search"));
    assert!(find("constraint_tightened", "flights:book"));
    assert!(!find("constraint_loosened", "flights:book"));
    assert!(!find("price_decrease", "flights:stream"));
    assert!(!find("metadata_changed", "flights:stream"));
    assert!(find("permission_removed", "flights:status"));
    assert!(!find("permission_added", "flights:cancel"));
    assert!(d.has_breaking_changes());
    assert!(diffs[2]
        .changes
        .iter()
        .any(|c| c.kind == "min_compatible_version_raised" && c.breaking));
    assert!(diffs[2]
        .changes
        .iter()
        .any(|c| c.kind == "sla_upgrade" && !c.breaking));
    assert!(diffs[0].changes.is_empty());
    assert!(diff(&cats[0], &cats[0]).changes.is_empty());
}

#[test]
fn publishing_rules() {
    let s = signer();
    let mut set = CatalogSet::new(GATE);
    set.publish(draft_v1(), &s).unwrap();
    assert_eq!(
        set.publish(draft_v1(), &s).unwrap_err().code(),
        Code::CatalogVersionInvalid
    );
    let mut d = draft_v2();
    d.published_at = ts(-1);
    assert_eq!(
        set.publish(d, &s).unwrap_err().code(),
        Code::CatalogVersionInvalid
    );
    let mut d = draft_v2();
    d.min_compatible_version = 3;
    assert_eq!(
        Catalog::publish(d, &s).unwrap_err().code(),
        Code::CatalogVersionInvalid
    );
    let bad = |f: &dyn Fn(&mut CatalogDraft)| {
        let mut d = draft_v1();
        f(&mut d);
        Catalog::publish(d, &s).unwrap_err().code()
    };
    assert_eq!(
        bad(&|d| d.permissions.push(d.permissions[0].clone())),
        Code::CatalogMalformed
    );
    assert_eq!(
        bad(&|d| d.permissions[0].min_trust_level = 4),
        Code::CatalogMalformed
    );
    assert_eq!(
        bad(&|d| {
            d.permissions[0]
                .constraints
                .insert("core:sla:uptime_basis_points".into(), json!(99990));
        }),
        Code::CatalogMalformed
    );
    assert_eq!(
        bad(&|d| {
            d.permissions[0]
                .constraints
                .insert("core:pricing:per_call_cents".into(), json!(-1));
        }),
        Code::CatalogMalformed
    );
    assert_eq!(
        bad(&|d| {
            d.permissions[0]
                .constraints
                .insert("core:pricing:model".into(), json!("usage"));
        }),
        Code::CatalogMalformed
    );
    assert_eq!(bad(&|d| d.effective_at = ts(-5)), Code::CatalogMalformed);
    let other = Attestor::new("gate:other", "k", SigningKey::from_seed(&[9; 32])).unwrap();
    assert_eq!(
        Catalog::publish(draft_v1(), &other).unwrap_err().code(),
        Code::InvalidArgument
    );
    // Published catalogs are immutable: a set refuses a different catalog under a held version.
    let other_v1 = Catalog::publish(
        CatalogDraft {
            change_summary: None,
            ..draft_v1()
        },
        &s,
    )
    .unwrap();
    assert_eq!(
        set.insert(other_v1).unwrap_err().code(),
        Code::CatalogVersionInvalid
    );
    // Round trip.
    let c = set.get(1).unwrap();
    assert_eq!(&Catalog::from_json(&c.to_json()).unwrap(), c);
    // current_at respects effective_at.
    set.publish(draft_v2(), &s).unwrap();
    assert_eq!(set.current().unwrap().version(), 2);
    assert_eq!(set.current_at(ts(DAY + 1)).unwrap().version(), 1);
}

#[test]
fn receipt_vectors_and_settlement() {
    check_dir("receipt", &generate_receipt());
    let exp = common::load("receipt/expected.json");
    let text = std::fs::read(common::testvectors_dir().join("receipt/receipts.jsonl")).unwrap();
    let lines: Vec<Vec<u8>> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(lines.len(), 14);
    let cat = Catalog::verify_json(
        &std::fs::read(common::testvectors_dir().join("catalog/catalog_v1.json")).unwrap(),
        &gate_keys(),
    )
    .unwrap();
    let agent = PublicKey::from_base64url(exp["agent_public_key"].as_str().unwrap()).unwrap();
    for (i, c) in exp["charges"].as_array().unwrap().iter().enumerate() {
        let r = Receipt::from_json(&lines[i]).unwrap();
        r.verify(&gate_keys(), &agent, &cat, DEFAULT_POP_WINDOW_MS)
            .unwrap();
        assert_eq!(
            r.charge.cost_cents,
            c["cost_cents"].as_u64().unwrap(),
            "receipt {i}"
        );
        assert_eq!(
            r.charge.platform_fee_cents,
            c["platform_fee_cents"].as_u64().unwrap(),
            "receipt {i}"
        );
        assert_eq!(
            r.charge.free_units,
            c["free_units"].as_u64().unwrap(),
            "receipt {i}"
        );
        assert_eq!(Receipt::from_json(&r.to_json().unwrap()).unwrap(), r);
    }
    for (i, code) in exp["individually_invalid"].as_object().unwrap() {
        let i: usize = i.parse().unwrap();
        let e = Receipt::from_json(&lines[i])
            .and_then(|r| r.verify(&gate_keys(), &agent, &cat, DEFAULT_POP_WINDOW_MS));
        assert_eq!(
            e.unwrap_err().code().as_str(),
            code.as_str().unwrap(),
            "receipt {i}"
        );
    }
    // A replayed nonce and an out-of-period receipt verify on their own; settlement catches them.
    for i in [9usize, 12] {
        let r = Receipt::from_json(&lines[i]).unwrap();
        r.verify(&gate_keys(), &agent, &cat, DEFAULT_POP_WINDOW_MS)
            .unwrap();
    }
    assert_eq!(settle(&lines).to_value().unwrap(), exp["settlement"]);
    let s = &exp["settlement"];
    assert_eq!(s["invalid"], 5);
    assert_eq!(s["out_of_period"], 1);
    assert_eq!(s["totals"]["USD"]["receipts"], 8);
    // By hand: 0 + 6 + 4500 + 90 + 0 + 0 + 4 + 0 cents; fees 0 + 1 + 113 + 2 + 0 + 0 + 1 + 0.
    assert_eq!(s["totals"]["USD"]["cost_cents"], 4600);
    assert_eq!(s["totals"]["USD"]["platform_fee_cents"], 117);
}

#[test]
fn fee_rounding_edges() {
    for (c, bp, fee) in FEE_EDGES {
        assert_eq!(platform_fee_cents(*c, *bp).unwrap(), *fee, "{c} × {bp}");
    }
    let exp = common::load("receipt/expected.json");
    for e in exp["fee_edges"].as_array().unwrap() {
        let got = platform_fee_cents(
            e["cost_cents"].as_u64().unwrap(),
            e["basis_points"].as_u64().unwrap(),
        )
        .unwrap();
        assert_eq!(got, e["fee_cents"].as_u64().unwrap());
    }
    assert_eq!(
        platform_fee_cents(1, 10_001).unwrap_err().code(),
        Code::InvalidArgument
    );
    assert_eq!(billable_minutes(0), 0);
    assert_eq!(billable_minutes(1), 1);
    assert_eq!(billable_minutes(60_000), 1);
    assert_eq!(billable_minutes(60_001), 2);
}

#[test]
fn pop_is_bound_to_its_call() {
    let (_, cats, _) = published();
    let v1 = &cats[0];
    let agent = agent_key();
    let ph = payload(1);
    let good = AgentPop::sign(
        &agent,
        GATE,
        "pp_alpha",
        "flights:search",
        ts(0),
        "n",
        v1.content_hash(),
        &ph,
    )
    .unwrap();
    good.verify().unwrap();
    let d = ReceiptDraft {
        passport_id: "pp_alpha",
        agent_id: "a",
        permission_key: "flights:search",
        attestation_id: None,
        outcome: Outcome::Success,
        quantity: 1,
        calls_before: 3,
        request_payload_hash: &ph,
        response_payload_hash: None,
        issued_at: ts(1_000),
        receipt_id: None,
    };
    Receipt::issue(&d, v1, good.clone(), &signer(), DEFAULT_POP_WINDOW_MS).unwrap();
    let wrong_payload = ReceiptDraft {
        request_payload_hash: &payload(2),
        ..d
    };
    assert_eq!(
        Receipt::issue(
            &wrong_payload,
            v1,
            good.clone(),
            &signer(),
            DEFAULT_POP_WINDOW_MS
        )
        .unwrap_err()
        .code(),
        Code::ReceiptInvalid
    );
    let late = ReceiptDraft {
        issued_at: ts(400_000),
        ..d
    };
    assert_eq!(
        Receipt::issue(&late, v1, good.clone(), &signer(), DEFAULT_POP_WINDOW_MS)
            .unwrap_err()
            .code(),
        Code::ReceiptInvalid
    );
    let other_perm = ReceiptDraft {
        permission_key: "flights:book",
        ..d
    };
    assert_eq!(
        Receipt::issue(
            &other_perm,
            v1,
            good.clone(),
            &signer(),
            DEFAULT_POP_WINDOW_MS
        )
        .unwrap_err()
        .code(),
        Code::ReceiptInvalid
    );
    let stale_catalog = AgentPop::sign(
        &agent,
        GATE,
        "pp_alpha",
        "flights:search",
        ts(0),
        "n",
        cats[1].content_hash(),
        &ph,
    )
    .unwrap();
    assert_eq!(
        Receipt::issue(&d, v1, stale_catalog, &signer(), DEFAULT_POP_WINDOW_MS)
            .unwrap_err()
            .code(),
        Code::ReceiptInvalid
    );
    let mut forged = good;
    forged.nonce = "m".into();
    assert_eq!(forged.verify().unwrap_err().code(), Code::ReceiptInvalid);
    let missing = ReceiptDraft {
        permission_key: "flights:nope",
        ..d
    };
    assert_eq!(
        Receipt::issue(&missing, v1, forged, &signer(), DEFAULT_POP_WINDOW_MS)
            .unwrap_err()
            .code(),
        Code::CatalogPinUnknown
    );
}
