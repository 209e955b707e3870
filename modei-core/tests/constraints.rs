//! The enforcement layer through its public API, as a gate uses it: parse once, enforce per
//! request against a shared state store.

#[cfg(feature = "tzdb")]
use modei_core::constraints::merge;
use modei_core::constraints::{Decision, Enforcer, EvalContext, PassportInfo};
use modei_core::state::{MemoryStateStore, StateStore};
use modei_core::target::{DomainPattern, Target};
use modei_core::time::Timestamp;
use modei_core::Code;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

// 2026-03-02T00:00:00Z, a Monday: 2026-01-01 (1_767_225_600_000) is a Thursday, and
// 31 (Jan) + 28 (Feb) + 1 = 60 days later is Monday March 2.
const MON_MAR2: i64 = 1_767_225_600_000 + 60 * 86_400_000;
#[cfg(feature = "tzdb")]
const HOUR: i64 = 3_600_000;

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn ctx<'a>(action: &'a str, target: Option<&str>, cost: i64, now: i64) -> EvalContext<'a> {
    let mut c = EvalContext::new(action, Timestamp::from_unix_millis(now));
    c.target = target.map(|t| Target::parse(t).unwrap());
    c.cost_cents = cost;
    c.heartbeat = Some(Timestamp::from_unix_millis(now - 1000));
    c.passport = PassportInfo {
        passport_id: "pp_alpha",
        agent_id: "agent_alpha",
        issuer: "issuer_1",
        tier: "L2",
        permission: "travel:book",
    };
    c
}

#[cfg(feature = "tzdb")]
#[test]
fn a_travel_agent_day() {
    let catalog = obj(json!({
        "core:scope:domain_allowlist": ["*.airline.example", "hotel.example"],
        "core:cost:max_per_action": 100_000,
        "core:cost:max_cumulative": 200_000,
        "core:rate:max_per_hour": 100,
        "core:pricing:per_call_cents": 2,
        "core:safety:fail_closed": true
    }));
    let passport = obj(json!({
        "core:scope:domain_allowlist": ["api.airline.example", "hotel.example", "evil.example"],
        "core:cost:max_cumulative": 50_000,
        "core:cost:approval_threshold": 20_000,
        "core:time:operating_hours": {"start": "08:00", "end": "20:00", "timezone": "Europe/Paris",
                                       "days": ["mon", "tue", "wed", "thu", "fri"]},
        "core:pricing:per_call_cents": 0
    }));
    let merged = merge(&catalog, &passport).unwrap();
    let enforcer = Enforcer::new();
    let set = enforcer.parse(&merged).unwrap();
    assert_eq!(set.terms()["core:pricing:per_call_cents"], json!(2));
    let store = MemoryStateStore::new();
    // Paris in March (before the last Sunday) is UTC+1: 08:00 local = 07:00 UTC.
    let t = MON_MAR2 + 9 * HOUR;
    let run = |action: &str, target: &str, cost: i64, now: i64| {
        enforcer
            .enforce(&set, &ctx(action, Some(target), cost, now), &store, false)
            .unwrap()
    };

    let o = run(
        "flight:search",
        "https://API.airline.example/search?to=CDG",
        0,
        t,
    );
    assert_eq!(o.decision, Decision::Allow, "{o:?}");
    // evil.example was only in the passport: the merge dropped it.
    let o = run("flight:search", "https://evil.example/", 0, t);
    assert_eq!(o.reason.as_deref(), Some("core:scope:domain_allowlist"));
    // Userinfo tricks never reach the evaluators.
    assert_eq!(
        Target::parse("https://api.airline.example@evil.example/")
            .unwrap_err()
            .code(),
        Code::RequestInvalid
    );
    // 30000 >= 20000: a hold; its 30000 is reserved.
    let o = run("flight:book", "https://api.airline.example/book", 30_000, t);
    assert_eq!(
        (o.decision, o.reason.as_deref()),
        (Decision::RequestHold, Some("core:cost:approval_threshold"))
    );
    let hold = o.hold_id.clone().unwrap();
    // 30000 reserved + 19000 = 49000 <= 50000: allowed.
    let o = run("hotel:book", "https://hotel.example/book", 19_000, t + 1);
    assert_eq!(o.decision, Decision::Allow);
    // 49000 + 1001 = 50001 > 50000: blocked with the documented sentence.
    let o = run("hotel:book", "https://hotel.example/book", 1_001, t + 2);
    assert_eq!(o.reason.as_deref(), Some("core:cost:max_cumulative"));
    assert_eq!(
        o.detail.as_deref(),
        Some("day spend 49000 + 1001 would exceed 50000 cents")
    );
    // The human denies the hold: its reservation is released; 19000 + 1001 = 20001 fits.
    assert!(store
        .release_hold("pp_alpha", &hold, Timestamp::from_unix_millis(t + 3))
        .unwrap());
    let o = run("hotel:book", "https://hotel.example/book", 1_001, t + 4);
    assert_eq!(o.decision, Decision::Allow);
    // 21:00 Paris (20:00 UTC) is outside operating hours.
    let o = run(
        "flight:search",
        "https://api.airline.example/",
        0,
        MON_MAR2 + 20 * HOUR,
    );
    assert_eq!(o.reason.as_deref(), Some("core:time:operating_hours"));
    // A stale heartbeat blocks everything first.
    let mut c = ctx(
        "flight:search",
        Some("https://api.airline.example/"),
        0,
        t + 5,
    );
    c.heartbeat = Some(Timestamp::from_unix_millis(t + 5 - 121_000));
    let o = enforcer.enforce(&set, &c, &store, false).unwrap();
    assert_eq!(o.reason.as_deref(), Some("core:safety:fail_closed"));
}

