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
use modei_core::gate::{sign_pop, Gate, GateConfig, GateRequest};
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
    /// Earlier requests: (clock, request, checked as a dry run).
    prior: Vec<(i64, Value, bool)>,
    /// The vector's own request is checked as a dry run.
    dry_run: bool,
    decision: &'static str,
    reason: Option<&'static str>,
    evaluations: Vec<(&'static str, &'static str)>,
    /// The config's `catalogs`, if any.
    catalogs: Option<Value>,
    /// More config members (heartbeat, revocation, ...), merged over the base config.
    config: Option<Value>,
    /// Sign a proof of possession over the request with this seed (`key(i)`; 2 is the agent).
    pop_key: Option<u8>,
}

fn v(name: &'static str, about: &'static str, passport: Option<String>, request: Value) -> V {
    V {
        name,
        about,
        profile: "L1",
        passport,
        request,
        prior: vec![],
        dry_run: false,
        decision: "allow",
        reason: None,
        evaluations: vec![],
        catalogs: None,
        config: None,
        pop_key: None,
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
            self.prior.push((at_ms, request.clone(), false));
        }
        self
    }
    /// Earlier requests checked as dry runs (which must change nothing).
    fn prior_dry(mut self, at_ms: i64, request: Value, times: usize) -> V {
        for _ in 0..times {
            self.prior.push((at_ms, request.clone(), true));
        }
        self
    }
    fn dry_run(mut self) -> V {
        self.dry_run = true;
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
    fn config(mut self, members: Value) -> V {
        self.config = Some(members);
        self
    }
    fn pop(mut self, signer: u8) -> V {
        self.pop_key = Some(signer);
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
    .into_iter()
    .chain(safety_and_time())
    .chain(scope_and_data())
    .chain(rate_cost_approval())
    .chain(rules_and_keys())
    .chain(revocation_and_pop())
    .chain(envelope_form())
    .chain(dry_runs())
    .chain(jwt_delegation())
    .collect()
}

/// A day passport granting `perms`, as a request's passport.
fn day(perms: Value) -> Option<String> {
    Some(day_passport(perms))
}

fn r(action: &str) -> Value {
    json!({"action": action})
}

fn rc(action: &str, cost: i64) -> Value {
    json!({"action": action, "cost_cents": cost})
}

fn rt(action: &str, target: &str) -> Value {
    json!({"action": action, "target": target})
}

fn rm(action: &str, metadata: Value) -> Value {
    json!({"action": action, "metadata": metadata})
}

/// `core:safety:*` and `core:time:*` (docs/constraints.md § Safety, § Temporal).
fn safety_and_time() -> Vec<V> {
    const FC: &str = "core:safety:fail_closed";
    const AN: &str = "core:safety:anomaly_suspend";
    const OH: &str = "core:time:operating_hours";
    const BW: &str = "core:time:blackout_windows";
    let fail_closed = day(json!({"x:*": {FC: true}}));
    let anomaly = day(json!({"x:*": {AN: true}}));
    let hours = |h: Value| day(json!({"x:*": {OH: h}}));
    let blackout = |w: Value| day(json!({"x:*": {BW: [w]}}));
    vec![
        v(
            "fail_closed_no_heartbeat",
            "no heartbeat at all blocks",
            fail_closed.clone(),
            r("x:y"),
        )
        .expect("block", Some(FC), &[(FC, "block")]),
        v(
            "fail_closed_heartbeat_at_limit",
            "a heartbeat exactly 120 s old is fresh",
            fail_closed.clone(),
            r("x:y"),
        )
        .config(json!({"heartbeat": rfc(NOW_MS - 120_000)}))
        .expect("allow", None, &[(FC, "allow")]),
        v(
            "fail_closed_heartbeat_stale",
            "a heartbeat 120.001 s old blocks",
            fail_closed.clone(),
            r("x:y"),
        )
        .config(json!({"heartbeat": rfc(NOW_MS - 120_001)}))
        .expect("block", Some(FC), &[(FC, "block")]),
        v(
            "fail_closed_own_max_age",
            "max_age_seconds 10: a heartbeat 11 s old blocks",
            day(json!({"x:*": {FC: {"max_age_seconds": 10}}})),
            r("x:y"),
        )
        .config(json!({"heartbeat": rfc(NOW_MS - 11_000)}))
        .expect("block", Some(FC), &[(FC, "block")]),
        v(
            "anomaly_below_min_events",
            "nine actions in 5 minutes (this one included), no baseline: under min_events 10",
            anomaly.clone(),
            r("x:y"),
        )
        .prior(NOW_MS - 1000, r("x:y"), 8)
        .expect("allow", None, &[(AN, "allow")]),
        v(
            "anomaly_at_min_events",
            "the tenth action in 5 minutes against an empty baseline is held",
            anomaly.clone(),
            r("x:y"),
        )
        .prior(NOW_MS - 1000, r("x:y"), 9)
        .expect("request_hold", Some(AN), &[(AN, "request_hold")]),
        v(
            "hours_start_inclusive_new_york",
            "07:00-08:00 America/New_York; 12:00:30 UTC is 07:00:30 EST",
            hours(json!({"start": "07:00", "end": "08:00", "timezone": "America/New_York"})),
            r("x:y"),
        )
        .expect("allow", None, &[(OH, "allow")]),
        v(
            "hours_day_not_listed",
            "all day Tuesday and Wednesday; the clock is a Monday",
            hours(json!({"start": "00:00", "end": "24:00", "days": ["tue", "wed"]})),
            r("x:y"),
        )
        .expect("block", Some(OH), &[(OH, "block")]),
        v(
            "hours_overnight_from_sunday",
            "22:00-13:00 starting Sunday covers Monday 12:00:30",
            hours(json!({"start": "22:00", "end": "13:00", "days": ["sun"]})),
            r("x:y"),
        )
        .expect("allow", None, &[(OH, "allow")]),
        v(
            "hours_overnight_starts_monday",
            "22:00-13:00 on Mondays: Monday noon belongs to Sunday's window, not listed",
            hours(json!({"start": "22:00", "end": "13:00", "days": ["mon"]})),
            r("x:y"),
        )
        .expect("block", Some(OH), &[(OH, "block")]),
        v(
            "hours_any_of_list",
            "a list of schedules: inside any one allows",
            hours(json!([{"start": "01:00", "end": "02:00"}, {"start": "12:00", "end": "12:01"}])),
            r("x:y"),
        )
        .expect("allow", None, &[(OH, "allow")]),
        v(
            "blackout_end_exclusive",
            "a window ending at the clock does not cover it",
            blackout(json!({"start": "2026-03-02T12:00:00Z", "end": "2026-03-02T12:00:30Z"})),
            r("x:y"),
        )
        .expect("allow", None, &[(BW, "allow")]),
        v(
            "blackout_start_inclusive",
            "a window starting at the clock covers it",
            blackout(json!({"start": "2026-03-02T12:00:30Z", "end": "2026-03-02T13:00:00Z"})),
            r("x:y"),
        )
        .expect("block", Some(BW), &[(BW, "block")]),
        v(
            "blackout_recurring",
            "a daily 12:00-12:01 UTC blackout",
            blackout(json!({"start": "12:00", "end": "12:01", "timezone": "UTC"})),
            r("x:y"),
        )
        .expect("block", Some(BW), &[(BW, "block")]),
    ]
}

/// `core:scope:*`, `core:data:*` and target canonicalisation (§ Scope, § Data, § 5 Targets).
fn scope_and_data() -> Vec<V> {
    const AA: &str = "core:scope:action_allowlist";
    const AB: &str = "core:scope:action_blocklist";
    const DA: &str = "core:scope:domain_allowlist";
    const DB: &str = "core:scope:domain_blocklist";
    const RO: &str = "core:data:read_only";
    const PII: &str = "core:data:no_pii_export";
    let allow_read = day(json!({"*": {AA: ["mail:read"]}}));
    let evil = day(json!({"web:*": {DB: ["evil.com"]}}));
    let sub = day(json!({"web:*": {DA: ["*.example.com"]}}));
    let read_only = day(json!({"*": {RO: true}}));
    let pii = day(json!({"*": {PII: true}}));
    vec![
        v(
            "action_allowlist_case_folded",
            "`Mail:Read` is compared lowercased",
            allow_read.clone(),
            r("Mail:Read"),
        )
        .expect("allow", None, &[(AA, "allow")]),
        v(
            "action_allowlist_other",
            "an action not on the allowlist",
            allow_read.clone(),
            r("mail:send"),
        )
        .expect("block", Some(AA), &[(AA, "block")]),
        v(
            "blocklist_beats_allowlist",
            "the blocklist runs first",
            day(json!({"*": {AA: ["mail:read"], AB: ["mail:*"]}})),
            r("mail:read"),
        )
        .expect("block", Some(AB), &[(AB, "block")]),
        v(
            "domain_blocklist_canonical",
            "`EVIL.com.:443` is evil.com",
            evil.clone(),
            rt("web:get", "https://EVIL.com.:443/x"),
        )
        .expect("block", Some(DB), &[(DB, "block")]),
        v(
            "domain_blocklist_exact_only",
            "`evil.com` does not name its subdomains",
            evil.clone(),
            rt("web:get", "https://sub.evil.com/"),
        )
        .expect("allow", None, &[(DB, "allow")]),
        v(
            "domain_allowlist_apex_not_covered",
            "`*.example.com` does not cover the apex",
            sub.clone(),
            rt("web:get", "https://example.com/"),
        )
        .expect("block", Some(DA), &[(DA, "block")]),
        v(
            "domain_allowlist_dot_covers_apex",
            "`.example.com` covers the apex",
            day(json!({"web:*": {DA: [".example.com"]}})),
            rt("web:get", "example.com"),
        )
        .expect("allow", None, &[(DA, "allow")]),
        v(
            "domain_allowlist_label_boundary",
            "`*.example.com` does not cover example.com.evil.net",
            sub.clone(),
            rt("web:get", "https://api.example.com.evil.net/"),
        )
        .expect("block", Some(DA), &[(DA, "block")]),
        v(
            "domain_allowlist_suffix_not_label",
            "`*.example.com` does not cover evilexample.com",
            sub.clone(),
            rt("web:get", "https://evilexample.com/"),
        )
        .expect("block", Some(DA), &[(DA, "block")]),
        v(
            "domain_allowlist_idna",
            "a Unicode host is compared in its ASCII form",
            day(json!({"web:*": {DA: ["xn--bcher-kva.example"]}})),
            rt("web:get", "https://BÜCHER.example/"),
        )
        .expect("allow", None, &[(DA, "allow")]),
        v(
            "domain_allowlist_resource_target",
            "a resource has no host: the allowlist blocks",
            sub.clone(),
            rt("web:get", "db:customers"),
        )
        .expect("block", Some(DA), &[(DA, "block")]),
        v(
            "domain_allowlist_no_target",
            "no target under an allowlist blocks",
            sub.clone(),
            r("web:get"),
        )
        .expect("block", Some(DA), &[(DA, "block")]),
        v(
            "target_userinfo_refused",
            "userinfo in a target is refused before any constraint",
            sub.clone(),
            rt("web:get", "https://evil.com@api.example.com/"),
        )
        .expect("block", Some("request_invalid"), &[]),
        v(
            "read_only_write_verb",
            "`files:deleteAll` has the word `delete`",
            read_only.clone(),
            r("files:deleteAll"),
        )
        .expect("block", Some(RO), &[(RO, "block")]),
        v(
            "read_only_word_not_substring",
            "`postgres:query` is a read (`post` only as a word)",
            read_only.clone(),
            r("postgres:query"),
        )
        .expect("allow", None, &[(RO, "allow")]),
        v(
            "read_only_method_post",
            "metadata.method POST is a write",
            read_only.clone(),
            rm("files:list", json!({"method": "POST"})),
        )
        .expect("block", Some(RO), &[(RO, "block")]),
        v(
            "read_only_method_get",
            "metadata.method `get` is a read",
            read_only.clone(),
            rm("files:list", json!({"method": "get"})),
        )
        .expect("allow", None, &[(RO, "allow")]),
        v(
            "pii_card_luhn",
            "a Luhn-valid card number grouped by spaces",
            pii.clone(),
            rm("report:send", json!({"note": "card 4111 1111 1111 1111"})),
        )
        .expect("block", Some(PII), &[(PII, "block")]),
        v(
            "pii_card_not_luhn",
            "the same digits failing Luhn",
            pii.clone(),
            rm("report:send", json!({"note": "card 4111 1111 1111 1112"})),
        )
        .expect("allow", None, &[(PII, "allow")]),
        v(
            "pii_ssn_nested",
            "a US SSN deep in the metadata",
            pii.clone(),
            rm("report:send", json!({"rows": [{"ssn": "123-45-6789"}]})),
        )
        .expect("block", Some(PII), &[(PII, "block")]),
        v(
            "pii_ssn_area_666",
            "area 666 is never issued",
            pii.clone(),
            rm("report:send", json!({"ssn": "666-45-6789"})),
        )
        .expect("allow", None, &[(PII, "allow")]),
        v(
            "pii_email",
            "an e-mail address",
            pii.clone(),
            rm("report:send", json!({"to": "alice@example.com"})),
        )
        .expect("block", Some(PII), &[(PII, "block")]),
        v(
            "pii_bare_nine_digits",
            "a bare 9-digit number is not flagged",
            pii.clone(),
            rm("report:send", json!({"n": "123456789"})),
        )
        .expect("allow", None, &[(PII, "allow")]),
    ]
}

/// `core:rate:*`, `core:cost:*`, `core:approval:*` (§ Rate, § Cost, § Approval).
fn rate_cost_approval() -> Vec<V> {
    const PH: &str = "core:rate:max_per_hour";
    const PD: &str = "core:rate:max_per_day";
    const PM: &str = "core:rate:max_per_minute";
    const MC: &str = "core:cost:max_cumulative";
    const AT: &str = "core:cost:approval_threshold";
    const AR: &str = "core:approval:required";
    const AF: &str = "core:approval:for_actions";
    let hour = day(json!({"api:*": {PH: 2}}));
    let per_day = day(json!({"api:*": {PD: 2}}));
    let threshold = day(json!({"buy:*": {AT: 2000}}));
    let reserve = day(json!({"buy:*": {MC: 3000, AT: 2000}}));
    let for_pay = day(json!({"*": {AF: ["pay:*"]}}));
    vec![
        v("rate_hour_previous_hour", "two at 11:59:59.999 do not count in the 12:00 hour", hour.clone(), r("api:get"))
            .prior(NOW_MS - 30_001, r("api:get"), 2)
            .expect("allow", None, &[(PH, "allow")]),
        v("rate_hour_full", "two at 12:00:00.000, limit 2", hour.clone(), r("api:get"))
            .prior(NOW_MS - 30_000, r("api:get"), 2)
            .expect("block", Some(PH), &[(PH, "block")]),
        v("rate_day_previous_day", "two at 23:59:59.999 the day before do not count", per_day.clone(), r("api:get"))
            .prior(T0 - 1, r("api:get"), 2)
            .expect("allow", None, &[(PD, "allow")]),
        v("rate_day_full", "two at 00:00:00.000 today, limit 2", per_day.clone(), r("api:get"))
            .prior(T0, r("api:get"), 2)
            .expect("block", Some(PD), &[(PD, "block")]),
        v("rate_zero", "a limit of 0 allows nothing", day(json!({"api:*": {PM: 0}})), r("api:get"))
            .expect("block", Some(PM), &[(PM, "block")]),
        v("rate_blocked_not_counted", "limit 3 per hour: two allowed and three blocked (over max_per_action) earlier; blocked actions do not count", day(json!({"api:*": {PH: 3, "core:cost:max_per_action": 10}})), r("api:get"))
            .prior(NOW_MS - 1000, r("api:get"), 2)
            .prior(NOW_MS - 500, rc("api:get", 11), 3)
            .expect("allow", None, &[(PH, "allow"), ("core:cost:max_per_action", "allow")]),
        v("approval_threshold_at_value", "a cost equal to the threshold is held", threshold.clone(), rc("buy:x", 2000))
            .expect("request_hold", Some(AT), &[(AT, "request_hold")]),
        v("approval_threshold_below", "one cent under the threshold", threshold.clone(), rc("buy:x", 1999))
            .expect("allow", None, &[(AT, "allow")]),
        v("cumulative_window_hour", "an hourly cap: last hour's spend does not count", day(json!({"buy:*": {MC: 1000, "core:cost:cumulative_window": "hour"}})), rc("buy:x", 1000))
            .prior(NOW_MS - 30_001, rc("buy:x", 1000), 1)
            .expect("allow", None, &[(MC, "allow")]),
        v("cumulative_window_total", "a lifetime cap: yesterday's spend counts", day(json!({"buy:*": {MC: 1000, "core:cost:cumulative_window": "total"}})), rc("buy:x", 1))
            .prior(T0 - 1, rc("buy:x", 1000), 1)
            .expect("block", Some(MC), &[(MC, "block")]),
        v("held_spend_reserved_over", "a held 2000 is reserved: 2000 + 1001 would exceed 3000", reserve.clone(), rc("buy:x", 1001))
            .prior(NOW_MS - 1000, rc("buy:x", 2000), 1)
            .expect("block", Some(MC), &[(MC, "block")]),
        v("held_spend_reserved_to_cap", "a held 2000 is reserved: 2000 + 1000 reaches 3000", reserve.clone(), rc("buy:x", 1000))
            .prior(NOW_MS - 1000, rc("buy:x", 2000), 1)
            .expect("allow", None, &[(MC, "allow"), (AT, "allow")]),
        v("approval_required", "every action is held", day(json!({"x:*": {AR: true}})), r("x:y"))
            .expect("request_hold", Some(AR), &[(AR, "request_hold")]),
        v("approval_for_actions_match", "`pay:*` holds pay:card", for_pay.clone(), r("pay:card"))
            .expect("request_hold", Some(AF), &[(AF, "request_hold")]),
        v("approval_for_actions_bare", "`pay:*` does not cover `pay`", for_pay.clone(), r("pay"))
            .expect("allow", None, &[(AF, "allow")]),
    ]
}

/// CEL rules, unknown and invalid keys, recorded terms (§ CEL rules, § 3, § Recorded terms).
fn rules_and_keys() -> Vec<V> {
    const CEL: &str = "core:cel:rules";
    let rules = |r: Value| day(json!({"x:*": {CEL: r}}));
    vec![
        v("unknown_constraint", "an unknown key fails closed", day(json!({"x:*": {"acme:custom": 1}})), r("x:y"))
            .expect("block", Some("unknown_constraint"), &[]),
        v("constraint_invalid_float", "a limit must be a JSON integer", day(json!({"x:*": {"core:rate:max_per_minute": 5.0}})), r("x:y"))
            .expect("block", Some("constraint_invalid"), &[]),
        v("cel_compile_error", "a rule that does not parse", rules(json!([{"expr": "request.cost_cents +"}])), r("x:y"))
            .expect("block", Some("cel_error"), &[]),
        v("cel_runtime_error_blocks", "a rule that fails at run time (no such metadata field) blocks", rules(json!([{"expr": "request.metadata.missing > 1"}])), r("x:y"))
            .expect("block", Some(CEL), &[(CEL, "block")]),
        v("cel_on_false_hold", "a false rule with on_false request_hold", rules(json!([{"expr": "request.cost_cents < 100", "on_false": "request_hold"}])), rc("x:y", 100))
            .expect("request_hold", Some(CEL), &[(CEL, "request_hold")]),
        v("cel_int_arithmetic", "JSON integers are CEL ints: metadata.count * 2 and cost_cents + 1", rules(json!([{"expr": "request.metadata.count * 2 == 10 && request.cost_cents + 1 == 8"}])), json!({"action": "x:y", "cost_cents": 7, "metadata": {"count": 5}}))
            .expect("allow", None, &[(CEL, "allow")]),
        v("cel_now_and_passport", "`now` is Unix ms; `passport.issuer` is the root issuer", rules(json!([{"expr": "now == 1772452830000 && passport.issuer == 'acme'"}])), r("x:y"))
            .expect("allow", None, &[(CEL, "allow")]),
        v("recorded_terms_not_enforced", "pricing and SLA terms are carried, never evaluated", day(json!({"x:*": {"core:pricing:per_call_cents": 5, "core:sla:response_time_ms": 100}})), r("x:y"))
            .expect("allow", None, &[]),
        v("recorded_term_invalid", "platform fee basis points above 10000 are refused", day(json!({"x:*": {"core:platform_fee:basis_points": 99990}})), r("x:y"))
            .expect("block", Some("constraint_invalid"), &[]),
        v("negative_cost_refused", "cost_cents below 0 is not a request", day(json!({"x:*": {}})), rc("x:y", -1))
            .expect("block", Some("request_invalid"), &[]),
    ]
}

/// Revocation, the L1 nonce check, and L3's freshness, timestamp window and PoP (docs/gate.md § 3).
fn revocation_and_pop() -> Vec<V> {
    let plain = day(json!({"a:b": {}}));
    let revocation = |age_ms: i64, revoked: &[&str]| json!({"revocation": {"version": 1, "as_of": rfc(NOW_MS - age_ms), "passports": revoked}});
    let l3 = |nonce: &str, ts: i64| json!({"action": "a:b", "nonce": nonce, "timestamp": ts});
    vec![
        v(
            "revoked_passport",
            "the passport id is on the revocation list",
            plain.clone(),
            r("a:b"),
        )
        .config(revocation(0, &["pp_vec"]))
        .expect("block", Some("passport_revoked"), &[]),
        v(
            "l1_nonce_checked_when_present",
            "L1 checks a nonce it is given",
            plain.clone(),
            l3("n-9", NOW_MS),
        )
        .prior(NOW_MS - 1000, l3("n-9", NOW_MS - 1000), 1)
        .expect("block", Some("replay_detected"), &[]),
        v(
            "l3_pop_valid",
            "L3, revocation data 60 s old (fresh), PoP by the agent key",
            plain.clone(),
            l3("n-l3-1", NOW_MS),
        )
        .profile("L3")
        .config(revocation(60_000, &[]))
        .pop(2),
        v(
            "l3_pop_required",
            "L3 without a PoP",
            plain.clone(),
            l3("n-l3-2", NOW_MS),
        )
        .profile("L3")
        .config(revocation(0, &[]))
        .expect("block", Some("pop_required"), &[]),
        v(
            "l3_pop_wrong_key",
            "L3, the PoP signed by another key",
            plain.clone(),
            l3("n-l3-3", NOW_MS),
        )
        .profile("L3")
        .config(revocation(0, &[]))
        .pop(5)
        .expect("block", Some("pop_invalid"), &[]),
        v(
            "l3_revocation_stale",
            "L3, revocation data 60.001 s old",
            plain.clone(),
            l3("n-l3-4", NOW_MS),
        )
        .profile("L3")
        .config(revocation(60_001, &[]))
        .pop(2)
        .expect("block", Some("revocation_stale"), &[]),
        v(
            "l3_no_revocation_source",
            "L3 without any revocation source",
            plain.clone(),
            l3("n-l3-5", NOW_MS),
        )
        .profile("L3")
        .pop(2)
        .expect("block", Some("revocation_stale"), &[]),
        v(
            "l3_timestamp_window",
            "L3's window is 60 s: 60.001 s old is replay",
            plain.clone(),
            l3("n-l3-6", NOW_MS - 60_001),
        )
        .profile("L3")
        .config(revocation(0, &[]))
        .pop(2)
        .expect("block", Some("replay_detected"), &[]),
    ]
}

/// The v2 envelope wire pair (`{"envelope", "signature"}`, RFC 8785 + detached Ed25519) as a
/// request's passport: Modei's SDKs sign only self-issued and delegated envelopes.
fn envelope_form() -> Vec<V> {
    use modei_core::envelope::{DelegationBuilder, SelfIssue, SignedEnvelope};
    const MPA: &str = "core:cost:max_per_action";
    const FLAT: &str = "max_per_action_cost";
    let perms = |c: Value| vec![Permission::new("x:*", obj(c))];
    let parent = SelfIssue {
        passport_id: "pp_v2_self".into(),
        agent_name: Some("vector agent".into()),
        permissions: perms(json!({ MPA: 500, FLAT: 500 })),
        issued_at: Timestamp::from_unix_millis(T0),
        expires_at: Timestamp::from_unix_millis(T0 + 86_400_000),
        delegation_authority: true,
        verification_evidence: vec![],
    }
    .sign(&key(2))
    .unwrap();
    // The delegate narrows the SDK's flat key and states nothing about the core: key, which it
    // inherits (the subset rule lets only the flat keys decrease; others must stay equal).
    let child = DelegationBuilder::new(
        &parent,
        key(6).public_key(),
        "pp_v2_child".into(),
        Timestamp::from_unix_millis(T0),
    )
    .permissions(perms(json!({ FLAT: 100 })))
    .sign(&key(2))
    .unwrap();
    let wire = |s: &SignedEnvelope| Some(s.to_wire().to_string());
    // The same signature over an envelope whose cap was raised.
    let mut raised = parent.to_wire();
    raised["envelope"]["permissions"][0]["constraints"][MPA] = json!(5000);
    raised["envelope"]["permissions"][0]["constraints"][FLAT] = json!(5000);
    let tampered = Some(raised.to_string());
    let l2 = json!({"action": "x:y", "cost_cents": 1, "nonce": "n-v2", "timestamp": NOW_MS});
    vec![
        v(
            "v2_self_issued_at_cap",
            "a self-issued v2 envelope at L1, cost equal to its caps",
            wire(&parent),
            rc("x:y", 500),
        )
        .expect("allow", None, &[(MPA, "allow"), (FLAT, "allow")]),
        v(
            "v2_self_issued_over_cap",
            "the envelope's own cap, one cent over (the core: key runs first: ties go by key name)",
            wire(&parent),
            rc("x:y", 501),
        )
        .expect("block", Some(MPA), &[(MPA, "block")]),
        v(
            "v2_self_issued_refused_at_l2",
            "L2 does not accept self-issued passports by default",
            wire(&parent),
            l2,
        )
        .profile("L2")
        .expect("block", Some("self_issued_not_allowed"), &[]),
        v(
            "v2_tampered_constraint",
            "the cap raised after signing",
            tampered,
            rc("x:y", 1000),
        )
        .expect("block", Some("signature_invalid"), &[]),
        v(
            "v2_delegated_narrower_flat_key",
            "the delegate's own cap of 100 under its parent's 500",
            wire(&child),
            rc("x:y", 101),
        )
        .expect("block", Some(FLAT), &[(MPA, "allow"), (FLAT, "block")]),
        v(
            "v2_delegated_inherits_cap",
            "a dimension the delegate omits is its parent's",
            wire(&child),
            rc("x:y", 501),
        )
        .expect("block", Some(MPA), &[(MPA, "block")]),
        v(
            "v2_delegated_within_caps",
            "the delegate within every cap",
            wire(&child),
            rc("x:y", 100),
        )
        .expect("allow", None, &[(MPA, "allow"), (FLAT, "allow")]),
    ]
}

/// Dry runs answer "what would happen now" and change nothing: no count, spend, hold or nonce.
fn dry_runs() -> Vec<V> {
    const PM: &str = "core:rate:max_per_minute";
    const MC: &str = "core:cost:max_cumulative";
    const AT: &str = "core:cost:approval_threshold";
    let rate = day(json!({"api:*": {PM: 3}}));
    let spend = day(json!({"buy:*": {MC: 3000, AT: 2000}}));
    let l2 = |ts: i64| json!({"action": "a:b", "nonce": "n-dry", "timestamp": ts});
    vec![
        v(
            "dry_run_priors_not_counted",
            "three dry runs this minute leave the count at 0",
            rate.clone(),
            r("api:get"),
        )
        .prior_dry(NOW_MS - 1000, r("api:get"), 3)
        .expect("allow", None, &[(PM, "allow")]),
        v(
            "dry_run_reports_the_block",
            "after three real checks a dry run answers block",
            rate.clone(),
            r("api:get"),
        )
        .prior(NOW_MS - 1000, r("api:get"), 3)
        .dry_run()
        .expect("block", Some(PM), &[(PM, "block")]),
        v(
            "dry_run_spend_not_counted",
            "a dry run of 1999 spends nothing: 1500 fits under 3000",
            spend.clone(),
            rc("buy:x", 1500),
        )
        .prior_dry(NOW_MS - 1000, rc("buy:x", 1999), 1)
        .expect("allow", None, &[(MC, "allow"), (AT, "allow")]),
        v(
            "dry_run_hold_reserves_nothing",
            "a dry-run hold of 2000 reserves nothing: 1000 spent + 1000 fits under 3000",
            spend.clone(),
            rc("buy:x", 1000),
        )
        .prior_dry(NOW_MS - 1000, rc("buy:x", 2000), 1)
        .prior(NOW_MS - 900, rc("buy:x", 1000), 1)
        .expect("allow", None, &[(MC, "allow"), (AT, "allow")]),
        v(
            "dry_run_nonce_not_burned",
            "L2: a nonce asked in a dry run is still unused",
            day(json!({"a:b": {}})),
            l2(NOW_MS),
        )
        .profile("L2")
        .prior_dry(NOW_MS - 1000, l2(NOW_MS - 1000), 1),
    ]
}

/// JWT delegation: acme issues to the agent (key 2) with delegation authority; the agent
/// delegates to key 6 with its own permissions. What the delegate omits it inherits.
fn jwt_delegation() -> Vec<V> {
    const MPA: &str = "core:cost:max_per_action";
    const FLAT: &str = "max_per_action_cost";
    let issue = |id: &str, agent: &str, key_of_agent: u8, c: Value| {
        let mut iss = JwtIssue::new(
            id,
            agent,
            key(key_of_agent).public_key(),
            Timestamp::from_unix_millis(T0),
            Timestamp::from_unix_millis(T0 + 86_400_000),
        );
        iss.permissions = vec![Permission::new("x:*", obj(c))];
        iss
    };
    let mut root = issue("pp_vec", "agent_vec", 2, json!({ MPA: 500, FLAT: 500 }));
    root.delegation_authority = true;
    let root = root.issue("acme", "acme-1", &key(1)).unwrap();
    let child = issue("pp_vec_child", "", 6, json!({ FLAT: 100 }))
        .delegate(&root, &key(2))
        .unwrap();
    let bare = issue("pp_vec_bare", "", 6, json!({}))
        .delegate(&root, &key(2))
        .unwrap();
    vec![
        v(
            "jwt_delegated_narrower_flat_key",
            "the delegate's own cap of 100 under acme's 500",
            Some(child.clone()),
            rc("x:y", 101),
        )
        .expect("block", Some(FLAT), &[(MPA, "allow"), (FLAT, "block")]),
        v(
            "jwt_delegated_inherits_cap",
            "the delegate omits the core: cap: acme's 500 still holds",
            Some(child.clone()),
            rc("x:y", 501),
        )
        .expect("block", Some(MPA), &[(MPA, "block")]),
        v(
            "jwt_delegated_empty_constraints_inherit_all",
            "a delegate stating no constraints is held to all of acme's",
            Some(bare),
            rc("x:y", 501),
        )
        .expect("block", Some(MPA), &[(MPA, "block")]),
        v(
            "jwt_delegated_within_caps",
            "the delegate within every cap",
            Some(child),
            rc("x:y", 100),
        )
        .expect("allow", None, &[(MPA, "allow"), (FLAT, "allow")]),
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
            if let Some(k) = c.pop_key {
                let req: GateRequest = serde_json::from_value(request.clone()).unwrap();
                let pop = sign_pop(&key(k), "gate_vectors", "pp_vec", &req).unwrap();
                request["pop"] = json!(pop);
            }
            let mut config = base_config(c.profile);
            if let Some(cats) = &c.catalogs {
                config["catalogs"] = cats.clone();
            }
            for (k, m) in c.config.iter().flat_map(|m| obj(m.clone())) {
                config[k] = m;
            }
            let prior: Vec<Value> = c
                .prior
                .iter()
                .map(|(t, r, dry)| {
                    let mut r = r.clone();
                    if let (Some(p), None) = (&c.passport, r.get("client_id")) {
                        r["passport"] = json!(p);
                    }
                    let mut p = json!({"now": rfc(*t), "request": r});
                    if *dry {
                        p["dry_run"] = json!(true);
                    }
                    p
                })
                .collect();
            let mut vector = json!({
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
            });
            if c.dry_run {
                vector["dry_run"] = json!(true);
            }
            vector
        })
        .collect();
    let doc = json!({
        "about": "Gate vectors: build the gate from `config` (docs/gate.md) with its clock fixed at `now`, replay each `prior` request at its own `now` (decisions discarded; with `dry_run: true` through the gate's dry run, which must change nothing), then check `request` (through the dry run when the vector has `dry_run: true`). `expect.evaluations` lists (key, outcome) in order; an empty list with a `block` means an earlier pipeline step decided. Generated by modei-core/tests/gate_vectors.rs from fixed seeds.",
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
            match p["dry_run"] == true {
                true => gate.dry_run_at(&r, t),
                false => gate.check_at(&r, t),
            };
        }
        let r: GateRequest = serde_json::from_value(vec["request"].clone()).unwrap();
        let d = match vec["dry_run"] == true {
            true => gate.dry_run(&r),
            false => gate.check(&r),
        };
        assert_eq!(d.dry_run, vec["dry_run"] == true, "{name}");
        let d = d.to_value();
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
