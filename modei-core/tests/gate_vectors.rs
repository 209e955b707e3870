//! Gate vectors (`testvectors/gate/vectors.json`): passport + config + request + clock + prior
//! requests → decision, reason, evaluations. Built from fixed seeds and clocks by `generate`;
//! the expectations are written here by hand (what each vector was built to show), never read
//! back from the gate.
//!
//! `files_match_the_generator` regenerates in memory and asserts the files are byte-identical
//! (no drift); `vectors_decide_as_recorded` runs every vector from the file alone, as the
//! bindings will. Rewrite with `MODEI_REGENERATE=1 cargo test -p modei-core --test gate_vectors`.

mod common;
use modei_core::envelope::Permission;
use modei_core::gate::{Gate, GateConfig, GateRequest};
use modei_core::keys::SigningKey;
use modei_core::passport::JwtIssue;
use modei_core::time::{FixedClock, Timestamp};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// 2026-03-02T00:00:00Z, a Monday.
const T0: i64 = 1_772_409_600_000;
const NOW: &str = "2026-03-02T12:00:30.000Z";
const NOW_MS: i64 = T0 + 12 * 3_600_000 + 30_000;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testvectors/gate")
}

/// Seed `i`: 32 bytes `0x60 + i`, distinct from the other vector sets' seeds.
fn key(i: u8) -> SigningKey {
    SigningKey::from_seed(&[0x60 + i; 32])
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn base_config(profile: &str) -> Value {
    json!({
        "gate_id": "gate_vectors",
        "profile": profile,
        "trust_store": {"version": 1, "issuers": [{"id": "acme", "type": "organization", "tier": "L2",
            "keys": [{"kid": "acme-1", "public_key": key(1).public_key().to_base64()}]}]},
        "signing_key": {"seed_hex": key(3).to_seed_hex().as_str(), "key_id": "gate-1"},
        "operators": [{"key_id": "op-1", "public_key": key(4).public_key().to_base64()}],
        "anonymous": {"enabled": true, "allowed_actions": ["docs:*"], "blocked_actions": ["docs:admin"],
                      "rate_limit_per_minute": 2, "upgrade_url": "https://example.com/passport"},
        "checkpoints": false
    })
}

fn passport(perms: Value, exp_ms: i64, aud: &[&str]) -> String {
    let mut iss = JwtIssue::new(
        "pp_vec",
        "agent_vec",
        key(2).public_key(),
        Timestamp::from_unix_millis(T0),
        Timestamp::from_unix_millis(exp_ms),
    );
    iss.permissions = obj(perms)
        .into_iter()
        .map(|(k, c)| Permission {
            permission_key: k,
            constraints: obj(c).into(),
        })
        .collect();
    iss.audience = aud.iter().map(|s| s.to_string()).collect();
    iss.issue("acme", "acme-1", &key(1)).unwrap_or_default()
}

fn day_passport(perms: Value) -> String {
    passport(perms, T0 + 86_400_000, &[])
}

struct V {
    name: &'static str,
    about: &'static str,
    profile: &'static str,
    passport: Option<String>,
    request: Value,
    prior: Vec<(i64, Value)>,
    decision: &'static str,
    reason: Option<&'static str>,
    evaluations: Vec<(&'static str, &'static str)>,
    /// The config's `catalogs`, if any.
    catalogs: Option<Value>,
}

fn v(name: &'static str, about: &'static str, passport: Option<String>, request: Value) -> V {
    V {
        name,
        about,
        profile: "L1",
        passport,
        request,
        prior: vec![],
        decision: "allow",
        reason: None,
        evaluations: vec![],
        catalogs: None,
    }
}

impl V {
    fn expect(
        mut self,
        decision: &'static str,
        reason: Option<&'static str>,
        evals: &[(&'static str, &'static str)],
    ) -> V {
        self.decision = decision;
        self.reason = reason;
        self.evaluations = evals.to_vec();
        self
    }
    fn prior(mut self, at_ms: i64, request: Value, times: usize) -> V {
        for _ in 0..times {
            self.prior.push((at_ms, request.clone()));
        }
        self
    }
    fn profile(mut self, p: &'static str) -> V {
        self.profile = p;
        self
    }
    fn catalogs(mut self, c: Value) -> V {
        self.catalogs = Some(c);
        self
    }
}

/// Catalog version 1 of the vector gate, signed with its key: `search:flights` may cost 100
/// per action, `search:hotels` 10.
fn catalog_v1() -> Value {
    use modei_core::catalog::{Catalog, CatalogDraft};
    let perm = |k: &str, max: i64| {
        common::catalog_permission(k, 1, json!({ "core:cost:max_per_action": max }))
    };
    let draft = CatalogDraft {
        gate_id: "gate_vectors".into(),
        version: 1,
        min_compatible_version: 1,
        published_at: Timestamp::from_unix_millis(T0),
        effective_at: Timestamp::from_unix_millis(T0),
        change_summary: None,
        permissions: vec![perm("search:flights", 100), perm("search:hotels", 10)],
    };
    let signer = modei_core::attestation::Attestor::new("gate_vectors", "gate-1", key(3)).unwrap();
    let cat = Catalog::publish(draft, &signer).unwrap();
    serde_json::from_slice(&cat.to_json()).unwrap()
}

/// A day passport pinning catalog version 1.
fn pinned_passport(perms: Value) -> String {
    let mut iss = JwtIssue::new(
        "pp_vec",
        "agent_vec",
        key(2).public_key(),
        Timestamp::from_unix_millis(T0),
        Timestamp::from_unix_millis(T0 + 86_400_000),
    );
    iss.permissions = obj(perms)
        .into_iter()
        .map(|(k, c)| Permission::new(k, obj(c)))
        .collect();
    iss.catalog = Some(modei_core::jwt::CatalogPin {
        gate_id: Some("gate_vectors".into()),
        version: Some(1),
        content_hash: None,
    });
    iss.issue("acme", "acme-1", &key(1)).unwrap_or_default()
}

fn rfc(ms: i64) -> String {
    Timestamp::from_unix_millis(ms)
        .to_rfc3339_millis()
        .unwrap_or_default()
}

fn cases() -> Vec<V> {
    let rate = day_passport(json!({"api:*": {"core:rate:max_per_minute": 3}}));
    let cost = day_passport(
        json!({"buy:*": {"core:cost:max_per_action": 500, "core:cost:max_cumulative": 10000, "core:cost:approval_threshold": 2000}}),
    );
    let order = day_passport(json!({"*": {
        "core:scope:action_blocklist": ["db:drop"],
        "core:rate:max_per_day": 100,
        "core:cost:approval_threshold": 100,
        "core:cel:rules": [{"expr": "request.cost_cents < 1000", "message": "CEL cap"}]
    }}));
    let hours = day_passport(
        json!({"ops:*": {"core:time:operating_hours": {"start": "09:00", "end": "12:00", "timezone": "UTC"}}}),
    );
    let domains =
        day_passport(json!({"web:*": {"core:scope:domain_allowlist": ["*.example.com"]}}));
    let r = |action: &str| json!({"action": action});
    let rc = |action: &str, c: i64| json!({"action": action, "cost_cents": c});
    let s = |x: &str| Some(x.to_string());
    vec![
        v(
            "allow_exact",
            "an exact permission with no constraints",
            s(&day_passport(json!({"a:b": {}}))),
            r("a:b"),
        ),
        v(
            "permission_not_granted",
            "no key covers the action",
            s(&day_passport(json!({"a:b": {}}))),
            r("a:c"),
        )
        .expect("block", Some("permission_not_granted"), &[]),
        v(
            "prefix_does_not_cover_bare",
            "`api:*` does not cover `api`",
            Some(rate.clone()),
            r("api"),
        )
        .expect("block", Some("permission_not_granted"), &[]),
        v(
            "expired_at_leeway_edge",
            "expired exactly 30 s ago: the leeway is exclusive",
            s(&passport(json!({"a:b": {}}), NOW_MS - 30_000, &[])),
            r("a:b"),
        )
        .expect("block", Some("passport_expired"), &[]),
        v(
            "expired_within_leeway",
            "expired 29 s ago: inside the 30 s leeway",
            s(&passport(json!({"a:b": {}}), NOW_MS - 29_000, &[])),
            r("a:b"),
        ),
        v(
            "audience_mismatch",
            "the passport is for another gate",
            s(&passport(
                json!({"a:b": {}}),
                T0 + 86_400_000,
                &["gate_other"],
            )),
            r("a:b"),
        )
        .expect("block", Some("audience_mismatch"), &[]),
        v(
            "audience_match",
            "the passport names this gate",
            s(&passport(
                json!({"a:b": {}}),
                T0 + 86_400_000,
                &["gate_other", "gate_vectors"],
            )),
            r("a:b"),
        ),
        v("garbage_passport", "not a token", s("x.y.z"), r("a:b")).expect(
            "block",
            Some("jwt_malformed"),
            &[],
        ),
        v(
            "rate_third_in_minute",
            "limit 3, two earlier this minute: allowed",
            Some(rate.clone()),
            r("api:get"),
        )
        .prior(NOW_MS - 1000, r("api:get"), 2)
        .expect("allow", None, &[("core:rate:max_per_minute", "allow")]),
        v(
            "rate_fourth_in_minute",
            "limit 3, three earlier this minute: blocked",
            Some(rate.clone()),
            r("api:get"),
        )
        .prior(NOW_MS - 1000, r("api:get"), 3)
        .expect(
            "block",
            Some("core:rate:max_per_minute"),
            &[("core:rate:max_per_minute", "block")],
        ),
        v(
            "rate_new_minute",
            "three in the previous UTC minute do not count",
            Some(rate.clone()),
            r("api:get"),
        )
        .prior(NOW_MS - 30_001, r("api:get"), 3)
        .expect("allow", None, &[("core:rate:max_per_minute", "allow")]),
        v(
            "cost_at_max_per_action",
            "cost equal to max_per_action is allowed",
            Some(cost.clone()),
            rc("buy:x", 500),
        )
        .expect(
            "allow",
            None,
            &[
                ("core:cost:max_per_action", "allow"),
                ("core:cost:max_cumulative", "allow"),
                ("core:cost:approval_threshold", "allow"),
            ],
        ),
        v(
            "cost_over_max_per_action",
            "one cent over blocks; evaluation stops",
            Some(cost.clone()),
            rc("buy:x", 501),
        )
        .expect(
            "block",
            Some("core:cost:max_per_action"),
            &[("core:cost:max_per_action", "block")],
        ),
        v(
            "cumulative_to_the_cap",
            "9500 spent today + 500 = the cap: allowed",
            Some(cost.clone()),
            rc("buy:x", 500),
        )
        .prior(NOW_MS - 3_600_000, rc("buy:x", 500), 19)
        .expect(
            "allow",
            None,
            &[
                ("core:cost:max_per_action", "allow"),
                ("core:cost:max_cumulative", "allow"),
                ("core:cost:approval_threshold", "allow"),
            ],
        ),
        v(
            "cumulative_over_the_cap",
            "10000 spent today + 1: blocked",
            Some(cost.clone()),
            rc("buy:x", 1),
        )
        .prior(NOW_MS - 3_600_000, rc("buy:x", 500), 20)
        .expect(
            "block",
            Some("core:cost:max_cumulative"),
            &[
                ("core:cost:max_per_action", "allow"),
                ("core:cost:max_cumulative", "block"),
            ],
        ),
        v(
            "cumulative_yesterday",
            "yesterday's spend does not count",
            Some(cost.clone()),
            rc("buy:x", 500),
        )
        .prior(NOW_MS - 13 * 3_600_000, rc("buy:x", 500), 1)
        .expect(
            "allow",
            None,
            &[
                ("core:cost:max_per_action", "allow"),
                ("core:cost:max_cumulative", "allow"),
                ("core:cost:approval_threshold", "allow"),
            ],
        ),
        v(
            "order_block_ends_evaluation",
            "the blocklist blocks first; nothing after it runs",
            Some(order.clone()),
            r("db:drop"),
        )
        .expect(
            "block",
            Some("core:scope:action_blocklist"),
            &[("core:scope:action_blocklist", "block")],
        ),
        v(
            "order_hold_continues",
            "a hold is recorded and evaluation goes on",
            Some(order.clone()),
            rc("db:write", 500),
        )
        .expect(
            "request_hold",
            Some("core:cost:approval_threshold"),
            &[
                ("core:scope:action_blocklist", "allow"),
                ("core:rate:max_per_day", "allow"),
                ("core:cost:approval_threshold", "request_hold"),
                ("core:cel:rules", "allow"),
            ],
        ),
        v(
            "order_block_after_hold",
            "a later block beats an earlier hold",
            Some(order.clone()),
            rc("db:write", 1000),
        )
        .expect(
            "block",
            Some("core:cel:rules"),
            &[
                ("core:scope:action_blocklist", "allow"),
                ("core:rate:max_per_day", "allow"),
                ("core:cost:approval_threshold", "request_hold"),
                ("core:cel:rules", "block"),
            ],
        ),
        v(
            "hours_end_exclusive",
            "12:00:30 is outside 09:00-12:00 (end exclusive)",
            Some(hours.clone()),
            r("ops:restart"),
        )
        .expect(
            "block",
            Some("core:time:operating_hours"),
            &[("core:time:operating_hours", "block")],
        ),
        v(
            "domain_subdomain",
            "*.example.com covers api.example.com",
            Some(domains.clone()),
            json!({"action": "web:get", "target": "https://API.example.com:443/x"}),
        )
        .expect("allow", None, &[("core:scope:domain_allowlist", "allow")]),
        v(
            "domain_other",
            "*.example.com does not cover example.org",
            Some(domains.clone()),
            json!({"action": "web:get", "target": "https://example.org/"}),
        )
        .expect(
            "block",
            Some("core:scope:domain_allowlist"),
            &[("core:scope:domain_allowlist", "block")],
        ),
        v(
            "l2_nonce_required",
            "L2 without a nonce",
            s(&day_passport(json!({"a:b": {}}))),
            r("a:b"),
        )
        .profile("L2")
        .expect("block", Some("request_invalid"), &[]),
        v(
            "l2_nonce_replayed",
            "L2, the nonce was used a minute ago",
            s(&day_passport(json!({"a:b": {}}))),
            json!({"action": "a:b", "nonce": "n-1", "timestamp": NOW_MS}),
        )
        .profile("L2")
        .prior(
            NOW_MS - 60_000,
            json!({"action": "a:b", "nonce": "n-1", "timestamp": NOW_MS - 60_000}),
            1,
        )
        .expect("block", Some("replay_detected"), &[]),
        v(
            "l2_timestamp_edge",
            "L2, timestamp exactly 5 minutes old: inside",
            s(&day_passport(json!({"a:b": {}}))),
            json!({"action": "a:b", "nonce": "n-2", "timestamp": NOW_MS - 300_000}),
        )
        .profile("L2"),
        v(
            "l2_timestamp_stale",
            "L2, 5 minutes and 1 ms old",
            s(&day_passport(json!({"a:b": {}}))),
            json!({"action": "a:b", "nonce": "n-3", "timestamp": NOW_MS - 300_001}),
        )
        .profile("L2")
        .expect("block", Some("replay_detected"), &[]),
        v(
            "anonymous_allowed",
            "no passport, an allowed action",
            None,
            json!({"action": "docs:read", "client_id": "c1"}),
        )
        .expect(
            "allow",
            None,
            &[
                ("core:data:read_only", "allow"),
                ("core:rate:max_per_minute", "allow"),
                ("core:rate:max_per_hour", "allow"),
            ],
        ),
        v(
            "anonymous_blocked_action",
            "blocked_actions wins over allowed_actions",
            None,
            json!({"action": "docs:admin", "client_id": "c1"}),
        )
        .expect("block", Some("anonymous_not_allowed"), &[]),
        v(
            "anonymous_rate",
            "anonymous limit 2 per minute per client",
            None,
            json!({"action": "docs:read", "client_id": "c1"}),
        )
        .prior(
            NOW_MS - 10,
            json!({"action": "docs:read", "client_id": "c1"}),
            2,
        )
        .expect(
            "block",
            Some("core:rate:max_per_minute"),
            &[
                ("core:data:read_only", "allow"),
                ("core:rate:max_per_minute", "block"),
            ],
        ),
        v(
            "anonymous_other_client",
            "another client has its own bucket",
            None,
            json!({"action": "docs:read", "client_id": "c2"}),
        )
        .prior(
            NOW_MS - 10,
            json!({"action": "docs:read", "client_id": "c1"}),
            2,
        )
        .expect(
            "allow",
            None,
            &[
                ("core:data:read_only", "allow"),
                ("core:rate:max_per_minute", "allow"),
                ("core:rate:max_per_hour", "allow"),
            ],
        ),
        v(
            "invalid_passport_not_downgraded",
            "an invalid passport never becomes anonymous",
            s("x.y.z"),
            json!({"action": "docs:read", "client_id": "c1"}),
        )
        .expect("block", Some("jwt_malformed"), &[]),
        v(
            "catalog_entry_per_action",
            "`search:*` covers two catalog entries: after `search:flights` (limit 100) was allowed, `search:hotels` is held to its own limit of 10",
            s(&pinned_passport(
                json!({"search:*": {"core:cost:max_per_action": 1000}}),
            )),
            rc("search:hotels", 50),
        )
        .catalogs(json!([catalog_v1()]))
        .prior(NOW_MS - 1000, rc("search:flights", 50), 1)
        .expect(
            "block",
            Some("core:cost:max_per_action"),
            &[("core:cost:max_per_action", "block")],
        ),
        v(
            "catalog_entry_allows",
            "the same passport within `search:flights`' catalog limit of 100",
            s(&pinned_passport(
                json!({"search:*": {"core:cost:max_per_action": 1000}}),
            )),
            rc("search:flights", 50),
        )
        .catalogs(json!([catalog_v1()]))
        .prior(NOW_MS - 1000, rc("search:hotels", 5), 1)
        .expect("allow", None, &[("core:cost:max_per_action", "allow")]),
    ]
}

fn generate() -> BTreeMap<String, Vec<u8>> {
    let vectors: Vec<Value> = cases()
        .into_iter()
        .map(|c| {
            let mut request = c.request.clone();
            if let Some(p) = &c.passport {
                request["passport"] = json!(p);
            }
            let mut config = base_config(c.profile);
            if let Some(cats) = &c.catalogs {
                config["catalogs"] = cats.clone();
            }
            let prior: Vec<Value> = c
                .prior
                .iter()
                .map(|(t, r)| {
                    let mut r = r.clone();
                    if let (Some(p), None) = (&c.passport, r.get("client_id")) {
                        r["passport"] = json!(p);
                    }
                    json!({"now": rfc(*t), "request": r})
                })
                .collect();
            json!({
                "name": c.name,
                "about": c.about,
                "config": config,
                "now": NOW,
                "prior": prior,
                "request": request,
                "expect": {
                    "decision": c.decision,
                    "reason": c.reason,
                    "evaluations": c.evaluations.iter().map(|(k, o)| json!({"key": k, "outcome": o})).collect::<Vec<_>>(),
                }
            })
        })
        .collect();
    let doc = json!({
        "about": "Gate vectors: build the gate from `config` (docs/gate.md) with its clock fixed at `now`, replay each `prior` request at its own `now` (decisions discarded), then check `request`. `expect.evaluations` lists (key, outcome) in order; an empty list with a `block` means an earlier pipeline step decided. Generated by modei-core/tests/gate_vectors.rs from fixed seeds.",
        "vectors": vectors,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    let mut out = BTreeMap::new();
    out.insert("vectors.json".to_string(), text.into_bytes());
    out
}

#[test]
fn files_match_the_generator() {
    let files = generate();
    if std::env::var_os("MODEI_REGENERATE").is_some() {
        std::fs::create_dir_all(dir()).unwrap();
        for (name, bytes) in &files {
            std::fs::write(dir().join(name), bytes).unwrap();
        }
    }
    for (name, bytes) in &files {
        let on_disk = std::fs::read(dir().join(name)).unwrap_or_default();
        assert!(&on_disk == bytes, "testvectors/gate/{name} drifted from the generator: MODEI_REGENERATE=1 cargo test -p modei-core --test gate_vectors");
    }
}

#[test]
fn vectors_decide_as_recorded() {
    let doc: Value =
        serde_json::from_slice(&std::fs::read(dir().join("vectors.json")).unwrap()).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 30);
    for vec in vectors {
        let name = vec["name"].as_str().unwrap();
        let now = Timestamp::parse_rfc3339(vec["now"].as_str().unwrap()).unwrap();
        let mut cfg = GateConfig::from_value(&vec["config"], name).unwrap();
        cfg.clock = Arc::new(FixedClock(now));
        let gate = Gate::new(cfg).unwrap();
        for p in vec["prior"].as_array().unwrap() {
            let t = Timestamp::parse_rfc3339(p["now"].as_str().unwrap()).unwrap();
            let r: GateRequest = serde_json::from_value(p["request"].clone()).unwrap();
            gate.check_at(&r, t);
        }
        let r: GateRequest = serde_json::from_value(vec["request"].clone()).unwrap();
        let d = gate.check(&r).to_value();
        let e = &vec["expect"];
        assert_eq!(d["decision"], e["decision"], "{name}: {d}");
        assert_eq!(d["reason"], e["reason"], "{name}: {d}");
        let got: Vec<Value> = d["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| json!({"key": x["key"], "outcome": x["outcome"]}))
            .collect();
        assert_eq!(Value::Array(got), e["evaluations"], "{name}: {d}");
    }
}
