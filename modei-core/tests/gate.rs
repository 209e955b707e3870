//! The gate through its public API: every pipeline step's failure code, each decision kind,
//! ordering, holds, anonymous access, dry runs, the warm cache, concurrency. Expectations are
//! written by hand.

mod common;
use modei_core::attestation::{verify_records, Attestation, GateKeySet};
use modei_core::catalog::{CatalogDraft, CatalogSet, Permission as CatPermission};
use modei_core::constraints::Decision;
use modei_core::envelope::{Permission, Tier};
use modei_core::gate::*;
use modei_core::keys::SigningKey;
use modei_core::passport::JwtIssue;
use modei_core::revocation::RevocationSource;
use modei_core::time::Timestamp;
use modei_core::trust::{IssuerKind, Policy, TrustStore, TrustedIssuer, TrustedKey};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// 2026-03-02T00:00:00Z (a Monday).
const T0: i64 = 1_772_409_600_000;
const MIN: i64 = 60_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(ms)
}

fn key(i: u8) -> SigningKey {
    SigningKey::from_seed(&[i; 32])
}

fn issuer_key() -> SigningKey {
    key(1)
}
fn agent_key() -> SigningKey {
    key(2)
}
fn gate_key() -> SigningKey {
    key(3)
}
fn operator_key() -> SigningKey {
    key(4)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn trust() -> TrustStore {
    TrustStore::new()
        .with(
            TrustedIssuer::new("acme", IssuerKind::Organization)
                .with_tier(Tier::L2)
                .with_key(TrustedKey::new("acme-1", issuer_key().public_key())),
        )
        .unwrap()
}

/// A JWT passport from `acme` for the agent key, valid T0-1h .. T0+1d, granting `perms`
/// (`{"key": {constraints}}`).
fn passport_with(perms: Value, edit: impl FnOnce(&mut JwtIssue)) -> String {
    let mut iss = JwtIssue::new(
        "pp_alpha",
        "agent_alpha",
        agent_key().public_key(),
        at(T0 - 3_600_000),
        at(T0 + 86_400_000),
    );
    iss.permissions = obj(perms)
        .into_iter()
        .map(|(k, c)| Permission {
            permission_key: k,
            constraints: obj(c).into(),
        })
        .collect();
    edit(&mut iss);
    iss.issue("acme", "acme-1", &issuer_key()).unwrap()
}

fn passport(perms: Value) -> String {
    passport_with(perms, |_| {})
}

fn config(profile: Profile) -> GateConfig {
    GateConfig::new("gate_test", profile, trust())
        .with_signing_key(gate_key(), "gate-1")
        .with_operator("op-1", operator_key().public_key())
}

fn gate(profile: Profile) -> Gate {
    Gate::new(config(profile)).unwrap()
}

fn req(pp: &str, action: &str) -> GateRequest {
    GateRequest::new(action).passport(pp)
}

fn reason(d: &GateDecision) -> &str {
    d.reason.as_deref().unwrap_or("")
}

fn keys_of(d: &GateDecision) -> Vec<&str> {
    d.evaluations.iter().map(|e| &*e.key).collect()
}

fn records(ds: &[&GateDecision]) -> Vec<Attestation> {
    ds.iter()
        .filter_map(|d| d.attestation.clone())
        .map(|v| Attestation::from_value(v).unwrap())
        .collect()
}

fn gate_keys() -> GateKeySet {
    let mut k = GateKeySet::new();
    k.insert("gate_test", "gate-1", gate_key().public_key());
    k
}

// ------------------------------------------------------------------------------------------
// Decisions
// ------------------------------------------------------------------------------------------

#[test]
fn allow_with_evaluations_attestation_and_checkpoint() {
    let g = gate(Profile::L1);
    let pp = passport(
        json!({"search:*": {"core:cost:max_per_action": 500, "core:rate:max_per_minute": 10}}),
    );
    let d = g.check_at(
        &req(&pp, "search:flights")
            .target("HTTPS://API.Example.com:443/v1")
            .cost(200),
        at(T0),
    );
    assert_eq!(d.decision, Decision::Allow);
    assert_eq!(d.reason, None);
    assert_eq!(d.recorded_as, Recorded::Allow);
    assert_eq!(d.permission.as_deref(), Some("search:*"));
    assert_eq!(d.passport_id.as_deref(), Some("pp_alpha"));
    assert_eq!(d.target.as_deref(), Some("https://api.example.com/v1"));
    assert_eq!(
        keys_of(&d),
        ["core:rate:max_per_minute", "core:cost:max_per_action"]
    );
    assert_eq!(
        d.effective_constraints["core:cost:max_per_action"],
        json!(500)
    );
    assert!(!d.cached);
    let att = d.attestation.as_ref().unwrap();
    assert_eq!(att["sequence"], json!(1));
    assert_eq!(att["decision"], json!("allow"));
    assert_eq!(att["passport_id"], json!("pp_alpha"));
    assert_eq!(att["request_digest"], json!(d.request_digest));
    let cp = d.checkpoint.as_ref().unwrap();
    assert_eq!(cp["sequence"], json!(1));
    let recs = records(&[&d]);
    recs[0].verify(&gate_keys()).unwrap();
    // The JSON form round-trips and emits only canonical spellings.
    let v = d.to_value();
    assert_eq!(v["decision"], json!("allow"));
    assert_eq!(GateDecision::from_value(v).unwrap(), d);
}

#[test]
fn legacy_decision_spellings_are_read_back_only() {
    let g = gate(Profile::L1);
    let pp = passport(json!({"a:b": {}}));
    let d = g.check_at(&req(&pp, "a:b"), at(T0));
    for (legacy, want) in [
        ("PERMIT", Decision::Allow),
        ("SUSPEND", Decision::RequestHold),
        ("BLOCK", Decision::Block),
        ("deny", Decision::Block),
    ] {
        let mut v = d.to_value();
        v["decision"] = json!(legacy);
        v["evaluations"] =
            json!([{"key": "k", "outcome": legacy, "observed": null, "limit": null, "detail": ""}]);
        let back = GateDecision::from_value(v).unwrap();
        assert_eq!(back.decision, want);
        assert_eq!(back.evaluations[0].outcome, want);
        assert_eq!(back.to_value()["decision"], json!(want.as_str()));
    }
    let mut v = d.to_value();
    v["decision"] = json!("maybe");
    assert!(GateDecision::from_value(v).is_err());
}

#[test]
fn block_ends_evaluation_and_holds_continue() {
    let g = gate(Profile::L1);
    // A hold (approval threshold) then a block later in the order (max_cumulative is before the
    // threshold in the cost category, so use a CEL rule, which runs last).
    let pp = passport(json!({"pay:send": {
        "core:cost:approval_threshold": 1000,
        "core:cel:rules": [{"expr": "request.cost_cents < 5000", "message": "too big for CEL"}],
        "core:scope:action_blocklist": ["pay:refund"],
        "core:rate:max_per_day": 100
    }}));
    // Hold recorded, later keys still evaluated, nothing blocks: request_hold.
    let d = g.check_at(&req(&pp, "pay:send").cost(2000), at(T0));
    assert_eq!(d.decision, Decision::RequestHold);
    assert_eq!(reason(&d), "core:cost:approval_threshold");
    assert_eq!(
        keys_of(&d),
        [
            "core:scope:action_blocklist",
            "core:rate:max_per_day",
            "core:cost:approval_threshold",
            "core:cel:rules"
        ]
    );
    assert!(d.hold_id.as_deref().unwrap().starts_with("appr_"));
    // Hold recorded, then a later block: block wins, reason is the blocking key.
    let d = g.check_at(&req(&pp, "pay:send").cost(6000), at(T0));
    assert_eq!(d.decision, Decision::Block);
    assert_eq!(reason(&d), "core:cel:rules");
    assert_eq!(d.evaluations[2].outcome, Decision::RequestHold);
    assert_eq!(d.hold_id, None);
}

#[test]
fn a_block_stops_at_its_key() {
    let g = gate(Profile::L1);
    let pp = passport(json!({"*": {
        "core:scope:action_blocklist": ["db:drop"],
        "core:rate:max_per_minute": 5,
        "core:cost:max_per_action": 10
    }}));
    let d = g.check_at(&req(&pp, "db:drop"), at(T0));
    assert_eq!(d.decision, Decision::Block);
    assert_eq!(reason(&d), "core:scope:action_blocklist");
    assert_eq!(keys_of(&d), ["core:scope:action_blocklist"]);
    // Nothing was counted for the blocked request: five more fit in the minute.
    for i in 0..5 {
        assert!(g.check_at(&req(&pp, "db:read"), at(T0 + i)).is_allowed());
    }
    let d = g.check_at(&req(&pp, "db:read"), at(T0 + 10));
    assert_eq!(reason(&d), "core:rate:max_per_minute");
}

#[test]
fn spend_cap_detail_and_window() {
    let g = gate(Profile::L1);
    let pp = passport(json!({"buy:*": {"core:cost:max_cumulative": 10000}}));
    assert!(g
        .check_at(&req(&pp, "buy:x").cost(9750), at(T0))
        .is_allowed());
    let d = g.check_at(&req(&pp, "buy:x").cost(4500), at(T0 + MIN));
    assert_eq!(d.decision, Decision::Block);
    assert_eq!(reason(&d), "core:cost:max_cumulative");
    assert!(
        d.detail.as_deref().unwrap().contains("9750"),
        "{:?}",
        d.detail
    );
    // Exactly up to the cap is allowed; the next UTC day starts over.
    assert!(g
        .check_at(&req(&pp, "buy:x").cost(250), at(T0 + 2 * MIN))
        .is_allowed());
    assert_eq!(
        reason(&g.check_at(&req(&pp, "buy:x").cost(1), at(T0 + 3 * MIN))),
        "core:cost:max_cumulative"
    );
    assert!(g
        .check_at(&req(&pp, "buy:x").cost(10000), at(T0 + 86_400_000))
        .is_allowed());
}

#[test]
fn constraint_errors_block_with_their_codes() {
    let g = gate(Profile::L1);
    let pp = passport(json!({
        "a:unknown": {"x:custom:thing": 1},
        "a:invalid": {"core:rate:max_per_minute": -1},
        "a:cel": {"core:cel:rules": [{"expr": "request.cost_cents +"}]}
    }));
    // Twice in each order: the errors are kept with the cached passport, per permission, and
    // come back the same.
    let cases = [
        ("a:unknown", "unknown_constraint"),
        ("a:invalid", "constraint_invalid"),
        ("a:cel", "cel_error"),
    ];
    for round in 0..2 {
        for (action, code) in cases.iter().chain(cases.iter().rev()) {
            let d = g.check_at(&req(&pp, action), at(T0));
            assert_eq!(reason(&d), *code, "{action} in round {round}");
            assert!(d.cached || round == 0);
        }
    }
}

// ------------------------------------------------------------------------------------------
// Verification steps
// ------------------------------------------------------------------------------------------

struct Revocations {
    ids: Mutex<HashSet<String>>,
    refreshed: Mutex<Timestamp>,
}

impl RevocationSource for Revocations {
    fn passport_revoked(&self, id: &str) -> bool {
        self.ids.lock().unwrap().contains(id)
    }
    fn agent_revoked(&self, id: &str) -> bool {
        self.ids.lock().unwrap().contains(id)
    }
    fn issuer_key_revoked(&self, issuer: &str, kid: &str) -> bool {
        self.ids
            .lock()
            .unwrap()
            .contains(&format!("{issuer}/{kid}"))
    }
    fn last_refreshed(&self) -> Timestamp {
        *self.refreshed.lock().unwrap()
    }
}

fn revocations(refreshed: i64) -> Arc<Revocations> {
    Arc::new(Revocations {
        ids: Mutex::new(HashSet::new()),
        refreshed: Mutex::new(at(refreshed)),
    })
}

#[test]
fn verification_failures_block_with_the_verify_code_on_the_unverified_chain() {
    let g = gate(Profile::L1);
    let good = passport(json!({"a:b": {}}));
    let mut tampered = good.clone();
    tampered.pop();
    tampered.push(if good.ends_with('A') { 'B' } else { 'A' });
    let other_issuer = {
        let mut iss = JwtIssue::new(
            "pp_x",
            "agent_x",
            agent_key().public_key(),
            at(T0 - 1000),
            at(T0 + 1_000_000),
        );
        iss.permissions = vec![];
        iss.issue("globex", "g-1", &issuer_key()).unwrap()
    };
    let expired = passport_with(json!({"a:b": {}}), |i| i.expires_at = at(T0 - 31_000));
    let future = passport_with(json!({"a:b": {}}), |i| i.not_before = Some(at(T0 + 31_000)));
    let wrong_aud = passport_with(json!({"a:b": {}}), |i| {
        i.audience = vec!["gate_other".into()]
    });
    let cases: Vec<(&str, String)> = vec![
        ("signature_invalid", tampered),
        ("issuer_unknown", other_issuer),
        ("passport_expired", expired),
        ("passport_not_yet_valid", future),
        ("audience_mismatch", wrong_aud),
        ("jwt_malformed", "not-a-token".into()),
    ];
    for (code, pp) in &cases {
        let d = g.check_at(&req(pp, "a:b"), at(T0));
        assert_eq!(d.decision, Decision::Block, "{code}");
        assert_eq!(reason(&d), *code);
        assert_eq!(d.passport_id, None);
        assert_eq!(
            d.attestation.as_ref().unwrap()["passport_id"],
            json!("unverified")
        );
    }
    // Leeway: 30 s either side is still fine.
    let edge = passport_with(json!({"a:b": {}}), |i| i.expires_at = at(T0 - 29_000));
    assert!(g.check_at(&req(&edge, "a:b"), at(T0)).is_allowed());
    // The unverified chain is contiguous.
    let recs = g
        .with_log(|l| l.head("gate_test", "unverified").sequence)
        .unwrap();
    assert_eq!(recs, cases.len() as u64);
}

#[test]
fn issuer_policy_and_tier() {
    let self_pp = {
        let mut iss = JwtIssue::new(
            "pp_self",
            "",
            agent_key().public_key(),
            at(T0 - 1000),
            at(T0 + 3_600_000),
        );
        iss.permissions = vec![Permission {
            permission_key: "a:b".into(),
            constraints: Map::new().into(),
        }];
        iss.self_issue(&agent_key()).unwrap()
    };
    // L1 accepts self-issued by default; L2 does not.
    assert!(gate(Profile::L1)
        .check_at(&req(&self_pp, "a:b"), at(T0))
        .is_allowed());
    let d = gate(Profile::L2).check_at(&req(&self_pp, "a:b").nonce("n1", T0), at(T0));
    assert_eq!(reason(&d), "self_issued_not_allowed");
    // Minimum tier.
    let g = Gate::new(config(Profile::L1).with_policy(Policy::new().min_tier(Tier::L3))).unwrap();
    let d = g.check_at(&req(&passport(json!({"a:b": {}})), "a:b"), at(T0));
    assert_eq!(reason(&d), "trust_tier_insufficient");
    // Allow-list of issuers.
    let g = Gate::new(config(Profile::L1).with_policy(Policy::new().allow_only(["someone_else"])))
        .unwrap();
    assert_eq!(
        reason(&g.check_at(&req(&passport(json!({"a:b": {}})), "a:b"), at(T0))),
        "issuer_not_allowed"
    );
}

#[test]
fn revocation_and_freshness_per_profile_also_on_the_warm_path() {
    let rev = revocations(T0);
    let g = Gate::new(config(Profile::L3).with_revocation(rev.clone())).unwrap();
    let pp = passport(json!({"a:b": {}}));
    let mut n = 0;
    let mut check = |now: i64| {
        n += 1;
        let mut r = req(&pp, "a:b").nonce(format!("n{n}"), now);
        r.pop = Some(sign_pop(&agent_key(), "gate_test", "pp_alpha", &r).unwrap());
        g.check_at(&r, at(now))
    };
    let d = check(T0);
    assert!(d.is_allowed(), "{d:?}");
    assert!(!d.cached);
    let d = check(T0 + 1000);
    assert!(d.cached && d.is_allowed());
    // L3: revocation data older than 60 s refuses, even for a cached passport.
    let d = check(T0 + 61_000);
    assert_eq!(reason(&d), "revocation_stale");
    *rev.refreshed.lock().unwrap() = at(T0 + 61_000);
    assert!(check(T0 + 62_000).is_allowed());
    // Revoked after it was cached: refused at once.
    rev.ids.lock().unwrap().insert("pp_alpha".into());
    assert_eq!(reason(&check(T0 + 63_000)), "passport_revoked");
    rev.ids.lock().unwrap().clear();
    rev.ids.lock().unwrap().insert("acme/acme-1".into());
    assert_eq!(reason(&check(T0 + 64_000)), "issuer_key_revoked");

    // L2: stale data verifies with a warning.
    let rev = revocations(T0 - 400_000);
    let g = Gate::new(config(Profile::L2).with_revocation(rev)).unwrap();
    let d = g.check_at(&req(&pp, "a:b").nonce("x", T0), at(T0));
    assert!(d.is_allowed());
    assert_eq!(d.warnings, ["revocation_stale"]);
    let d = g.check_at(&req(&pp, "a:b").nonce("y", T0), at(T0));
    assert!(d.cached);
    assert_eq!(d.warnings, ["revocation_stale"]);
}

#[test]
fn warm_path_still_checks_expiry_and_trust_windows() {
    let g = gate(Profile::L1);
    let pp = passport_with(json!({"a:b": {}}), |i| i.expires_at = at(T0 + 60_000));
    assert!(g.check_at(&req(&pp, "a:b"), at(T0)).is_allowed());
    assert_eq!(g.cached_passports(), 1);
    assert!(g.check_at(&req(&pp, "a:b"), at(T0 + 89_000)).cached);
    let d = g.check_at(&req(&pp, "a:b"), at(T0 + 90_000));
    assert_eq!(reason(&d), "passport_expired");
    // Trust key window ends while cached.
    let store = TrustStore::new()
        .with(
            TrustedIssuer::new("acme", IssuerKind::Organization).with_key(
                TrustedKey::new("acme-1", issuer_key().public_key())
                    .window(None, Some(at(T0 + 10_000))),
            ),
        )
        .unwrap();
    let g = Gate::new(GateConfig::new("gate_test", Profile::L1, store)).unwrap();
    let pp = passport(json!({"a:b": {}}));
    assert!(g.check_at(&req(&pp, "a:b"), at(T0)).is_allowed());
    assert_eq!(
        reason(&g.check_at(&req(&pp, "a:b"), at(T0 + 10_000))),
        "key_expired"
    );
}

// ------------------------------------------------------------------------------------------
// Catalog pins and permissions
// ------------------------------------------------------------------------------------------

fn catalogs() -> CatalogSet {
    let signer = modei_core::attestation::Attestor::new("gate_test", "gate-1", gate_key()).unwrap();
    let perm = common::catalog_permission;
    let mut set = CatalogSet::new("gate_test");
    let draft = |v: u64, min: u64, perms: Vec<CatPermission>| CatalogDraft {
        gate_id: "gate_test".into(),
        version: v,
        min_compatible_version: min,
        published_at: at(T0 - 86_400_000 + v as i64),
        effective_at: at(T0 - 86_400_000 + v as i64),
        change_summary: None,
        permissions: perms,
    };
    set.publish(
        draft(
            1,
            1,
            vec![perm(
                "search:run",
                1,
                json!({"core:cost:max_per_action": 100, "core:pricing:per_call_cents": 2}),
            )],
        ),
        &signer,
    )
    .unwrap();
    set.publish(
        draft(
            2,
            2,
            vec![
                perm(
                    "search:run",
                    1,
                    json!({"core:cost:max_per_action": 50, "core:pricing:per_call_cents": 3}),
                ),
                perm("admin:*", 3, json!({})),
            ],
        ),
        &signer,
    )
    .unwrap();
    set
}

fn pinned(version: i64, hash: Option<String>, perms: Value) -> String {
    passport_with(perms, |i| {
        i.catalog = Some(modei_core::jwt::CatalogPin {
            gate_id: Some("gate_test".into()),
            version: Some(version),
            content_hash: hash.map(|h| format!("sha256:{h}")),
        })
    })
}

#[test]
fn catalog_pins_merge_and_gate_authority() {
    let cats = catalogs();
    let v2_hash = cats.get(2).unwrap().content_hash().to_owned();
    let v1_hash = cats.get(1).unwrap().content_hash().to_owned();
    let g = Gate::new(config(Profile::L1).with_catalogs(cats)).unwrap();
    let perms = json!({"search:run": {"core:cost:max_per_action": 80, "core:pricing:per_call_cents": 0}, "admin:users": {}, "other:x": {}});
    // No pin: refused, never checked against the current catalog.
    assert_eq!(
        reason(&g.check_at(&req(&passport(perms.clone()), "search:run"), at(T0))),
        "catalog_pin_unknown"
    );
    // Unknown version / wrong hash.
    assert_eq!(
        reason(&g.check_at(&req(&pinned(7, None, perms.clone()), "search:run"), at(T0))),
        "catalog_pin_unknown"
    );
    let bad_hash = "0".repeat(64);
    assert_eq!(
        reason(&g.check_at(
            &req(&pinned(2, Some(bad_hash), perms.clone()), "search:run"),
            at(T0)
        )),
        "catalog_pin_unknown"
    );
    // Below min_compatible_version.
    assert_eq!(
        reason(&g.check_at(
            &req(&pinned(1, Some(v1_hash), perms.clone()), "search:run"),
            at(T0)
        )),
        "catalog_pin_incompatible"
    );
    // Good pin: limits take the tighter value, terms the catalog's.
    let pp = pinned(2, Some(v2_hash), perms);
    let d = g.check_at(&req(&pp, "search:run").cost(50), at(T0));
    assert!(d.is_allowed(), "{d:?}");
    assert_eq!(
        d.effective_constraints["core:cost:max_per_action"],
        json!(50)
    );
    assert_eq!(
        d.effective_constraints["core:pricing:per_call_cents"],
        json!(3)
    );
    let att = d.attestation.as_ref().unwrap();
    assert_eq!(att["catalog"]["version"], json!(2));
    assert_eq!(att["terms"]["core:pricing:per_call_cents"], json!(3));
    assert_eq!(
        reason(&g.check_at(&req(&pp, "search:run").cost(51), at(T0))),
        "core:cost:max_per_action"
    );
    // The passport grants it, the catalog does not list it.
    assert_eq!(
        reason(&g.check_at(&req(&pp, "other:x"), at(T0))),
        "permission_not_granted"
    );
    // The catalog needs trust level 3; the passport is L2.
    assert_eq!(
        reason(&g.check_at(&req(&pp, "admin:users"), at(T0))),
        "trust_tier_insufficient"
    );
}

/// One passport permission (`search:*`) covering two catalog entries with different limits:
/// each action is held to its own entry, whichever the gate saw first.
#[test]
fn a_wildcard_permission_meets_each_catalog_entry_it_covers() {
    let signer = modei_core::attestation::Attestor::new("gate_test", "gate-1", gate_key()).unwrap();
    let perm = |k: &str, max: i64| {
        common::catalog_permission(k, 1, json!({ "core:cost:max_per_action": max }))
    };
    let mut cats = CatalogSet::new("gate_test");
    cats.publish(
        CatalogDraft {
            gate_id: "gate_test".into(),
            version: 1,
            min_compatible_version: 1,
            published_at: at(T0 - 86_400_000),
            effective_at: at(T0 - 86_400_000),
            change_summary: None,
            permissions: vec![perm("search:flights", 100), perm("search:hotels", 10)],
        },
        &signer,
    )
    .unwrap();
    let g = Gate::new(config(Profile::L1).with_catalogs(cats)).unwrap();
    let pp = pinned(
        1,
        None,
        json!({"search:*": {"core:cost:max_per_action": 1000}}),
    );
    let check = |action: &str| g.check_at(&req(&pp, action).cost(50), at(T0));
    let flights = check("search:flights");
    assert!(flights.is_allowed(), "{flights:?}");
    assert_eq!(
        flights.effective_constraints["core:cost:max_per_action"],
        json!(100)
    );
    let hotels = check("search:hotels");
    assert_eq!(reason(&hotels), "core:cost:max_per_action", "{hotels:?}");
    assert_eq!(
        hotels.effective_constraints["core:cost:max_per_action"],
        json!(10)
    );
    // And again, now that both are prepared.
    assert!(check("search:flights").is_allowed());
    assert_eq!(reason(&check("search:hotels")), "core:cost:max_per_action");
}

#[test]
fn permission_matching_exact_prefix_wildcard() {
    let g = gate(Profile::L1);
    let pp = passport(json!({
        "*": {"core:cost:max_per_action": 1},
        "email:*": {"core:cost:max_per_action": 10},
        "email:send": {"core:cost:max_per_action": 100}
    }));
    let perm = |a: &str| g.check_at(&req(&pp, a), at(T0)).permission;
    assert_eq!(perm("email:send").as_deref(), Some("email:send"));
    assert_eq!(perm("email:read").as_deref(), Some("email:*"));
    assert_eq!(perm("files:read").as_deref(), Some("*"));
    let narrow = passport(json!({"email:*": {}}));
    for a in ["email", "emailx:send", "EMAIL:send"] {
        assert_eq!(
            reason(&g.check_at(&req(&narrow, a), at(T0))),
            "permission_not_granted",
            "{a}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// Replay and proof of possession
// ------------------------------------------------------------------------------------------

#[test]
fn l2_nonces_and_timestamps() {
    let g = gate(Profile::L2);
    let pp = passport(json!({"a:b": {}}));
    assert_eq!(
        reason(&g.check_at(&req(&pp, "a:b"), at(T0))),
        "request_invalid"
    );
    assert!(g
        .check_at(&req(&pp, "a:b").nonce("n1", T0), at(T0))
        .is_allowed());
    assert_eq!(
        reason(&g.check_at(&req(&pp, "a:b").nonce("n1", T0), at(T0 + 1))),
        "replay_detected"
    );
    // 5-minute window, both directions, inclusive.
    assert!(g
        .check_at(&req(&pp, "a:b").nonce("n2", T0 - 300_000), at(T0))
        .is_allowed());
    assert_eq!(
        reason(&g.check_at(&req(&pp, "a:b").nonce("n3", T0 - 300_001), at(T0))),
        "replay_detected"
    );
    assert_eq!(
        reason(&g.check_at(&req(&pp, "a:b").nonce("n4", T0 + 300_001), at(T0))),
        "replay_detected"
    );
    // A dry run does not burn the nonce.
    assert!(g
        .dry_run_at(&req(&pp, "a:b").nonce("n5", T0), at(T0))
        .is_allowed());
    assert!(g
        .check_at(&req(&pp, "a:b").nonce("n5", T0), at(T0))
        .is_allowed());
    // After the window, the nonce is forgotten (and the timestamp would be stale anyway).
    assert_eq!(
        reason(&g.check_at(&req(&pp, "a:b").nonce("n1", T0), at(T0 + 300_001))),
        "replay_detected"
    );
}

#[test]
fn l3_proof_of_possession() {
    // L3 needs fresh revocation data (no source at all is `revocation_stale`).
    assert_eq!(
        reason(
            &gate(Profile::L3).check_at(&req(&passport(json!({"pay:*": {}})), "pay:send"), at(T0))
        ),
        "revocation_stale"
    );
    let g = Gate::new(config(Profile::L3).with_revocation(revocations(T0))).unwrap();
    let pp = passport(json!({"pay:*": {}}));
    let base = req(&pp, "pay:send")
        .target("https://bank.example/pay")
        .cost(700);
    let d = g.check_at(&base.clone().nonce("n1", T0), at(T0));
    assert_eq!(reason(&d), "pop_required");
    // A good proof.
    let mut r = base.clone().nonce("n2", T0);
    r.pop = Some(sign_pop(&agent_key(), "gate_test", "pp_alpha", &r).unwrap());
    assert!(g.check_at(&r, at(T0)).is_allowed());
    // The same proof on a changed request (cost) does not verify.
    let mut r2 = r.clone();
    r2.nonce = Some("n3".into());
    r2.pop = Some(sign_pop(&agent_key(), "gate_test", "pp_alpha", &r2).unwrap());
    r2.cost_cents = 1;
    assert_eq!(reason(&g.check_at(&r2, at(T0))), "pop_invalid");
    // Signed by another key.
    let mut r3 = base.clone().nonce("n4", T0);
    r3.pop = Some(sign_pop(&key(9), "gate_test", "pp_alpha", &r3).unwrap());
    assert_eq!(reason(&g.check_at(&r3, at(T0))), "pop_invalid");
    // Garbage.
    let mut r4 = base.clone().nonce("n5", T0);
    r4.pop = Some("!!".into());
    assert_eq!(reason(&g.check_at(&r4, at(T0))), "pop_invalid");
    // A replay of the good request is caught by the nonce (PoP verified first).
    assert_eq!(reason(&g.check_at(&r, at(T0 + 1))), "replay_detected");
    // L3 window is 60 s.
    let mut r5 = base.nonce("n6", T0 - 60_001);
    r5.pop = Some(sign_pop(&agent_key(), "gate_test", "pp_alpha", &r5).unwrap());
    assert_eq!(reason(&g.check_at(&r5, at(T0))), "replay_detected");
}

#[test]
fn pop_signing_input_is_pinned() {
    let input = pop_signing_input("g", "a:b", Some("https://x.example/"), 5, "n", 7, "d");
    assert_eq!(
        String::from_utf8(input).unwrap(),
        r#"{"action":"a:b","cost_cents":5,"gate_id":"g","nonce":"n","purpose":"modei-pop/1","request_digest":"d","target":"https://x.example/","timestamp":7}"#
    );
    let a = Approval::sign(
        "appr_1",
        "d",
        ApprovalDecision::Approved,
        "op",
        9,
        &operator_key(),
    );
    assert_eq!(
        String::from_utf8(a.signing_input()).unwrap(),
        r#"{"decision":"approved","hold_id":"appr_1","operator_key_id":"op","purpose":"modei-approval/1","request_digest":"d","timestamp":9}"#
    );
    a.verify(&operator_key().public_key()).unwrap();
}

// ------------------------------------------------------------------------------------------
// Holds and approvals
// ------------------------------------------------------------------------------------------

#[derive(Default)]
struct Inbox {
    held: Mutex<Vec<Hold>>,
    resolved: Mutex<Vec<(String, HoldOutcome)>>,
}

impl HoldNotifier for Inbox {
    fn on_hold(&self, hold: &Hold) {
        self.held.lock().unwrap().push(hold.clone());
    }
    fn on_resolved(&self, hold: &Hold, outcome: HoldOutcome) {
        self.resolved
            .lock()
            .unwrap()
            .push((hold.hold_id.clone(), outcome));
    }
}

fn hold_gate() -> (Gate, Arc<Inbox>, String) {
    let inbox = Arc::new(Inbox::default());
    let g = Gate::new(config(Profile::L1).with_notifier(inbox.clone())).unwrap();
    let pp = passport(
        json!({"pay:send": {"core:cost:approval_threshold": 5000, "core:cost:max_cumulative": 10000}}),
    );
    (g, inbox, pp)
}

fn approve(d: &GateDecision, decision: ApprovalDecision, ts: i64) -> Approval {
    Approval::sign(
        d.hold_id.as_deref().unwrap(),
        &d.request_digest,
        decision,
        "op-1",
        ts,
        &operator_key(),
    )
}

#[test]
fn hold_then_approval_allows_and_commits_the_reserved_spend() {
    let (g, inbox, pp) = hold_gate();
    let r = req(&pp, "pay:send").cost(6000);
    let d = g.check_at(&r, at(T0));
    assert_eq!(d.decision, Decision::RequestHold);
    let hid = d.hold_id.clone().unwrap();
    assert_eq!(
        d.hold_expires_at.as_deref(),
        Some("2026-03-02T00:05:00.000Z")
    );
    assert_eq!(inbox.held.lock().unwrap()[0].hold_id, hid);
    assert_eq!(g.pending_holds()[0].reserved_cents, 6000);
    // The reservation counts against the cap meanwhile: 6000 + 4001 > 10000.
    assert_eq!(
        reason(&g.check_at(&req(&pp, "pay:send").cost(4001), at(T0 + 1))),
        "core:cost:max_cumulative"
    );
    // Approve and re-present the same request.
    let mut again = r.clone();
    again.approval = Some(approve(&d, ApprovalDecision::Approved, T0 + 2 * MIN));
    let ok = g.check_at(&again, at(T0 + 2 * MIN));
    assert_eq!(ok.decision, Decision::Allow);
    assert_eq!(ok.recorded_as, Recorded::Approved);
    assert_eq!(
        ok.attestation.as_ref().unwrap()["decision"],
        json!("approved")
    );
    assert!(g.pending_holds().is_empty());
    assert_eq!(
        inbox.resolved.lock().unwrap()[0],
        (hid, HoldOutcome::Approved)
    );
    // The spend is now committed: 6000 + 4001 still over, 4000 fits.
    assert_eq!(
        reason(&g.check_at(&req(&pp, "pay:send").cost(4001), at(T0 + 3 * MIN))),
        "core:cost:max_cumulative"
    );
    assert!(g
        .check_at(&req(&pp, "pay:send").cost(4000), at(T0 + 3 * MIN))
        .is_allowed());
    // The approval is single-use.
    assert_eq!(
        reason(&g.check_at(&again, at(T0 + 3 * MIN))),
        "hold_not_found"
    );
}

#[test]
fn denial_and_expiry_release_the_reservation() {
    let (g, inbox, pp) = hold_gate();
    let r = req(&pp, "pay:send").cost(6000);
    // Denied with the request.
    let d = g.check_at(&r, at(T0));
    let mut again = r.clone();
    again.approval = Some(approve(&d, ApprovalDecision::Denied, T0 + 1000));
    let no = g.check_at(&again, at(T0 + 1000));
    assert_eq!(no.decision, Decision::Block);
    assert_eq!(reason(&no), "approval_denied");
    assert_eq!(no.recorded_as, Recorded::Denied);
    assert_eq!(
        no.attestation.as_ref().unwrap()["decision"],
        json!("denied")
    );
    // Released: only this 1000 is spent now (7000 would not fit next to a live reservation).
    assert!(g
        .check_at(&req(&pp, "pay:send").cost(1000), at(T0 + 2000))
        .is_allowed());

    // Denied out of band.
    let d = g.check_at(&r, at(T0 + 3000));
    let denial = approve(&d, ApprovalDecision::Denied, T0 + 4000);
    let out = g.deny_hold(&denial, at(T0 + 4000)).unwrap();
    assert_eq!(out.recorded_as, Recorded::Denied);
    assert_eq!(
        g.deny_hold(&denial, at(T0 + 4000))
            .unwrap_err()
            .code()
            .as_str(),
        "hold_not_found"
    );

    // Expiry: 5 minutes, then the approval is too late.
    let d = g.check_at(&r, at(T0 + 5000));
    let mut late = r.clone();
    late.approval = Some(approve(&d, ApprovalDecision::Approved, T0 + 5000 + 300_000));
    let x = g.check_at(&late, at(T0 + 5000 + 300_000));
    assert_eq!(reason(&x), "hold_expired");
    // The lapsed reservation no longer counts: 1000 + 5001 is held, not over the cap.
    assert_eq!(
        g.check_at(&req(&pp, "pay:send").cost(5001), at(T0 + 5000 + 300_001))
            .decision,
        Decision::RequestHold
    );
    // expire_holds releases and records lapsed holds.
    let gone = g.expire_holds(at(T0 + 5000 + 300_001 + 300_000));
    assert_eq!(gone.len(), 1);
    assert!(g.pending_holds().is_empty());
    let outcomes: Vec<HoldOutcome> = inbox.resolved.lock().unwrap().iter().map(|x| x.1).collect();
    assert_eq!(
        outcomes,
        [
            HoldOutcome::Denied,
            HoldOutcome::Denied,
            HoldOutcome::Expired,
            HoldOutcome::Expired
        ]
    );
}

#[test]
fn bad_approvals() {
    let (g, _, pp) = hold_gate();
    let r = req(&pp, "pay:send").cost(6000);
    let d = g.check_at(&r, at(T0));
    let present = |a: Approval, r: &GateRequest| {
        let mut x = r.clone();
        x.approval = Some(a);
        g.check_at(&x, at(T0 + 1000))
    };
    // Unknown operator key / wrong signature.
    let a = Approval::sign(
        d.hold_id.as_deref().unwrap(),
        &d.request_digest,
        ApprovalDecision::Approved,
        "op-9",
        T0,
        &operator_key(),
    );
    assert_eq!(reason(&present(a, &r)), "approval_invalid");
    let a = Approval::sign(
        d.hold_id.as_deref().unwrap(),
        &d.request_digest,
        ApprovalDecision::Approved,
        "op-1",
        T0,
        &key(9),
    );
    assert_eq!(reason(&present(a, &r)), "approval_invalid");
    // Right approval, different request (cost changed).
    let a = approve(&d, ApprovalDecision::Approved, T0);
    assert_eq!(
        reason(&present(a.clone(), &r.clone().cost(5999))),
        "approval_invalid"
    );
    // Dated in the future.
    let a2 = approve(&d, ApprovalDecision::Approved, T0 + 60_000);
    assert_eq!(reason(&present(a2, &r)), "approval_invalid");
    // Unknown hold.
    let mut a3 = a.clone();
    a3.hold_id = "appr_nope".into();
    a3.signature = Approval::sign(
        "appr_nope",
        &a.request_digest,
        a.decision,
        "op-1",
        T0,
        &operator_key(),
    )
    .signature;
    assert_eq!(reason(&present(a3, &r)), "hold_not_found");
    // Still pending after all that.
    assert_eq!(g.pending_holds().len(), 1);
    assert!(present(a, &r).is_allowed());
}

// ------------------------------------------------------------------------------------------
// Anonymous access
// ------------------------------------------------------------------------------------------

fn anon_gate() -> Gate {
    let policy = AnonymousPolicy {
        enabled: true,
        allowed_actions: vec!["docs:*".into()],
        blocked_actions: vec!["docs:admin".into()],
        upgrade_url: Some("https://example.com/get-a-passport".into()),
        ..AnonymousPolicy::default()
    };
    Gate::new(config(Profile::L1).with_anonymous(policy)).unwrap()
}

#[test]
fn anonymous_access() {
    let off = gate(Profile::L1);
    let d = off.check_at(&GateRequest::new("docs:read").client("1.2.3.4"), at(T0));
    assert_eq!(reason(&d), "anonymous_not_allowed");
    assert_eq!(d.upgrade.as_ref().unwrap().message, DEFAULT_UPGRADE_MESSAGE);

    let g = anon_gate();
    let anon = |a: &str, c: &str, t: i64| g.check_at(&GateRequest::new(a).client(c), at(T0 + t));
    let d = anon("docs:read", "1.2.3.4", 0);
    assert!(d.is_allowed());
    assert_eq!(d.passport_id.as_deref(), Some("anon:1.2.3.4"));
    assert_eq!(
        d.upgrade.as_ref().unwrap().url.as_deref(),
        Some("https://example.com/get-a-passport")
    );
    assert_eq!(
        reason(&anon("docs:admin", "1.2.3.4", 1)),
        "anonymous_not_allowed"
    );
    assert_eq!(
        reason(&anon("files:read", "1.2.3.4", 1)),
        "anonymous_not_allowed"
    );
    assert_eq!(
        reason(&anon("docs:update", "1.2.3.4", 1)),
        "core:data:read_only"
    );
    // 5 per minute per client (the read-only block above was not counted).
    for i in 2..6 {
        assert!(anon("docs:read", "1.2.3.4", i).is_allowed());
    }
    assert_eq!(
        reason(&anon("docs:read", "1.2.3.4", 7)),
        "core:rate:max_per_minute"
    );
    assert!(anon("docs:read", "5.6.7.8", 8).is_allowed());
    assert!(anon("docs:read", "1.2.3.4", MIN).is_allowed());
    // No client id.
    assert_eq!(
        reason(&g.check_at(&GateRequest::new("docs:read"), at(T0))),
        "request_invalid"
    );
    // An invalid passport is never downgraded to anonymous.
    let d = g.check_at(
        &GateRequest::new("docs:read")
            .client("9.9.9.9")
            .passport("garbage"),
        at(T0),
    );
    assert_eq!(reason(&d), "jwt_malformed");
    let expired = passport_with(json!({"docs:read": {}}), |i| i.expires_at = at(T0 - 60_000));
    let d = g.check_at(
        &GateRequest::new("docs:read")
            .client("9.9.9.9")
            .passport(expired),
        at(T0),
    );
    assert_eq!(reason(&d), "passport_expired");
    assert!(d.upgrade.is_none());
}

// ------------------------------------------------------------------------------------------
// Dry run, request shape, config
// ------------------------------------------------------------------------------------------

#[test]
fn dry_run_changes_nothing() {
    let (g, inbox, pp) = hold_gate();
    for _ in 0..3 {
        let d = g.dry_run_at(&req(&pp, "pay:send").cost(4000), at(T0));
        assert!(d.is_allowed() && d.dry_run && d.attestation.is_none());
    }
    let d = g.dry_run_at(&req(&pp, "pay:send").cost(6000), at(T0));
    assert_eq!(d.decision, Decision::RequestHold);
    assert!(d.hold_id.is_some());
    assert!(g.pending_holds().is_empty() && inbox.held.lock().unwrap().is_empty());
    assert_eq!(g.with_log(|l| l.len()), Some(0));
    // The real thing still has the whole budget.
    assert!(g
        .check_at(&req(&pp, "pay:send").cost(4000), at(T0))
        .is_allowed());
    assert!(g
        .check_at(&req(&pp, "pay:send").cost(4000), at(T0))
        .is_allowed());
    assert_eq!(
        reason(&g.check_at(&req(&pp, "pay:send").cost(2001), at(T0))),
        "core:cost:max_cumulative"
    );
    // A dry run sees the committed state.
    assert_eq!(
        reason(&g.dry_run_at(&req(&pp, "pay:send").cost(2001), at(T0))),
        "core:cost:max_cumulative"
    );
}

#[test]
fn malformed_requests() {
    let g = gate(Profile::L1);
    let pp = passport(json!({"*": {}}));
    for r in [
        req(&pp, ""),
        req(&pp, "a b"),
        req(&pp, "a:b").cost(-1),
        req(&pp, "a:b").target("http://user:pw@x.example/"),
        req(&pp, "a:b").metadata(json!([1])),
        GateRequest::new("docs:read").client("x".repeat(600)),
        req(&pp, "a:b").target(format!("https://x.example/{}", "a".repeat(3000))),
    ] {
        assert_eq!(reason(&g.check_at(&r, at(T0))), "request_invalid", "{r:?}");
    }
    assert_eq!(
        GateRequest::from_json(br#"{"action":"a","cost_cents":1.5}"#)
            .unwrap_err()
            .code()
            .as_str(),
        "request_invalid"
    );
    assert_eq!(
        GateRequest::from_json(br#"{"action":"a","surprise":1}"#)
            .unwrap_err()
            .code()
            .as_str(),
        "request_invalid"
    );
    let r = GateRequest::from_json(
        br#"{"action":"a:b","target":"x.example","cost_cents":5,"metadata":{"k":1}}"#,
    )
    .unwrap();
    assert_eq!(r.cost_cents, 5);
}

#[test]
fn config_json_errors_name_the_path() {
    let e = GateConfig::from_json(br#"{"gate_id":"g","profile":"L9"}"#, "gate.json").unwrap_err();
    assert_eq!(e.code().as_str(), "invalid_argument");
    assert!(e.detail().contains("gate.json: profile"), "{e}");
    let e = GateConfig::from_json(br#"{"gate_id":"g","surprise":1}"#, "gate.json").unwrap_err();
    assert!(e.detail().contains("gate.json: surprise"), "{e}");
    let e = GateConfig::from_json(
        br#"{"gate_id":"g","trust_store":{"version":2,"issuers":[]}}"#,
        "gate.json",
    )
    .unwrap_err();
    assert_eq!(e.code().as_str(), "trust_store_invalid");
    assert!(e.detail().contains("gate.json"), "{e}");
    let e = GateConfig::from_json(
        br#"{"gate_id":"g","signing_key":{"seed_hex":"zz"}}"#,
        "gate.json",
    )
    .unwrap_err();
    assert!(e.detail().contains("gate.json: signing_key"), "{e}");
    // L3 needs a signing key.
    let cfg = GateConfig::from_json(br#"{"gate_id":"g","profile":"L3"}"#, "gate.json").unwrap();
    assert_eq!(
        Gate::new(cfg).unwrap_err().code().as_str(),
        "invalid_argument"
    );
    // A full one.
    let text = json!({
        "gate_id": "gate_test",
        "profile": "L2",
        "trust_store": {"version": 1, "issuers": [{"id": "acme", "type": "organization", "tier": "L2",
            "keys": [{"kid": "acme-1", "public_key": issuer_key().public_key().to_base64()}]}]},
        "policy": {"allow_self_issued": false, "min_tier": "L1"},
        "signing_key": {"seed_hex": gate_key().to_seed_hex().as_str(), "key_id": "gate-1"},
        "operators": [{"key_id": "op-1", "public_key": operator_key().public_key().to_base64()}],
        "anonymous": {"enabled": true, "allowed_actions": ["docs:*"]},
        "hold_ttl_seconds": 120
    });
    let g = Gate::new(GateConfig::from_json(text.to_string().as_bytes(), "gate.json").unwrap())
        .unwrap();
    let d = g.check_at(
        &req(&passport(json!({"a:b": {}})), "a:b").nonce("n", T0),
        at(T0),
    );
    assert!(d.is_allowed(), "{d:?}");
    assert_eq!(g.attestation_key().unwrap().0, "gate-1");
}

// ------------------------------------------------------------------------------------------
// Concurrency
// ------------------------------------------------------------------------------------------

#[test]
fn concurrent_checks_respect_the_cap_and_keep_chains_contiguous() {
    let g = Arc::new(gate(Profile::L1));
    let pp = passport(
        json!({"buy:*": {"core:cost:max_cumulative": 10000, "core:rate:max_per_minute": 1000}}),
    );
    let threads = 8;
    let per = 50;
    let results: Vec<Vec<GateDecision>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                let g = g.clone();
                let pp = pp.clone();
                s.spawn(move || {
                    (0..per)
                        .map(|_| g.check_at(&req(&pp, "buy:x").cost(100), at(T0)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<&GateDecision> = results.iter().flatten().collect();
    let allowed = all.iter().filter(|d| d.is_allowed()).count();
    assert_eq!(allowed, 100, "exactly 10000 / 100 actions fit");
    assert!(all
        .iter()
        .filter(|d| !d.is_allowed())
        .all(|d| reason(d) == "core:cost:max_cumulative"));
    // Sequences 1..=400, each once, and the chain verifies in sequence order.
    let mut recs = records(&all);
    recs.sort_by_key(|r| r.body().sequence);
    let seqs: Vec<u64> = recs.iter().map(|r| r.body().sequence).collect();
    assert_eq!(seqs, (1..=(threads * per) as u64).collect::<Vec<_>>());
    let report = verify_records(
        recs.iter(),
        modei_core::attestation::LogVerifier::new(&gate_keys()),
    );
    assert!(report.is_ok(), "{:?}", report.to_value());
    assert_eq!(g.with_log(|l| l.len()), Some((threads * per) as u64));
}

// ------------------------------------------------------------------------------------------
// Replicas sharing one state store: one chain per passport across them
// ------------------------------------------------------------------------------------------

/// A replica's log the test can read afterwards.
#[derive(Clone, Default)]
struct Segment(Arc<Mutex<modei_core::attestation::MemoryLog>>);

impl modei_core::attestation::AttestationLog for Segment {
    fn head(&self, g: &str, p: &str) -> modei_core::attestation::ChainHead {
        self.0.lock().unwrap().head(g, p)
    }
    fn append(&mut self, r: &Attestation) -> modei_core::Result<()> {
        self.0.lock().unwrap().append(r)
    }
    fn append_shared(&mut self, r: &Attestation) -> modei_core::Result<()> {
        self.0.lock().unwrap().append_shared(r)
    }
    fn len(&self) -> u64 {
        self.0.lock().unwrap().len()
    }
    fn log_head(&self) -> modei_core::attestation::ChainHead {
        self.0.lock().unwrap().log_head()
    }
}

fn replica(state: Arc<dyn modei_core::state::StateStore>, shared: bool) -> (Gate, Segment) {
    let log = Segment::default();
    let mut cfg = config(Profile::L1);
    cfg.state = state;
    cfg.shared_chains = shared;
    cfg.checkpoints = false;
    cfg.log = Box::new(log.clone());
    (Gate::new(cfg).unwrap(), log)
}

fn segment(log: &Segment) -> Vec<Attestation> {
    log.0.lock().unwrap().records().to_vec()
}

#[test]
fn replicas_with_shared_chains_extend_one_chain() {
    let state: Arc<dyn modei_core::state::StateStore> =
        Arc::new(modei_core::state::MemoryStateStore::new());
    let (gates, logs): (Vec<Arc<Gate>>, Vec<Segment>) = (0..3)
        .map(|_| {
            let (g, l) = replica(state.clone(), true);
            (Arc::new(g), l)
        })
        .unzip();
    let pp = passport(json!({"docs:*": {}}));
    // Three replicas, two threads each, deciding for one passport at once.
    std::thread::scope(|s| {
        for g in &gates {
            for _ in 0..2 {
                let (g, pp) = (g.clone(), pp.clone());
                s.spawn(move || {
                    for _ in 0..25 {
                        let d = g.check_at(&req(&pp, "docs:read"), at(T0));
                        assert!(d.is_allowed(), "{d:?}");
                    }
                });
            }
        }
    });
    let mut all: Vec<Attestation> = logs.iter().flat_map(segment).collect();
    for l in &logs {
        let own = segment(l);
        assert!(
            !own.is_empty() && own.len() < 150,
            "each replica holds a segment"
        );
    }
    all.sort_by_key(|r| r.body().sequence);
    let seqs: Vec<u64> = all.iter().map(|r| r.body().sequence).collect();
    assert_eq!(
        seqs,
        (1..=150).collect::<Vec<_>>(),
        "contiguous, none twice"
    );
    let keys = gate_keys();
    let report = verify_records(&all, modei_core::attestation::LogVerifier::new(&keys));
    assert!(report.first_error.is_none(), "{:?}", report.first_error);
    assert_eq!(report.records, 150);
    assert_eq!(report.passports, 1);
}

/// A shared store where another replica wins the race for a chain's head the first `losses`
/// times (`commit_head` refuses without moving it; `usize::MAX`: always).
struct Contended {
    inner: modei_core::state::MemoryStateStore,
    losses: std::sync::atomic::AtomicUsize,
}

impl Contended {
    fn new(losses: usize) -> Self {
        Contended {
            inner: Default::default(),
            losses: losses.into(),
        }
    }
}

impl modei_core::state::StateStore for Contended {
    fn snapshot(
        &self,
        s: &str,
        c: &str,
        now: Timestamp,
    ) -> modei_core::Result<modei_core::state::StateSnapshot> {
        self.inner.snapshot(s, c, now)
    }
    fn check_and_commit(
        &self,
        r: &modei_core::state::Reservation,
    ) -> modei_core::Result<modei_core::state::CommitOutcome> {
        self.inner.check_and_commit(r)
    }
    fn release_hold(&self, s: &str, h: &str, now: Timestamp) -> modei_core::Result<bool> {
        self.inner.release_hold(s, h, now)
    }
    fn commit_hold(&self, s: &str, h: &str, now: Timestamp) -> modei_core::Result<bool> {
        self.inner.commit_hold(s, h, now)
    }
    fn next_sequence(&self, c: &str, e: Option<u64>) -> modei_core::Result<(u64, Option<String>)> {
        self.inner.next_sequence(c, e)
    }
    fn commit_head(&self, c: &str, seq: u64, hash: &str) -> modei_core::Result<bool> {
        use std::sync::atomic::Ordering::SeqCst;
        match self
            .losses
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
        {
            Ok(_) => Ok(false),
            Err(_) => self.inner.commit_head(c, seq, hash),
        }
    }
    fn check_nonce(
        &self,
        s: &str,
        n: &str,
        now: Timestamp,
        exp: Timestamp,
    ) -> modei_core::Result<bool> {
        self.inner.check_nonce(s, n, now, exp)
    }
    fn record_heartbeat(&self, s: &str, at: Timestamp) -> modei_core::Result<()> {
        self.inner.record_heartbeat(s, at)
    }
    fn last_heartbeat(&self, s: &str) -> modei_core::Result<Option<Timestamp>> {
        self.inner.last_heartbeat(s)
    }
}

#[test]
fn a_replica_that_keeps_losing_the_chain_head_retries_then_fails_closed() {
    let pp = passport(json!({"docs:*": {}}));
    // Twenty lost races in a row (a loaded host): still attested, as sequence 1.
    let (g, log) = replica(Arc::new(Contended::new(20)), true);
    let d = g.check_at(&req(&pp, "docs:read"), at(T0));
    assert!(d.is_allowed(), "{d:?}");
    let seqs: Vec<u64> = segment(&log).iter().map(|r| r.body().sequence).collect();
    assert_eq!(seqs, [1]);
    // Never winning: a block, nothing logged.
    let (g, log) = replica(Arc::new(Contended::new(usize::MAX)), true);
    let d = g.check_at(&req(&pp, "docs:read"), at(T0));
    assert_eq!(d.decision, Decision::Block);
    assert_eq!(reason(&d), "state_unavailable");
    assert!(
        d.detail.as_deref().unwrap_or("").contains("32 attempts"),
        "{d:?}"
    );
    assert!(segment(&log).is_empty());
}

#[test]
fn replicas_without_shared_chains_fork() {
    // The default (heads from each replica's own log): two replicas both write sequence 1.
    // This is why `shared_chains` exists; the merged logs do not verify as one chain.
    let state: Arc<dyn modei_core::state::StateStore> =
        Arc::new(modei_core::state::MemoryStateStore::new());
    let ((a, la), (b, lb)) = (replica(state.clone(), false), replica(state, false));
    let pp = passport(json!({"docs:*": {}}));
    assert!(a.check_at(&req(&pp, "docs:read"), at(T0)).is_allowed());
    assert!(b.check_at(&req(&pp, "docs:read"), at(T0)).is_allowed());
    let mut all = segment(&la);
    all.extend(segment(&lb));
    let keys = gate_keys();
    let report = verify_records(&all, modei_core::attestation::LogVerifier::new(&keys));
    let (_, e) = report.first_error.expect("a fork");
    assert_eq!(e.code().as_str(), "attestation_fork", "{e:?}");
}

#[test]
fn a_replica_log_that_cannot_hold_segments_fails_closed() {
    struct WholeChainsOnly(modei_core::attestation::MemoryLog);
    impl modei_core::attestation::AttestationLog for WholeChainsOnly {
        fn head(&self, g: &str, p: &str) -> modei_core::attestation::ChainHead {
            self.0.head(g, p)
        }
        fn append(&mut self, r: &Attestation) -> modei_core::Result<()> {
            self.0.append(r)
        }
        fn len(&self) -> u64 {
            self.0.len()
        }
        fn log_head(&self) -> modei_core::attestation::ChainHead {
            self.0.log_head()
        }
    }
    let mut cfg = config(Profile::L1);
    cfg.shared_chains = true;
    cfg.log = Box::new(WholeChainsOnly(Default::default()));
    let g = Gate::new(cfg).unwrap();
    let pp = passport(json!({"docs:*": {}}));
    let d = g.check_at(&req(&pp, "docs:read"), at(T0));
    assert_eq!(d.decision, Decision::Block);
    assert_eq!(reason(&d), "invalid_argument");
    assert!(d
        .detail
        .as_deref()
        .unwrap_or("")
        .contains("could not be attested"));
}

#[test]
fn a_hold_made_at_one_replica_is_approved_at_another_once() {
    let state: Arc<dyn modei_core::state::StateStore> =
        Arc::new(modei_core::state::MemoryStateStore::new());
    let ((a, _), (b, _)) = (replica(state.clone(), true), replica(state, true));
    let pp = passport(
        json!({"pay:send": {"core:cost:approval_threshold": 5000, "core:cost:max_cumulative": 10000}}),
    );
    let r = req(&pp, "pay:send").cost(6000);
    let held = a.check_at(&r, at(T0));
    assert_eq!(held.decision, Decision::RequestHold);
    // The reservation is shared: at B, 6000 + 4001 > 10000 already.
    assert_eq!(
        reason(&b.check_at(&req(&pp, "pay:send").cost(4001), at(T0 + 1))),
        "core:cost:max_cumulative"
    );
    let mut again = r.clone();
    again.approval = Some(approve(&held, ApprovalDecision::Approved, T0 + MIN));
    // Approved at B, which never saw the hold.
    let ok = b.check_at(&again, at(T0 + MIN));
    assert_eq!(ok.decision, Decision::Allow, "{ok:?}");
    assert_eq!(ok.recorded_as, Recorded::Approved);
    // The same approval at A (which still lists the hold) finds the reservation gone: once only.
    let twice = a.check_at(&again, at(T0 + MIN + 1));
    assert_eq!(twice.decision, Decision::Block, "{twice:?}");
    assert_eq!(reason(&twice), "hold_expired");
    // A forged hold id is not found anywhere.
    let mut forged = r.clone();
    let mut ap = approve(&held, ApprovalDecision::Approved, T0 + MIN);
    ap.hold_id = "appr_000000000000000000000000".into();
    forged.approval = Some(ap);
    assert_ne!(b.check_at(&forged, at(T0 + MIN)).decision, Decision::Allow);
}

#[cfg(feature = "shared-sets")]
#[test]
fn passports_with_equal_constraints_share_one_prepared_set_and_never_another() {
    let g = gate(Profile::L1);
    let c = |cap: i64| json!({"search:*": {"core:cost:max_per_action": cap, "core:scope:domain_allowlist": ["*.example.com"]}});
    let a = passport_with(c(100), |i| i.passport_id = "pp_a".into());
    let b = passport_with(c(100), |i| i.passport_id = "pp_b".into());
    let tighter = passport_with(c(10), |i| i.passport_id = "pp_c".into());
    let check = |pp: &str, cost: i64| {
        g.check_at(
            &req(pp, "search:run")
                .target("https://api.example.com/x")
                .cost(cost),
            at(T0),
        )
    };
    let (da, db, dc) = (check(&a, 50), check(&b, 50), check(&tighter, 50));
    assert!(da.is_allowed() && db.is_allowed(), "{da:?} {db:?}");
    assert_eq!(da.passport_id.as_deref(), Some("pp_a"));
    assert_eq!(db.passport_id.as_deref(), Some("pp_b"));
    // One prepared set for the two equal passports; the third keeps its own, tighter terms.
    assert!(Arc::ptr_eq(
        &da.effective_constraints,
        &db.effective_constraints
    ));
    assert!(!Arc::ptr_eq(
        &da.effective_constraints,
        &dc.effective_constraints
    ));
    assert_eq!(reason(&dc), "core:cost:max_per_action");
    assert_eq!(
        dc.effective_constraints["core:cost:max_per_action"],
        json!(10)
    );
    // And the shared set still enforces per passport (its own target, its own cost).
    assert_eq!(reason(&check(&b, 101)), "core:cost:max_per_action");
    assert!(check(&a, 100).is_allowed());
}

#[cfg(feature = "shared-sets")]
#[test]
fn pinned_passports_share_a_merged_set_only_with_the_same_constraints() {
    let cats = catalogs();
    let v2_hash = cats.get(2).unwrap().content_hash().to_owned();
    let g = Gate::new(config(Profile::L1).with_catalogs(cats)).unwrap();
    let perms = |cap: i64| json!({"search:run": {"core:cost:max_per_action": cap}});
    let pin = |cap: i64, id: &str| {
        passport_with(perms(cap), |i| {
            i.passport_id = id.into();
            i.catalog = Some(modei_core::jwt::CatalogPin {
                gate_id: Some("gate_test".into()),
                version: Some(2),
                content_hash: Some(format!("sha256:{v2_hash}")),
            })
        })
    };
    let d1 = g.check_at(&req(&pin(80, "pp_alpha"), "search:run").cost(40), at(T0));
    let d2 = g.check_at(&req(&pin(80, "pp_beta"), "search:run").cost(40), at(T0));
    let d3 = g.check_at(&req(&pin(30, "pp_gamma"), "search:run").cost(40), at(T0));
    assert!(d1.is_allowed() && d2.is_allowed(), "{d1:?} {d2:?}");
    assert!(Arc::ptr_eq(
        &d1.effective_constraints,
        &d2.effective_constraints
    ));
    // The catalog's 50 is tighter than 80; 30 is tighter than the catalog's.
    assert_eq!(
        d1.effective_constraints["core:cost:max_per_action"],
        json!(50)
    );
    assert_eq!(
        d3.effective_constraints["core:cost:max_per_action"],
        json!(30)
    );
    assert_eq!(reason(&d3), "core:cost:max_per_action");
    assert_eq!(
        d2.effective_constraints["core:pricing:per_call_cents"],
        json!(3)
    );
}

/// The JSON form's `heartbeat` lands in the store the gate is built with, also when the host
/// sets the store after parsing (as the bindings do for Redis): it was once written into the
/// default in-memory store at parse time and lost.
#[test]
fn config_heartbeat_goes_to_the_final_state_store() {
    use modei_core::state::{MemoryStateStore, StateStore};
    let cfg = GateConfig::from_value(
        &json!({"gate_id": "gate_hb", "heartbeat": "2026-03-02T12:00:00Z"}),
        "gate.json",
    )
    .unwrap();
    let store = Arc::new(MemoryStateStore::new());
    assert_eq!(store.last_heartbeat("gate_hb").unwrap(), None);
    let _gate = Gate::new(cfg.with_state(store.clone())).unwrap();
    assert_eq!(
        store.last_heartbeat("gate_hb").unwrap(),
        Some(Timestamp::parse_rfc3339("2026-03-02T12:00:00Z").unwrap())
    );
}
