use super::*;
use crate::state::MemoryStateStore;
use serde_json::json;

// 2026-01-01T00:00:00Z is a Thursday; 2026-01-05 is a Monday.
const JAN1: i64 = 1_767_225_600_000;
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
const MON_JAN5: i64 = JAN1 + 4 * DAY;

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(ms)
}

fn map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn set(v: Value) -> ConstraintSet {
    Enforcer::new().parse(&map(v)).unwrap()
}

fn parse_err(v: Value) -> Error {
    Enforcer::new().parse(&map(v)).unwrap_err()
}

fn ctx(action: &str, now: i64) -> EvalContext<'_> {
    let mut c = EvalContext::new(action, ts(now));
    let p = &mut c.passport;
    p.passport_id = "pp_1";
    p.permission = "perm";
    c
}

fn eval(s: &ConstraintSet, c: &EvalContext) -> Outcome {
    Enforcer::new()
        .evaluate(s, c, &StateSnapshot::default())
        .outcome
}

fn with_target<'a>(mut c: EvalContext<'a>, t: &str) -> EvalContext<'a> {
    c.target = Some(Target::parse(t).unwrap());
    c
}

#[test]
fn unknown_and_invalid_keys() {
    let e = parse_err(json!({"core:scope:nope": 1}));
    assert_eq!(e.code(), Code::UnknownConstraint);
    assert!(e.detail().starts_with("core:scope:nope"));
    for (k, v) in [
        ("core:rate:max_per_minute", json!(-1)),
        ("core:rate:max_per_minute", json!(1.5)),
        ("core:rate:max_per_hour", json!("10")),
        ("core:cost:max_per_action", json!(-5)),
        ("core:cost:cumulative_window", json!("fortnight")),
        ("core:data:read_only", json!("yes")),
        ("core:scope:domain_allowlist", json!(["https://good.com/"])),
        ("core:scope:action_allowlist", json!(["email*"])),
        (
            "core:time:operating_hours",
            json!({"start": "9:00", "end": "17:00"}),
        ),
        (
            "core:time:operating_hours",
            json!({"start": "09:00", "end": "17:00", "timezone": "Mars/Base"}),
        ),
        (
            "core:time:operating_hours",
            json!({"start": "09:00", "end": "09:00"}),
        ),
        (
            "core:time:blackout_windows",
            json!([{"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}]),
        ),
        ("core:safety:fail_closed", json!({"max_age_seconds": 0})),
        ("core:sla:uptime_basis_points", json!(99990)),
        ("core:pricing:currency", json!("usd")),
        ("core:pricing:model", json!("free")),
        ("allowed_paths", json!(["api/*"])),
    ] {
        let err = parse_err(json!({ k: v }));
        assert_eq!(err.code(), Code::ConstraintInvalid, "{k}: {v}");
        assert!(err.detail().starts_with(k), "{k}: {}", err.detail());
    }
}

#[test]
fn terms_are_carried_not_enforced() {
    let s = set(json!({
        "core:pricing:per_call_cents": 5, "core:pricing:model": "per_call", "core:pricing:currency": "USD",
        "core:sla:uptime_basis_points": 9990, "core:platform_fee:basis_points": 200,
        "core:platform_fee:recipient": "gate_x", "core:rate:max_per_minute": 5
    }));
    assert_eq!(s.terms().len(), 6);
    assert_eq!(s.keys(), vec!["core:rate:max_per_minute"]);
    assert_eq!(eval(&s, &ctx("a", JAN1)).decision, Decision::Allow);
}

#[test]
fn order_first_block_decides_and_holds_are_collected() {
    // A hold (approval) and a block (scope): block wins although approval is listed first.
    let s = set(json!({
        "core:approval:required": true,
        "core:scope:action_blocklist": ["files:delete"],
        "core:safety:fail_closed": true
    }));
    assert_eq!(
        s.keys(),
        vec![
            "core:safety:fail_closed",
            "core:scope:action_blocklist",
            "core:approval:required"
        ]
    );
    let mut c = ctx("files:delete", JAN1);
    // No heartbeat: safety blocks first and ends evaluation.
    let o = eval(&s, &c);
    assert_eq!(
        (o.decision, o.reason.as_deref()),
        (Decision::Block, Some("core:safety:fail_closed"))
    );
    assert_eq!(o.evaluations.len(), 1);
    c.heartbeat = Some(ts(JAN1 - 1000));
    let o = eval(&s, &c);
    assert_eq!(o.reason.as_deref(), Some("core:scope:action_blocklist"));
    c.action = "files:read";
    let o = eval(&s, &c);
    assert_eq!(
        (o.decision, o.reason.as_deref()),
        (Decision::RequestHold, Some("core:approval:required"))
    );
    assert_eq!(o.evaluations.len(), 3);
    // A hold recorded early, then a block later: block.
    #[cfg(feature = "cel")]
    {
        // A hold recorded early, then a block later: block.
        let s = set(
            json!({"core:cost:approval_threshold": 100, "core:approval:for_actions": ["pay:*"], "core:cel:rules": [{"expr": "false"}]}),
        );
        let mut c = ctx("pay:card", JAN1);
        c.cost_cents = 100;
        let o = eval(&s, &c);
        assert_eq!(
            (o.decision, o.reason.as_deref()),
            (Decision::Block, Some("core:cel:rules"))
        );
        assert_eq!(o.evaluations.len(), 3);
    }
}

#[test]
fn fail_closed_heartbeat_age() {
    let s = set(json!({"core:safety:fail_closed": true}));
    let mut c = ctx("a", JAN1);
    c.heartbeat = Some(ts(JAN1 - 120_000));
    assert_eq!(eval(&s, &c).decision, Decision::Allow);
    c.heartbeat = Some(ts(JAN1 - 120_001));
    let o = eval(&s, &c);
    assert_eq!(o.decision, Decision::Block);
    assert!(o.detail.unwrap().contains("120001 ms old"));
    let s = set(json!({"core:safety:fail_closed": {"max_age_seconds": 10}}));
    c.heartbeat = Some(ts(JAN1 - 10_001));
    assert_eq!(eval(&s, &c).decision, Decision::Block);
    assert!(set(json!({"core:safety:fail_closed": false}))
        .keys()
        .is_empty());
}

#[test]
fn anomaly_rule() {
    let s = set(json!({"core:safety:anomaly_suspend": true}));
    let e = Enforcer::new();
    let c = ctx("a", JAN1);
    let snap = |recent, base| StateSnapshot {
        recent_5m: recent,
        baseline_30m: base,
        ..Default::default()
    };
    // 9 earlier + this one = 10 recent; baseline 18 per 30 min = 3 per 5 min; 3 x 3 = 9 < 10: hold.
    assert_eq!(
        e.evaluate(&s, &c, &snap(9, 18)).outcome.decision,
        Decision::RequestHold
    );
    // Baseline 20 (20/6 per 5 min, x3 = 10): 10 is not above 10: allow.
    assert_eq!(
        e.evaluate(&s, &c, &snap(9, 20)).outcome.decision,
        Decision::Allow
    );
    // Below the minimum of 10 events: allow even with no baseline.
    assert_eq!(
        e.evaluate(&s, &c, &snap(8, 0)).outcome.decision,
        Decision::Allow
    );
    let s = set(json!({"core:safety:anomaly_suspend": {"multiplier": 2, "min_events": 3}}));
    // 3 recent, baseline 8: 3*6 = 18 > 2*8 = 16: hold.
    assert_eq!(
        e.evaluate(&s, &c, &snap(2, 8)).outcome.decision,
        Decision::RequestHold
    );
}

#[cfg(feature = "tzdb")]
#[test]
fn operating_hours_new_york_with_dst_and_weekdays() {
    let s = set(json!({"core:time:operating_hours": {
        "start": "09:00", "end": "17:00", "timezone": "America/New_York",
        "days": ["mon", "tue", "wed", "thu", "fri"]}}));
    let at = |ms| eval(&s, &ctx("a", ms)).decision;
    // January: EST = UTC-5, so 09:00 local = 14:00 UTC and 17:00 local = 22:00 UTC.
    assert_eq!(at(MON_JAN5 + 14 * HOUR), Decision::Allow);
    assert_eq!(at(MON_JAN5 + 14 * HOUR - 1), Decision::Block);
    assert_eq!(at(MON_JAN5 + 22 * HOUR - 1), Decision::Allow);
    assert_eq!(at(MON_JAN5 + 22 * HOUR), Decision::Block);
    // Saturday 2026-01-10 at 15:00 UTC (10:00 local): not a listed day.
    assert_eq!(at(MON_JAN5 + 5 * DAY + 15 * HOUR), Decision::Block);
    // Monday 2026-07-06 (26 weeks later): EDT = UTC-4, so 09:00 local = 13:00 UTC.
    let jul6 = MON_JAN5 + 182 * DAY;
    assert_eq!(at(jul6 + 13 * HOUR), Decision::Allow);
    assert_eq!(at(jul6 + 13 * HOUR - 1), Decision::Block);
}

#[test]
fn fixed_offsets_work_without_the_tz_database() {
    // -05:00: 09:00 local = 14:00 UTC, all year (no DST).
    let s = set(
        json!({"core:time:operating_hours": {"start": "09:00", "end": "17:00", "timezone": "-05:00"}}),
    );
    let at = |ms| eval(&s, &ctx("a", ms)).decision;
    assert_eq!(at(MON_JAN5 + 14 * HOUR), Decision::Allow);
    assert_eq!(at(MON_JAN5 + 14 * HOUR - 1), Decision::Block);
    assert_eq!(at(MON_JAN5 + 182 * DAY + 13 * HOUR), Decision::Block);
    let s = set(
        json!({"core:time:operating_hours": {"start": "09:00", "end": "17:00", "timezone": "+05:30"}}),
    );
    // 09:00 at +05:30 = 03:30 UTC.
    assert_eq!(
        eval(&s, &ctx("a", JAN1 + 3 * HOUR + 30 * 60_000)).decision,
        Decision::Allow
    );
    assert_eq!(
        eval(&s, &ctx("a", JAN1 + 3 * HOUR + 29 * 60_000)).decision,
        Decision::Block
    );
    for tz in ["+19:00", "05:00", "+5:00"] {
        let m = map(
            json!({"core:time:operating_hours": {"start": "09:00", "end": "17:00", "timezone": tz}}),
        );
        assert_eq!(
            Enforcer::new().parse(&m).unwrap_err().code(),
            Code::ConstraintInvalid,
            "{tz}"
        );
    }
}

#[test]
fn overnight_window_belongs_to_its_start_day() {
    let s = set(json!({"operating_hours": {"start": "22:00", "end": "06:00", "days": ["mon"]}}));
    let at = |ms| eval(&s, &ctx("a", ms)).decision;
    assert_eq!(at(MON_JAN5 + 23 * HOUR), Decision::Allow); // Mon 23:00
    assert_eq!(at(MON_JAN5 + DAY + 6 * HOUR - 1), Decision::Allow); // Tue 05:59:59.999
    assert_eq!(at(MON_JAN5 + DAY + 6 * HOUR), Decision::Block); // Tue 06:00
    assert_eq!(at(MON_JAN5 + DAY + 23 * HOUR), Decision::Block); // Tue 23:00
    assert_eq!(at(MON_JAN5 + 5 * HOUR), Decision::Block); // Mon 05:00 belongs to Sunday
                                                          // A list means any schedule; all_of means every one.
    let s = set(json!({"core:time:operating_hours": [
        {"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}]}));
    let at = |ms| eval(&s, &ctx("a", ms)).decision;
    assert_eq!(at(JAN1 + 10 * HOUR), Decision::Allow);
    assert_eq!(at(JAN1 + 12 * HOUR + 30 * 60_000), Decision::Block);
    assert_eq!(at(JAN1 + 16 * HOUR), Decision::Allow);
    let s = set(json!({"core:time:operating_hours": {"all_of": [
        {"start": "09:00", "end": "17:00"}, {"start": "12:00", "end": "24:00"}]}}));
    let at = |ms| eval(&s, &ctx("a", ms)).decision;
    assert_eq!(at(JAN1 + 10 * HOUR), Decision::Block);
    assert_eq!(at(JAN1 + 13 * HOUR), Decision::Allow);
}

#[test]
fn blackout_windows() {
    let s = set(json!({"core:time:blackout_windows": [
        {"start": "2026-01-01T10:00:00Z", "end": "2026-01-01T11:00:00Z"},
        {"start": "02:00", "end": "03:00", "timezone": "UTC"}]}));
    let at = |ms| eval(&s, &ctx("a", ms)).decision;
    assert_eq!(at(JAN1 + 10 * HOUR), Decision::Block);
    assert_eq!(at(JAN1 + 11 * HOUR), Decision::Allow);
    assert_eq!(at(JAN1 + 9 * DAY + 2 * HOUR + 1), Decision::Block);
    assert_eq!(at(JAN1 + 9 * DAY + 3 * HOUR), Decision::Allow);
}

#[test]
fn scope_lists() {
    let s = set(json!({
        "core:scope:domain_allowlist": ["good.com", "*.api.good.com"],
        "core:scope:domain_blocklist": ["bad.api.good.com"],
        "core:scope:action_allowlist": ["email:*", "search"],
        "core:scope:action_blocklist": ["email:delete"]
    }));
    let ok = |a: &str, t: &str| eval(&s, &with_target(ctx(a, JAN1), t));
    assert_eq!(
        ok("email:send", "https://GOOD.com.:443/x").decision,
        Decision::Allow
    );
    assert_eq!(
        ok("Search", "https://v1.api.good.com/").decision,
        Decision::Allow
    );
    let o = ok("email:send", "https://api.good.com/");
    assert_eq!(
        (o.decision, o.reason.as_deref()),
        (Decision::Block, Some("core:scope:domain_allowlist"))
    );
    let o = ok("email:send", "good.com.evil.com");
    assert_eq!(o.reason.as_deref(), Some("core:scope:domain_allowlist"));
    let o = ok("email:send", "https://bad.api.good.com/");
    assert_eq!(o.reason.as_deref(), Some("core:scope:domain_blocklist"));
    let o = ok("EMAIL:Delete", "https://good.com/");
    assert_eq!(o.reason.as_deref(), Some("core:scope:action_blocklist"));
    let o = ok("email", "https://good.com/");
    assert_eq!(o.reason.as_deref(), Some("core:scope:action_allowlist"));
    // No target while a domain allowlist is set: fail closed.
    let o = eval(&s, &ctx("search", JAN1));
    assert_eq!(o.reason.as_deref(), Some("core:scope:domain_allowlist"));
    // A resource target has no host.
    let o = ok("search", "db:customers");
    assert_eq!(o.reason.as_deref(), Some("core:scope:domain_allowlist"));
}

#[test]
fn v2_flat_keys_map_to_the_same_evaluators() {
    let s = set(json!({
        "allowed_domains": [".good.com"], "allowed_paths": ["/api/*", "/health"],
        "allowed_models": ["gpt-4o"], "max_per_action_cost": 500
    }));
    let mut c = with_target(ctx("a", JAN1), "https://x.good.com/api/v1/../v2?q=1");
    c.metadata = std::borrow::Cow::Owned(json!({"model": "GPT-4o"}));
    c.cost_cents = 500;
    assert_eq!(eval(&s, &c).decision, Decision::Allow);
    c.cost_cents = 501;
    let o = eval(&s, &c);
    assert_eq!(
        (o.reason.as_deref(), o.detail.as_deref()),
        (
            Some("max_per_action_cost"),
            Some("action cost 501 exceeds the per-action limit of 500 cents")
        )
    );
    c.cost_cents = 0;
    let c2 = with_target(c.clone(), "https://good.com/api/../admin");
    assert_eq!(eval(&s, &c2).reason.as_deref(), Some("allowed_paths"));
    let c2 = with_target(c.clone(), "https://good.com/apix");
    assert_eq!(eval(&s, &c2).reason.as_deref(), Some("allowed_paths"));
    let c2 = with_target(c.clone(), "https://good.com/api");
    assert_eq!(eval(&s, &c2).decision, Decision::Allow);
    c.metadata = std::borrow::Cow::Owned(json!({"model": "gpt-5"}));
    assert_eq!(eval(&s, &c).reason.as_deref(), Some("allowed_models"));
}

#[test]
fn data_constraints() {
    let s = set(json!({"core:data:read_only": true, "core:data:no_pii_export": true}));
    assert_eq!(eval(&s, &ctx("files:read", JAN1)).decision, Decision::Allow);
    let o = eval(&s, &ctx("files:deleteAll", JAN1));
    assert_eq!(o.reason.as_deref(), Some("core:data:read_only"));
    let mut c = ctx("report:get", JAN1);
    c.metadata = std::borrow::Cow::Owned(json!({"rows": [{"name": "x", "ssn": "123-45-6789"}]}));
    let o = eval(&s, &c);
    assert_eq!(o.reason.as_deref(), Some("core:data:no_pii_export"));
    assert_eq!(
        o.detail.as_deref(),
        Some("us_ssn found at metadata.rows[0].ssn")
    );
    let c = with_target(ctx("search", JAN1), "https://a.com/?q=bob@example.com");
    assert_eq!(
        eval(&s, &c).detail.as_deref(),
        Some("email found at target")
    );
    // A pluggable detector.
    struct Secret;
    impl PiiDetector for Secret {
        fn detect(&self, t: &str) -> Option<&'static str> {
            t.contains("TOPSECRET").then_some("secret")
        }
    }
    let mut e = Enforcer::new();
    e.set_pii_detector(Arc::new(Secret));
    let mut c = ctx("x", JAN1);
    c.metadata = std::borrow::Cow::Owned(json!({"a": "TOPSECRET plans"}));
    let o = e.evaluate(&s, &c, &StateSnapshot::default()).outcome;
    assert_eq!(o.detail.as_deref(), Some("secret found at metadata.a"));
}

#[test]
fn rates_through_the_store_roll_over() {
    let e = Enforcer::new();
    let store = MemoryStateStore::new();
    let s = set(json!({"core:rate:max_per_minute": 3, "core:rate:max_per_hour": 4}));
    let at = |ms| e.enforce(&s, &ctx("a", ms), &store, false).unwrap();
    for i in 0..3 {
        assert_eq!(at(JAN1 + i).decision, Decision::Allow);
    }
    let o = at(JAN1 + 59_999);
    assert_eq!(
        (o.decision, o.reason.as_deref()),
        (Decision::Block, Some("core:rate:max_per_minute"))
    );
    assert_eq!(
        o.detail.as_deref(),
        Some("3 actions this minute already; the limit is 3")
    );
    assert_eq!(at(JAN1 + 60_000).decision, Decision::Allow);
    let o = at(JAN1 + 120_000);
    assert_eq!(o.reason.as_deref(), Some("core:rate:max_per_hour"));
    assert_eq!(at(JAN1 + HOUR).decision, Decision::Allow);
}

#[test]
fn dry_run_commits_nothing() {
    let e = Enforcer::new();
    let store = MemoryStateStore::new();
    let s = set(json!({"core:rate:max_per_minute": 1}));
    for _ in 0..3 {
        assert_eq!(
            e.enforce(&s, &ctx("a", JAN1), &store, true)
                .unwrap()
                .decision,
            Decision::Allow
        );
    }
    assert_eq!(
        e.enforce(&s, &ctx("a", JAN1), &store, false)
            .unwrap()
            .decision,
        Decision::Allow
    );
    assert_eq!(
        e.enforce(&s, &ctx("a", JAN1), &store, false)
            .unwrap()
            .decision,
        Decision::Block
    );
}

#[test]
fn cumulative_spend_holds_and_reservations() {
    let e = Enforcer::new();
    let store = MemoryStateStore::new();
    let s = set(json!({
        "core:cost:max_per_action": 5000, "core:cost:max_cumulative": 10000,
        "core:cost:cumulative_window": "daily", "core:cost:approval_threshold": 3000
    }));
    let go = |cost, ms, hold: Option<&str>| {
        let mut c = ctx("buy", ms);
        c.cost_cents = cost;
        c.hold_id = hold.map(str::to_string);
        e.enforce(&s, &c, &store, false).unwrap()
    };
    for cost in [2750, 2500, 2000, 2500] {
        assert_eq!(go(cost, JAN1, None).decision, Decision::Allow);
    }
    // 2750 + 2500 + 2000 + 2500 = 9750 spent today.
    let o = go(4500, JAN1, None);
    assert_eq!(
        (o.decision, o.reason.as_deref()),
        (Decision::Block, Some("core:cost:max_cumulative"))
    );
    assert_eq!(
        o.detail.as_deref(),
        Some("day spend 9750 + 4500 would exceed 10000 cents")
    );
    let o = go(5001, JAN1, None);
    assert_eq!(o.reason.as_deref(), Some("core:cost:max_per_action"));

    // Next day. 4000 >= 3000: held, and the 4000 is reserved.
    let t = JAN1 + DAY;
    let o = go(4000, t, Some("appr_1"));
    assert_eq!(
        (o.decision, o.reason.as_deref(), o.hold_id.as_deref()),
        (
            Decision::RequestHold,
            Some("core:cost:approval_threshold"),
            Some("appr_1")
        )
    );
    assert_eq!(go(2999, t, None).decision, Decision::Allow); // 4000 + 2999 = 6999
    assert_eq!(go(3001, t, Some("appr_2")).decision, Decision::RequestHold); // 10000 exactly
    let o = go(1, t, None);
    assert_eq!(
        o.detail.as_deref(),
        Some("day spend 10000 + 1 would exceed 10000 cents")
    );
    // Denied: the 4000 reservation is released.
    assert!(store.release_hold("pp_1", "appr_1", ts(t + 1)).unwrap());
    assert_eq!(go(1, t + 1, None).decision, Decision::Allow); // 2999 + 3001 + 1 = 6001
                                                              // Approved: the 3001 becomes spend.
    assert!(store.commit_hold("pp_1", "appr_2", ts(t + 2)).unwrap());
    assert_eq!(
        store.snapshot("pp_1", "perm", ts(t + 3)).unwrap().spend_day,
        6001
    );
    // A hold that is never answered lapses after 5 minutes.
    let t2 = t + 10_000;
    assert_eq!(go(3500, t2, Some("appr_3")).decision, Decision::RequestHold); // 9501
    assert_eq!(go(600, t2 + 1, None).decision, Decision::Block); // 10101
    assert_eq!(go(600, t2 + 5 * 60_000, None).decision, Decision::Allow); // 6601
    assert_eq!(
        store
            .snapshot("pp_1", "perm", ts(t2 + 5 * 60_000))
            .unwrap()
            .spend_day,
        6601
    );
    // A derived hold id when the gate gives none.
    let o = go(3000, t2 + 6 * 60_000, None);
    assert!(o.hold_id.unwrap().starts_with("appr_"));
}

#[test]
fn negative_costs_are_blocked_by_cost_constraints() {
    let s = set(json!({"core:cost:max_per_action": 100}));
    let mut c = ctx("refund", JAN1);
    c.cost_cents = -5;
    assert_eq!(eval(&s, &c).decision, Decision::Block);
}

#[test]
fn flat_total_and_daily_caps_both_apply() {
    let e = Enforcer::new();
    let store = MemoryStateStore::new();
    let s = set(json!({"max_daily_cost": 1000, "max_total_cost": 1500}));
    let go = |cost, ms| {
        let mut c = ctx("buy", ms);
        c.cost_cents = cost;
        e.enforce(&s, &c, &store, false).unwrap()
    };
    assert_eq!(go(1000, JAN1).decision, Decision::Allow);
    assert_eq!(go(1, JAN1).reason.as_deref(), Some("max_daily_cost"));
    assert_eq!(go(500, JAN1 + DAY).decision, Decision::Allow); // total 1500
    let o = go(1, JAN1 + 2 * DAY);
    assert_eq!(
        (o.reason.as_deref(), o.detail.as_deref()),
        (
            Some("max_total_cost"),
            Some("total spend 1500 + 1 would exceed 1500 cents")
        )
    );
}

#[test]
fn approval_constraints() {
    let s = set(json!({"core:approval:for_actions": ["wire:*", "email:send"]}));
    assert_eq!(
        eval(&s, &ctx("wire:intl", JAN1)).decision,
        Decision::RequestHold
    );
    assert_eq!(eval(&s, &ctx("wire", JAN1)).decision, Decision::Allow);
    assert_eq!(
        eval(&s, &ctx("email:send", JAN1)).decision,
        Decision::RequestHold
    );
    assert!(set(json!({"core:approval:required": false}))
        .keys()
        .is_empty());
}

#[test]
fn custom_evaluators_are_registered_and_ordered() {
    struct MinTier;
    impl CustomEvaluator for MinTier {
        fn category(&self) -> Category {
            Category::Scope
        }
        fn validate(&self, key: &str, v: &Value) -> Result<()> {
            v.as_str()
                .map(|_| ())
                .ok_or_else(|| invalid(key, "must be a string"))
        }
        fn evaluate(
            &self,
            key: &str,
            v: &Value,
            ctx: &EvalContext,
            _: &StateSnapshot,
        ) -> Evaluation {
            let ok = ctx.passport.tier >= v.as_str().unwrap_or("");
            let d = if ok { Decision::Allow } else { Decision::Block };
            Evaluation::new(
                key,
                d,
                Value::from(ctx.passport.tier),
                v.clone(),
                "tier check",
            )
        }
    }
    let mut e = Enforcer::new();
    assert_eq!(
        e.register("core:rate:max_per_minute", Arc::new(MinTier))
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    e.register("acme:min_tier", Arc::new(MinTier)).unwrap();
    assert_eq!(
        e.parse(&map(json!({"acme:min_tier": 2})))
            .unwrap_err()
            .code(),
        Code::ConstraintInvalid
    );
    let s = e
        .parse(&map(json!({"acme:min_tier": "L2", "core:approval:required": true, "core:data:read_only": true})))
        .unwrap();
    // Scope category: after safety/temporal, before data and approval.
    assert_eq!(
        s.keys(),
        vec![
            "acme:min_tier",
            "core:data:read_only",
            "core:approval:required"
        ]
    );
    let mut c = ctx("read", JAN1);
    c.passport.tier = "L1";
    assert_eq!(
        e.evaluate(&s, &c, &StateSnapshot::default())
            .outcome
            .reason
            .as_deref(),
        Some("acme:min_tier")
    );
    c.passport.tier = "L3";
    assert_eq!(
        e.evaluate(&s, &c, &StateSnapshot::default())
            .outcome
            .decision,
        Decision::RequestHold
    );
}

#[cfg(feature = "cel")]
#[test]
fn cel_rules_in_a_set_see_state() {
    let e = Enforcer::new();
    let store = MemoryStateStore::new();
    let s = e
        .parse(&map(json!({"core:cel:rules": [
            {"expr": "state.count.minute < 2", "on_false": "request_hold", "message": "slow down"},
            {"expr": "request.host == 'api.good.com'", "on_false": "block"}
        ]})))
        .unwrap();
    let c = with_target(ctx("a", JAN1), "https://API.good.com/");
    assert_eq!(
        e.enforce(&s, &c, &store, false).unwrap().decision,
        Decision::Allow
    );
    assert_eq!(
        e.enforce(&s, &c, &store, false).unwrap().decision,
        Decision::Allow
    );
    let o = e.enforce(&s, &c, &store, false).unwrap();
    assert_eq!(
        (o.decision, o.detail.as_deref()),
        (Decision::RequestHold, Some("slow down"))
    );
    let c = with_target(ctx("a", JAN1), "https://good.com/");
    assert_eq!(
        e.enforce(&s, &c, &store, false).unwrap().decision,
        Decision::Block
    );
}

#[cfg(not(feature = "cel"))]
#[test]
fn without_cel_rules_are_unknown() {
    let e = parse_err(json!({"core:cel:rules": [{"expr": "true"}]}));
    assert_eq!(e.code(), Code::UnknownConstraint);
}

#[test]
fn merge_takes_the_tighter_side() {
    let catalog = map(json!({
        "core:rate:max_per_minute": 100, "core:cost:max_cumulative": 500000,
        "core:cost:cumulative_window": "day",
        "core:scope:domain_allowlist": ["*.good.com", "other.com"],
        "core:scope:action_allowlist": ["email:*"],
        "core:scope:action_blocklist": ["email:delete"],
        "core:data:read_only": false,
        "core:pricing:per_call_cents": 5,
        "core:time:operating_hours": {"start": "09:00", "end": "17:00"},
        "core:safety:fail_closed": true
    }));
    let passport = map(json!({
        "core:rate:max_per_minute": 500, "core:cost:max_cumulative": 100000,
        "core:cost:cumulative_window": "month",
        "core:scope:domain_allowlist": ["api.good.com", "evil.com", "good.com"],
        "core:scope:action_allowlist": ["email:send", "files:*"],
        "core:scope:action_blocklist": ["email:forward"],
        "core:data:read_only": true,
        "core:pricing:per_call_cents": 1,
        "core:pricing:currency": "USD",
        "core:time:operating_hours": {"start": "10:00", "end": "12:00"},
        "core:safety:fail_closed": {"max_age_seconds": 30},
        "acme:x": 1
    }));
    let m = merge(&catalog, &passport).unwrap();
    assert_eq!(m["core:rate:max_per_minute"], json!(100));
    assert_eq!(m["core:cost:max_cumulative"], json!(100000));
    assert_eq!(m["core:cost:cumulative_window"], json!("month"));
    // api.good.com is inside *.good.com; evil.com and the apex good.com are not.
    assert_eq!(m["core:scope:domain_allowlist"], json!(["api.good.com"]));
    assert_eq!(m["core:scope:action_allowlist"], json!(["email:send"]));
    assert_eq!(
        m["core:scope:action_blocklist"],
        json!(["email:delete", "email:forward"])
    );
    assert_eq!(m["core:data:read_only"], json!(true));
    assert_eq!(m["core:pricing:per_call_cents"], json!(5));
    assert!(!m.contains_key("core:pricing:currency"));
    assert_eq!(
        m["core:time:operating_hours"],
        json!({"all_of": [
        {"start": "09:00", "end": "17:00"}, {"start": "10:00", "end": "12:00"}]})
    );
    assert_eq!(m["core:safety:fail_closed"], json!({"max_age_seconds": 30}));
    assert_eq!(m["acme:x"], json!(1));
    // Merging validates.
    let bad = map(json!({"core:rate:max_per_minute": "many"}));
    assert_eq!(
        merge(&catalog, &bad).unwrap_err().code(),
        Code::ConstraintInvalid
    );
    // The merged map parses (except the custom key, which needs a registered evaluator).
    let mut m2 = m.clone();
    m2.remove("acme:x");
    assert!(Enforcer::new().parse(&m2).is_ok());
}

#[test]
fn state_failures_are_errors_for_the_gate() {
    struct Down;
    impl StateStore for Down {
        fn snapshot(&self, _: &str, _: &str, _: Timestamp) -> Result<StateSnapshot> {
            Err(Error::new(Code::StateUnavailable, "down"))
        }
        fn check_and_commit(
            &self,
            _: &Reservation,
        ) -> Result<std::result::Result<crate::state::Committed, crate::state::Exceeded>> {
            Err(Error::new(Code::StateUnavailable, "down"))
        }
        fn release_hold(&self, _: &str, _: &str, _: Timestamp) -> Result<bool> {
            Ok(false)
        }
        fn commit_hold(&self, _: &str, _: &str, _: Timestamp) -> Result<bool> {
            Ok(false)
        }
        fn next_sequence(&self, _: &str, _: Option<u64>) -> Result<(u64, Option<String>)> {
            Ok((1, None))
        }
        fn commit_head(&self, _: &str, _: u64, _: &str) -> Result<bool> {
            Ok(false)
        }
        fn check_nonce(&self, _: &str, _: &str, _: Timestamp, _: Timestamp) -> Result<bool> {
            Ok(false)
        }
        fn record_heartbeat(&self, _: &str, _: Timestamp) -> Result<()> {
            Ok(())
        }
        fn last_heartbeat(&self, _: &str) -> Result<Option<Timestamp>> {
            Ok(None)
        }
    }
    let s = set(json!({"core:rate:max_per_minute": 1}));
    let e = Enforcer::new()
        .enforce(&s, &ctx("a", JAN1), &Down, false)
        .unwrap_err();
    assert_eq!(e.code(), Code::StateUnavailable);
}

#[test]
fn shared_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Enforcer>();
    check::<ConstraintSet>();
    check::<Outcome>();
    check::<crate::state::MemoryStateStore>();
}

#[test]
fn a_stale_snapshot_is_corrected_by_the_atomic_commit() {
    let e = Enforcer::new();
    let store = MemoryStateStore::new();
    let s = set(json!({"core:rate:max_per_minute": 1, "core:approval:required": true}));
    // Another request already used the only slot.
    assert_eq!(
        e.enforce(&s, &ctx("a", JAN1), &store, false)
            .unwrap()
            .decision,
        Decision::RequestHold
    );
    // This one evaluated against a snapshot taken before that commit: provisional hold.
    let pending = e.evaluate(&s, &ctx("a", JAN1 + 1), &StateSnapshot::default());
    assert_eq!(pending.outcome.decision, Decision::RequestHold);
    let r = pending.reservation.unwrap();
    assert!(r.hold.is_some());
    let ex = store.check_and_commit(&r).unwrap().unwrap_err();
    let o = exceeded_outcome(pending.outcome, &ex);
    assert_eq!(
        (o.decision, o.reason.as_deref(), o.hold_id),
        (Decision::Block, Some("core:rate:max_per_minute"), None)
    );
    // The approval evaluation (after the rate key) is gone; the rate key's is the block.
    assert_eq!(o.evaluations.len(), 1);
    assert_eq!(
        o.detail.as_deref(),
        Some("1 actions this minute already; the limit is 1")
    );
}

/// A memory store that counts the reads and commits the enforcer makes (and, `mute`, reports
/// no counts from its commits, as a faulty store might).
#[derive(Default)]
struct Counting {
    inner: MemoryStateStore,
    snapshots: std::sync::atomic::AtomicUsize,
    commits: std::sync::atomic::AtomicUsize,
    mute: bool,
}

impl Counting {
    fn calls(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering::SeqCst;
        (self.snapshots.swap(0, SeqCst), self.commits.swap(0, SeqCst))
    }
}

impl StateStore for Counting {
    fn snapshot(&self, s: &str, c: &str, now: Timestamp) -> Result<StateSnapshot> {
        self.snapshots
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.snapshot(s, c, now)
    }
    fn check_and_commit(
        &self,
        r: &Reservation,
    ) -> Result<std::result::Result<crate::state::Committed, crate::state::Exceeded>> {
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut out = self.inner.check_and_commit(r)?;
        if let (true, Ok(c)) = (self.mute, &mut out) {
            c.counts.clear();
        }
        Ok(out)
    }
    fn release_hold(&self, s: &str, h: &str, now: Timestamp) -> Result<bool> {
        self.inner.release_hold(s, h, now)
    }
    fn commit_hold(&self, s: &str, h: &str, now: Timestamp) -> Result<bool> {
        self.inner.commit_hold(s, h, now)
    }
    fn next_sequence(&self, c: &str, e: Option<u64>) -> Result<(u64, Option<String>)> {
        self.inner.next_sequence(c, e)
    }
    fn commit_head(&self, c: &str, seq: u64, h: &str) -> Result<bool> {
        self.inner.commit_head(c, seq, h)
    }
    fn check_nonce(&self, s: &str, n: &str, now: Timestamp, exp: Timestamp) -> Result<bool> {
        self.inner.check_nonce(s, n, now, exp)
    }
    fn record_heartbeat(&self, s: &str, at: Timestamp) -> Result<()> {
        self.inner.record_heartbeat(s, at)
    }
    fn last_heartbeat(&self, s: &str) -> Result<Option<Timestamp>> {
        self.inner.last_heartbeat(s)
    }
}

#[test]
fn rate_limits_and_spend_caps_cost_one_store_call_and_report_what_it_counted() {
    let e = Enforcer::new();
    let store = Counting::default();
    let s = set(json!({
        "core:scope:action_blocklist": ["nope"],
        "core:rate:max_per_minute": 3,
        "core:cost:max_cumulative": 1000,
        "core:cost:max_per_action": 600,
    }));
    let go = |action: &str, cost: i64, ms: i64| {
        let mut c = ctx(action, ms);
        c.cost_cents = cost;
        e.enforce(&s, &c, &store, false).unwrap()
    };
    // Allowed: the commit alone, and the evaluations show the counters before this action,
    // exactly as a snapshot would have.
    go("buy", 300, JAN1);
    assert_eq!(store.calls(), (0, 1));
    let o = go("buy", 400, JAN1 + 1);
    assert_eq!(store.calls(), (0, 1));
    assert_eq!(o.decision, Decision::Allow);
    let by_key = |o: &Outcome, k: &str| {
        o.evaluations
            .iter()
            .find(|x| &*x.key == k)
            .cloned()
            .unwrap()
    };
    let rate = by_key(&o, "core:rate:max_per_minute");
    assert_eq!(
        (rate.observed, &*rate.detail),
        (json!(1), "2 of 3 this minute")
    );
    let spend = by_key(&o, "core:cost:max_cumulative");
    assert_eq!(
        (spend.observed, &*spend.detail),
        (json!(300), "day spend 300 + 400 within 1000 cents")
    );
    // The same request evaluated against a fresh snapshot reads the same.
    let mut c = ctx("buy", JAN1 + 1);
    c.cost_cents = 400;
    let snap = store.inner.snapshot("pp_1", "perm", ts(JAN1 + 1)).unwrap();
    store.calls();
    let mut at_snapshot = e
        .evaluate(
            &s,
            &c,
            &StateSnapshot {
                count_minute: 1,
                spend_day: 300,
                ..snap
            },
        )
        .outcome;
    at_snapshot.hold_id = None;
    assert_eq!(at_snapshot.evaluations, o.evaluations);
    // Blocked before any counted limit: no store call at all.
    assert_eq!(
        go("nope", 1, JAN1 + 2).reason.as_deref(),
        Some("core:scope:action_blocklist")
    );
    assert_eq!(store.calls(), (0, 0));
    // Refused by the commit: one call, the cap's evaluation blocks with the counted spend.
    let o = go("buy", 301, JAN1 + 3);
    assert_eq!(store.calls(), (0, 1));
    assert_eq!(
        (o.reason.as_deref(), o.detail.as_deref()),
        (
            Some("core:cost:max_cumulative"),
            Some("day spend 700 + 301 would exceed 1000 cents")
        )
    );
    // The rate limit before it passed; its evaluation shows what the store had counted.
    let rate = by_key(&o, "core:rate:max_per_minute");
    assert_eq!(
        (rate.observed, &*rate.detail),
        (json!(2), "3 of 3 this minute")
    );
    // Action blocklist, rate, per-action, cumulative (the refusal): all filled in.
    assert_eq!(o.evaluations.len(), 4);
    assert!(o.evaluations.iter().all(|e| !e.detail.is_empty()));
    // Blocked locally after a counted limit (cost above max_per_action): the counters are
    // read so the earliest limit in evaluation order decides; here the rate limit (2 of 3
    // used, then this third one is fine), so max_per_action blocks. Nothing is committed.
    let o = go("buy", 601, JAN1 + 4);
    assert_eq!(store.calls(), (1, 0));
    assert_eq!(o.reason.as_deref(), Some("core:cost:max_per_action"));
    go("buy", 0, JAN1 + 5);
    store.calls();
    // Now the minute is full: the rate limit comes first in Modei's order, so it is the
    // reason even though max_per_action would block too.
    let o = go("buy", 601, JAN1 + 6);
    assert_eq!(store.calls(), (1, 0));
    assert_eq!(o.reason.as_deref(), Some("core:rate:max_per_minute"));
    // A dry run reads and never commits.
    let mut c = ctx("buy", JAN1 + 7);
    c.cost_cents = 1;
    e.enforce(&s, &c, &store, true).unwrap();
    assert_eq!(store.calls(), (1, 0));
}

#[test]
fn only_evaluators_that_read_the_counters_cost_a_snapshot() {
    let e = Enforcer::new();
    let store = Counting::default();
    let mut needs: Vec<(Value, usize)> = vec![
        (json!({"core:rate:max_per_day": 5}), 0),
        (
            json!({"core:safety:anomaly_suspend": true, "core:rate:max_per_day": 5}),
            1,
        ),
    ];
    if cfg!(feature = "cel") {
        needs.push((
            json!({"core:cel:rules": [{"expr": "request.cost_cents < 100"}]}),
            0,
        ));
        needs.push((
            json!({"core:cel:rules": [{"expr": "state.count.day < 100"}]}),
            1,
        ));
    }
    for (m, snapshots) in needs {
        let s = set(m.clone());
        assert_eq!(
            e.enforce(&s, &ctx("a", JAN1), &store, false)
                .unwrap()
                .decision,
            Decision::Allow,
            "{m}"
        );
        assert_eq!(store.calls(), (snapshots, 1), "{m}");
    }
}

#[test]
fn a_store_that_does_not_report_its_counts_fails_closed() {
    let mute = Counting {
        mute: true,
        ..Default::default()
    };
    let s = set(json!({"core:rate:max_per_minute": 5}));
    let e = Enforcer::new()
        .enforce(&s, &ctx("a", JAN1), &mute, false)
        .unwrap_err();
    assert_eq!(e.code(), Code::StateUnavailable);
    assert!(e.detail().contains("0 counts"), "{}", e.detail());
}