#[test]
fn eight_threads_never_pass_the_caps() {
    let enforcer = Arc::new(Enforcer::new());
    let set = Arc::new(
        enforcer
            .parse(&obj(json!({
                "core:rate:max_per_minute": 1000,
                "core:cost:max_cumulative": 100_000,
                "core:cost:cumulative_window": "total"
            })))
            .unwrap(),
    );
    let store = Arc::new(MemoryStateStore::new());
    let allowed = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (e, s, st, n) = (
                enforcer.clone(),
                set.clone(),
                store.clone(),
                allowed.clone(),
            );
            std::thread::spawn(move || {
                for i in 0..250 {
                    let c = ctx("api:call", None, 300, MON_MAR2 + i);
                    if e.enforce(&s, &c, st.as_ref(), false).unwrap().decision == Decision::Allow {
                        n.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // 2000 attempts of 300 cents against 100000 total: floor(100000 / 300) = 333 pass.
    assert_eq!(allowed.load(Ordering::SeqCst), 333);
    let snap = store
        .snapshot(
            "pp_alpha",
            "travel:book",
            Timestamp::from_unix_millis(MON_MAR2 + 300),
        )
        .unwrap();
    assert_eq!((snap.spend_total, snap.count_minute), (99_900, 333));
}

#[test]
fn eight_threads_rate_limit_is_exact() {
    let enforcer = Arc::new(Enforcer::new());
    let set = Arc::new(
        enforcer
            .parse(&obj(json!({"core:rate:max_per_minute": 77})))
            .unwrap(),
    );
    let store = Arc::new(MemoryStateStore::new());
    let allowed = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (e, s, st, n) = (
                enforcer.clone(),
                set.clone(),
                store.clone(),
                allowed.clone(),
            );
            std::thread::spawn(move || {
                for i in 0..50 {
                    let c = ctx("api:call", None, 0, MON_MAR2 + i);
                    if e.enforce(&s, &c, st.as_ref(), false).unwrap().decision == Decision::Allow {
                        n.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(allowed.load(Ordering::SeqCst), 77);
}

#[test]
fn anonymous_counters_are_separate_subjects() {
    let enforcer = Enforcer::new();
    let set = enforcer
        .parse(&obj(
            json!({"rate_limit_per_minute": 5, "core:data:read_only": true}),
        ))
        .unwrap();
    let store = MemoryStateStore::new();
    let anon = |client: &str, action: &str| {
        let subject = format!("anon:{client}");
        let mut c = EvalContext::new(action, Timestamp::from_unix_millis(MON_MAR2));
        c.passport.passport_id = &subject;
        enforcer.enforce(&set, &c, &store, false).unwrap()
    };
    for _ in 0..5 {
        assert_eq!(anon("1.2.3.4", "docs:read").decision, Decision::Allow);
    }
    assert_eq!(
        anon("1.2.3.4", "docs:read").reason.as_deref(),
        Some("rate_limit_per_minute")
    );
    assert_eq!(anon("5.6.7.8", "docs:read").decision, Decision::Allow);
    assert_eq!(
        anon("5.6.7.8", "docs:update").reason.as_deref(),
        Some("core:data:read_only")
    );
}

#[test]
fn domain_patterns_document_their_edges() {
    let p = DomainPattern::parse("*.good.com").unwrap();
    let host = |t: &str| Target::parse(t).unwrap().host().unwrap().to_string();
    assert!(p.matches(&host("https://a.good.com")));
    assert!(!p.matches(&host("https://good.com")));
    assert!(!p.matches(&host("https://good.com.evil.com")));
    assert!(!p.matches(&host("https://xgood.com")));
    assert!(DomainPattern::parse(".good.com")
        .unwrap()
        .matches(&host("GOOD.com.")));
}

#[test]
fn unknown_keys_fail_closed() {
    let e = Enforcer::new()
        .parse(&obj(json!({"core:scope:future_key": true})))
        .unwrap_err();
    assert_eq!(e.code(), Code::UnknownConstraint);
}
