//! The memory store's behaviour, run against both `MemoryStateStore` and `RedisStateStore`,
//! then what only a shared store can show: many instances, threads and processes, one truth;
//! Redis stopped and restarted mid-run.
mod common;

use common::Server;
use modei_core::error::Code;
use modei_core::state::{
    HoldSpec, MemoryStateStore, RateCheck, Reservation, SpendCap, StateStore, Window,
};
use modei_core::time::Timestamp;
use modei_redis::{RedisConfig, RedisStateStore, MAX_EXACT};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
const T: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(ms)
}

fn redis_store(server: &Server, gate: &str) -> Arc<RedisStateStore> {
    let mut cfg = RedisConfig::new(server.url(), gate);
    // Generous for a busy 2-core CI box; the failure test sets its own.
    cfg.timeout = Duration::from_secs(2);
    Arc::new(RedisStateStore::new(cfg).expect("store"))
}

fn rate(key: &str, window: Window, limit: u64, now: i64) -> Reservation {
    Reservation {
        subject: "p1".into(),
        counter: "read".into(),
        now: ts(now),
        rates: vec![RateCheck {
            key: key.into(),
            window,
            limit,
        }],
        amount: 0,
        caps: vec![],
        hold: None,
    }
}

fn spend(amount: i64, cap: i64, now: i64, hold: Option<(&str, i64)>) -> Reservation {
    Reservation {
        subject: "p1".into(),
        counter: "buy".into(),
        now: ts(now),
        rates: vec![],
        amount,
        caps: vec![SpendCap {
            key: "core:cost:max_cumulative".into(),
            window: Window::Day,
            cap,
        }],
        hold: hold.map(|(id, exp)| HoldSpec {
            id: id.into(),
            expires_at: ts(exp),
        }),
    }
}

// ---- behaviour shared by every store ------------------------------------------------------

fn minute_window_rolls_over_exactly(s: &dyn StateStore) {
    for i in 0..3 {
        assert!(s
            .check_and_commit(&rate("k", Window::Minute, 3, T + i * 1000))
            .unwrap()
            .is_ok());
    }
    let e = s
        .check_and_commit(&rate("k", Window::Minute, 3, T + 59_999))
        .unwrap()
        .unwrap_err();
    assert_eq!((e.current, e.limit, e.key.as_ref()), (3, 3, "k"));
    let c = s
        .check_and_commit(&rate("k", Window::Minute, 3, T + 60_000))
        .unwrap()
        .unwrap();
    assert_eq!(c.counts, vec![1]);
    let snap = s.snapshot("p1", "read", ts(T + 60_000)).unwrap();
    assert_eq!(
        (snap.count_minute, snap.count_hour, snap.count_day),
        (1, 4, 4)
    );
}

fn a_refused_reservation_commits_nothing(s: &dyn StateStore) {
    let both = |now: i64, amount: i64| Reservation {
        subject: "p1".into(),
        counter: "c".into(),
        now: ts(now),
        rates: vec![
            RateCheck {
                key: "m".into(),
                window: Window::Minute,
                limit: 10,
            },
            RateCheck {
                key: "h".into(),
                window: Window::Hour,
                limit: 2,
            },
        ],
        amount,
        caps: vec![SpendCap {
            key: "s".into(),
            window: Window::Day,
            cap: 100,
        }],
        hold: None,
    };
    let c = s.check_and_commit(&both(T, 60)).unwrap().unwrap();
    assert_eq!((c.counts, c.spend), (vec![1, 1], vec![60]));
    let e = s.check_and_commit(&both(T, 50)).unwrap().unwrap_err();
    assert_eq!(
        (e.key.as_ref(), e.current, e.requested, e.limit),
        ("s", 60, 50, 100)
    );
    // What every window held before: both rates and the cap.
    assert_eq!((e.counts, e.spend), (vec![1, 1], vec![60]));
    let snap = s.snapshot("p1", "c", ts(T)).unwrap();
    assert_eq!(
        (snap.count_minute, snap.count_hour, snap.spend_day),
        (1, 1, 60)
    );
    assert!(s.check_and_commit(&both(T, 40)).unwrap().is_ok());
    let e = s.check_and_commit(&both(T, 0)).unwrap().unwrap_err();
    assert_eq!(
        (e.key.as_ref(), e.counts, e.spend),
        ("h", vec![2, 2], vec![100])
    );
    let snap = s.snapshot("p1", "c", ts(T)).unwrap();
    assert_eq!(
        (
            snap.count_minute,
            snap.count_hour,
            snap.spend_day,
            snap.spend_total
        ),
        (2, 2, 100, 100)
    );
}

fn day_window_rolls_at_midnight_utc(s: &dyn StateStore) {
    let midnight = T + DAY_MS;
    assert!(s
        .check_and_commit(&rate("d", Window::Day, 1, midnight - 1))
        .unwrap()
        .is_ok());
    assert!(s
        .check_and_commit(&rate("d", Window::Day, 1, midnight - 1))
        .unwrap()
        .is_err());
    assert!(s
        .check_and_commit(&rate("d", Window::Day, 1, midnight))
        .unwrap()
        .is_ok());
}

fn spend_reservations_release_and_expire(s: &dyn StateStore) {
    let t = T;
    assert!(s
        .check_and_commit(&spend(9750, 10_000, t, None))
        .unwrap()
        .is_ok());
    let e = s
        .check_and_commit(&spend(4500, 10_000, t, None))
        .unwrap()
        .unwrap_err();
    assert_eq!(e.detail(), "day spend 9750 + 4500 would exceed 10000 cents");
    let c = s
        .check_and_commit(&spend(200, 10_000, t, Some(("h1", t + 300_000))))
        .unwrap()
        .unwrap();
    assert_eq!(c.spend, vec![9950]);
    assert!(s
        .check_and_commit(&spend(51, 10_000, t + 1, None))
        .unwrap()
        .is_err());
    assert!(s.release_hold("p1", "h1", ts(t + 2)).unwrap());
    assert!(!s.release_hold("p1", "h1", ts(t + 2)).unwrap());
    assert!(s
        .check_and_commit(&spend(51, 10_000, t + 3, None))
        .unwrap()
        .is_ok());
    assert!(s
        .check_and_commit(&spend(199, 10_000, t + 4, Some(("h2", t + 1000))))
        .unwrap()
        .is_ok());
    assert!(s
        .check_and_commit(&spend(1, 10_000, t + 999, None))
        .unwrap()
        .is_err());
    assert!(s
        .check_and_commit(&spend(1, 10_000, t + 1000, None))
        .unwrap()
        .is_ok());
    assert!(!s.commit_hold("p1", "h2", ts(t + 2000)).unwrap());
    assert!(s
        .check_and_commit(&spend(100, 10_000, t + 3000, Some(("h3", t + 9000))))
        .unwrap()
        .is_ok());
    assert_eq!(
        s.snapshot("p1", "buy", ts(t + 3000)).unwrap().spend_day,
        9902
    );
    assert!(s.commit_hold("p1", "h3", ts(t + 3001)).unwrap());
    assert!(!s.commit_hold("p1", "h3", ts(t + 3002)).unwrap());
    let snap = s.snapshot("p1", "buy", ts(t + 20_000)).unwrap();
    assert_eq!(
        (
            snap.spend_hour,
            snap.spend_day,
            snap.spend_month,
            snap.spend_total
        ),
        (9902, 9902, 9902, 9902)
    );
    // Another counter of the same subject is not charged.
    assert_eq!(
        s.snapshot("p1", "other", ts(t + 20_000)).unwrap().spend_day,
        0
    );
    // Unknown holds.
    assert!(!s.release_hold("p1", "nope", ts(t)).unwrap());
    assert!(!s.commit_hold("p2", "h3", ts(t)).unwrap());
}

fn sequences_compare_and_swap(s: &dyn StateStore) {
    assert_eq!(s.next_sequence("g/p", None).unwrap(), (1, None));
    assert!(s.commit_head("g/p", 1, "h1").unwrap());
    assert!(!s.commit_head("g/p", 1, "h1b").unwrap());
    assert!(!s.commit_head("g/p", 3, "h3").unwrap());
    assert_eq!(
        s.next_sequence("g/p", Some(2)).unwrap(),
        (2, Some("h1".to_string()))
    );
    assert_eq!(
        s.next_sequence("g/p", Some(5)).unwrap_err().code(),
        Code::AttestationSequenceGap
    );
    assert_eq!(s.next_sequence("g/other", None).unwrap(), (1, None));
}

fn commits_read_the_chain_head_in_the_same_step(s: &dyn StateStore) {
    let t = 1_767_225_600_000;
    // A new chain: the next record is the first.
    let (out, head) = s
        .check_and_commit_reading_head(&spend(10, 15, t, None), "pp_h")
        .unwrap();
    assert!(out.is_ok(), "{out:?}");
    assert_eq!(head, (1, None));
    assert!(s.commit_head("pp_h", 1, "h1").unwrap());
    // A refused reservation still reads the head (the block is attested too), commits nothing.
    let (out, head) = s
        .check_and_commit_reading_head(&spend(10, 15, t + 1, None), "pp_h")
        .unwrap();
    assert_eq!(out.unwrap_err().current, 10);
    assert_eq!(head, (2, Some("h1".to_string())));
    assert_eq!(s.next_sequence("pp_h", None).unwrap(), head);
    assert_eq!(s.snapshot("p1", "buy", ts(t + 2)).unwrap().spend_day, 10);
    // Reading the head moves nothing: the compare-and-swap still decides.
    assert!(!s.commit_head("pp_h", 3, "h3").unwrap());
    assert!(s.commit_head("pp_h", 2, "h2").unwrap());
}

fn nonces_expire(s: &dyn StateStore) {
    assert!(s.check_nonce("g", "n1", ts(0), ts(1000)).unwrap());
    assert!(!s.check_nonce("g", "n1", ts(999), ts(2000)).unwrap());
    assert!(s.check_nonce("g", "n1", ts(1000), ts(2000)).unwrap());
    assert!(s.check_nonce("g2", "n1", ts(1000), ts(2000)).unwrap());
    assert!(s.check_nonce("g", "n2", ts(1000), ts(2000)).unwrap());
}

fn anomaly_minutes(s: &dyn StateStore) {
    for i in 0..6 {
        s.check_and_commit(&rate("k", Window::Day, 100, T + i))
            .unwrap()
            .unwrap();
    }
    for i in 0..4 {
        s.check_and_commit(&rate("k", Window::Day, 100, T + 20 * MINUTE_MS + i))
            .unwrap()
            .unwrap();
    }
    let snap = s.snapshot("p1", "read", ts(T + 22 * MINUTE_MS)).unwrap();
    assert_eq!((snap.recent_5m, snap.baseline_30m), (4, 6));
    let snap = s.snapshot("p1", "read", ts(T + 40 * MINUTE_MS)).unwrap();
    assert_eq!((snap.recent_5m, snap.baseline_30m), (0, 4));
}

fn heartbeats_keep_the_latest(s: &dyn StateStore) {
    assert_eq!(s.last_heartbeat("sv").unwrap(), None);
    s.record_heartbeat("sv", ts(10)).unwrap();
    s.record_heartbeat("sv", ts(5)).unwrap();
    assert_eq!(s.last_heartbeat("sv").unwrap(), Some(ts(10)));
}

fn anonymous_subjects_are_separate(s: &dyn StateStore) {
    let anon = |client: &str| Reservation {
        subject: format!("anon:{client}"),
        ..rate("core:rate:max_per_minute", Window::Minute, 2, T)
    };
    assert!(s.check_and_commit(&anon("1.2.3.4")).unwrap().is_ok());
    assert!(s.check_and_commit(&anon("1.2.3.4")).unwrap().is_ok());
    assert!(s.check_and_commit(&anon("1.2.3.4")).unwrap().is_err());
    assert!(s.check_and_commit(&anon("5.6.7.8")).unwrap().is_ok());
    // Key structure characters never make two (subject, counter) pairs collide.
    let pair = |subject: &str, counter: &str| Reservation {
        subject: subject.into(),
        counter: counter.into(),
        ..rate("k", Window::Minute, 1, T)
    };
    assert!(s.check_and_commit(&pair("a:b", "c")).unwrap().is_ok());
    assert!(s.check_and_commit(&pair("a", "b:c")).unwrap().is_ok());
    assert!(s.check_and_commit(&pair("{a}", "%3A")).unwrap().is_ok());
    assert!(s.check_and_commit(&pair("{a}", ":")).unwrap().is_ok());
}

fn amounts_near_2_pow_53_are_exact(s: &dyn StateStore) {
    let big = |amount: i64, now: i64, hold: Option<(&str, i64)>| Reservation {
        caps: vec![SpendCap {
            key: "total".into(),
            window: Window::Total,
            cap: MAX_EXACT,
        }],
        ..spend(amount, 0, now, hold)
    };
    let c = s
        .check_and_commit(&big(MAX_EXACT - 3, T, None))
        .unwrap()
        .unwrap();
    assert_eq!(c.spend, vec![MAX_EXACT - 3]);
    // A hold of 2 near the top, then committed: 2^53 - 2, to the cent.
    s.check_and_commit(&big(2, T + 1, Some(("big", T + 60_000))))
        .unwrap()
        .unwrap();
    assert!(s.commit_hold("p1", "big", ts(T + 2)).unwrap());
    let snap = s.snapshot("p1", "buy", ts(T + 3)).unwrap();
    assert_eq!(
        (snap.spend_hour, snap.spend_day, snap.spend_month),
        (MAX_EXACT - 1, MAX_EXACT - 1, MAX_EXACT - 1)
    );
    assert_eq!(snap.spend_total, MAX_EXACT - 1);
    let c = s.check_and_commit(&big(1, T + 4, None)).unwrap().unwrap();
    assert_eq!(c.spend, vec![MAX_EXACT]);
    let e = s
        .check_and_commit(&big(1, T + 5, None))
        .unwrap()
        .unwrap_err();
    assert_eq!((e.current, e.requested, e.limit), (MAX_EXACT, 1, MAX_EXACT));
    assert_eq!(e.spend, vec![MAX_EXACT]);
}

fn negative_amount_is_invalid(s: &dyn StateStore) {
    let e = s.check_and_commit(&spend(-1, 100, T, None)).unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

fn threads_never_pass_a_cap(make: &dyn Fn() -> Arc<dyn StateStore>) {
    // 4 threads, each with its own store instance (for Redis: its own connections, as
    // separate replicas would have), 150 attempts each on one subject.
    let allowed = Arc::new(AtomicU64::new(0));
    let hs: Vec<_> = (0..4)
        .map(|th| {
            let s = make();
            let allowed = allowed.clone();
            std::thread::spawn(move || {
                for i in 0..150 {
                    let r = Reservation {
                        subject: "hot".into(),
                        counter: "c".into(),
                        now: ts(T + i),
                        rates: vec![RateCheck {
                            key: "core:rate:max_per_day".into(),
                            window: Window::Day,
                            limit: 500,
                        }],
                        amount: 30,
                        caps: vec![SpendCap {
                            key: "core:cost:max_cumulative".into(),
                            window: Window::Total,
                            cap: 10_000 + th,
                        }],
                        hold: None,
                    };
                    if s.check_and_commit(&r).unwrap().is_ok() {
                        allowed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    // floor(10000 / 30) = 333 fit (the cap binds before the rate limit of 500).
    assert_eq!(allowed.load(Ordering::SeqCst), 333);
    let snap = make().snapshot("hot", "c", ts(T + 1000)).unwrap();
    assert_eq!((snap.count_day, snap.spend_total), (333, 9990));
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod memory {
            use super::*;
            $( #[test] fn $name() { super::$name(&MemoryStateStore::new()); } )*
            #[test]
            fn threads_never_pass_a_cap() {
                let shared: Arc<dyn StateStore> = Arc::new(MemoryStateStore::new());
                super::threads_never_pass_a_cap(&move || shared.clone());
            }
        }
        mod redis_store {
            use super::*;
            $( #[test] fn $name() {
                let Some(server) = Server::start() else { return };
                super::$name(redis_store(&server, stringify!($name)).as_ref());
            } )*
            #[test]
            fn threads_never_pass_a_cap() {
                let Some(server) = Server::start() else { return };
                let url = server.url();
                super::threads_never_pass_a_cap(&move || {
                    let mut cfg = RedisConfig::new(url.clone(), "g");
                    cfg.timeout = Duration::from_secs(2);
                    Arc::new(RedisStateStore::new(cfg).unwrap())
                });
            }
        }
    };
}

both!(
    minute_window_rolls_over_exactly,
    a_refused_reservation_commits_nothing,
    day_window_rolls_at_midnight_utc,
    spend_reservations_release_and_expire,
    sequences_compare_and_swap,
    commits_read_the_chain_head_in_the_same_step,
    nonces_expire,
    anomaly_minutes,
    heartbeats_keep_the_latest,
    anonymous_subjects_are_separate,
    amounts_near_2_pow_53_are_exact,
    negative_amount_is_invalid,
);

// ---- only a shared store --------------------------------------------------------------------

#[test]
fn gates_are_namespaced_and_keys_expire() {
    let Some(server) = Server::start() else {
        return;
    };
    let a = redis_store(&server, "gate-a");
    let b = redis_store(&server, "gate-b");
    let now = 1_800_000_000_000; // ttl checks need `now` near the server's clock; any is fine
    a.check_and_commit(&rate("k", Window::Minute, 1, now))
        .unwrap()
        .unwrap();
    // gate-b shares nothing with gate-a.
    b.check_and_commit(&rate("k", Window::Minute, 1, now))
        .unwrap()
        .unwrap();
    assert!(a
        .check_and_commit(&rate("k", Window::Minute, 1, now))
        .unwrap()
        .is_err());
    a.check_and_commit(&spend(5, 100, now, Some(("h", now + 300_000))))
        .unwrap()
        .unwrap();
    a.check_nonce("s", "n", ts(now), ts(now + 60_000)).unwrap();
    a.commit_head("chain", 1, "x").unwrap();
    a.record_heartbeat("gate-a", ts(now)).unwrap();
    let mut c = server.conn();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
    assert!(
        keys.iter()
            .all(|k| k.starts_with("modei:gate-a:") || k.starts_with("modei:gate-b:")),
        "{keys:?}"
    );
    // One hash per counter (no spend yet: the buy was a hold), its holds, the hold index,
    // anomaly minutes, the nonce, the chain head and the heartbeat.
    for k in [
        "modei:gate-a:c:{p1}:read",
        "modei:gate-a:c:{p1}:buy",
        "modei:gate-b:c:{p1}:read",
        "modei:gate-a:h:{p1}:buy",
        "modei:gate-a:hi:{p1}",
        "modei:gate-a:a:{p1}",
    ] {
        assert!(keys.contains(&k.to_owned()), "{k} not in {keys:?}");
    }
    assert_eq!(keys.len(), 10, "{keys:?}");
    for k in &keys {
        let ttl = pttl(&mut c, k);
        let durable = k.contains(":q:{") || k.contains(":hb:{");
        if durable {
            assert_eq!(ttl, -1, "{k} is durable");
        } else {
            assert!(ttl > 0, "{k} has no TTL ({ttl})");
            // A counter without spend ends with its month: at most 31 days + grace.
            assert!(ttl <= 31 * DAY_MS + 60_000, "{k}: {ttl}");
        }
        if k.contains(":c:{") {
            assert!(ttl <= month_ttl(now), "{k}: {ttl}");
            assert!(ttl > month_ttl(now) - 10_000, "{k}: {ttl}");
        }
    }
    // A counter that spent money keeps its total forever (budgets never reset).
    a.check_and_commit(&spend(5, 100, now, None))
        .unwrap()
        .unwrap();
    assert_eq!(pttl(&mut c, "modei:gate-a:c:{p1}:buy"), -1);
    assert!(pttl(&mut c, "modei:gate-a:c:{p1}:read") > 0);
}

fn pttl(c: &mut redis::Connection, k: &str) -> i64 {
    redis::cmd("PTTL").arg(k).query(c).unwrap()
}

/// The TTL a counter without spend gets at `now`: to the end of the month, plus grace (60 s).
fn month_ttl(now: i64) -> i64 {
    let next = Window::Month.start(ts(Window::Month.start(ts(now)) + 32 * DAY_MS));
    next - now + 60_000
}

/// A counter hash's fields (`m`, `h`, `d`, `M`: `start:count:cents`; `t`: `count:cents`).
fn fields(c: &mut redis::Connection, k: &str) -> HashMap<String, String> {
    redis::cmd("HGETALL").arg(k).query(c).unwrap()
}

/// The fields expected at `now` for (count, cents) in the minute, hour, day, month and total.
fn expect_fields(now: i64, v: [(i64, i64); 5]) -> HashMap<String, String> {
    let mut m = HashMap::new();
    let names = ["m", "h", "d", "M"];
    for (i, w) in [Window::Minute, Window::Hour, Window::Day, Window::Month]
        .into_iter()
        .enumerate()
    {
        let (n, s) = v[i];
        m.insert(names[i].to_owned(), format!("{}:{n}:{s}", w.start(ts(now))));
    }
    m.insert("t".to_owned(), format!("{}:{}", v[4].0, v[4].1));
    m
}

/// A private server, a store on gate `g`, and a raw connection to inspect its keys.
fn inspected() -> Option<(Server, Arc<RedisStateStore>, redis::Connection)> {
    let server = Server::start()?;
    let s = redis_store(&server, "g");
    let c = server.conn();
    Some((server, s, c))
}

/// The counter hash of `spend` reservations on gate `g`.
const BUY: &str = "modei:g:c:{p1}:buy";

#[test]
fn stale_window_fields_read_as_zero_and_are_rewritten() {
    let Some((_server, s, mut c)) = inspected() else {
        return;
    };
    let key = BUY;
    let buy = |amount: i64, now: i64| {
        s.check_and_commit(&spend(amount, 1_000_000, now, None))
            .unwrap()
            .unwrap()
    };
    let t = T + 10 * DAY_MS + 5 * 3_600_000 + 7 * MINUTE_MS; // 2026-01-11 05:07
    buy(10, t);
    assert_eq!(fields(&mut c, key), expect_fields(t, [(1, 10); 5]));
    // Each step starts a new window (and every longer one stays): the stale field reads as
    // zero in the snapshot and the check, and the commit rewrites it with its new start.
    let steps = [
        (t + MINUTE_MS, [(1, 20), (2, 30), (2, 30), (2, 30), (2, 30)]),
        (t + 3_600_000, [(1, 30), (1, 30), (3, 60), (3, 60), (3, 60)]),
        (t + DAY_MS, [(1, 40), (1, 40), (1, 40), (4, 100), (4, 100)]),
        (
            T + 31 * DAY_MS,
            [(1, 50), (1, 50), (1, 50), (1, 50), (5, 150)],
        ),
    ];
    let mut amount = 20;
    for (now, want) in steps {
        let snap = s.snapshot("p1", "buy", ts(now)).unwrap();
        assert_eq!(
            (snap.count_minute, snap.spend_hour, snap.spend_month),
            (0, want[1].1 - amount, want[3].1 - amount),
            "at {now}"
        );
        let got = buy(amount, now);
        assert_eq!(got.spend, vec![want[2].1], "day spend at {now}");
        assert_eq!(fields(&mut c, key), expect_fields(now, want), "at {now}");
        amount += 10;
    }
    // A rate check counts against the rewritten field too.
    let minute = |now: i64| rate("r", Window::Minute, 1, now);
    s.check_and_commit(&minute(t)).unwrap().unwrap();
    assert!(s.check_and_commit(&minute(t)).unwrap().is_err());
    let c2 = s.check_and_commit(&minute(t + MINUTE_MS)).unwrap().unwrap();
    assert_eq!(c2.counts, vec![1]);
}

#[test]
fn a_replica_behind_counts_in_the_window_already_started() {
    let Some(server) = Server::start() else {
        return;
    };
    let ahead = redis_store(&server, "g");
    let behind = redis_store(&server, "g");
    let midnight = T + DAY_MS;
    let day = |now: i64| rate("d", Window::Day, 10, now);
    ahead
        .check_and_commit(&day(midnight - 5000))
        .unwrap()
        .unwrap();
    ahead
        .check_and_commit(&day(midnight + 10))
        .unwrap()
        .unwrap();
    // 2 s behind: still the old day by its clock, but the new day has started; it counts
    // there and never resets it.
    let c = behind
        .check_and_commit(&day(midnight - 2000))
        .unwrap()
        .unwrap();
    assert_eq!(c.counts, vec![2]);
    let c = ahead
        .check_and_commit(&day(midnight + 20))
        .unwrap()
        .unwrap();
    assert_eq!(c.counts, vec![3]);
    let f = fields(&mut server.conn(), "modei:g:c:{p1}:read");
    assert_eq!(f["d"], format!("{midnight}:3:0"));
    assert_eq!(f["t"], "4:0");
}

#[test]
fn spend_makes_a_counter_persistent_and_zero_spend_ends_with_its_month() {
    let Some((_server, s, mut c)) = inspected() else {
        return;
    };
    let key = BUY;
    let t = T + 3 * DAY_MS; // 2026-01-04
    let ttl_ok = |c: &mut redis::Connection, now: i64| {
        let ttl = pttl(c, key);
        assert!(
            ttl <= month_ttl(now) && ttl > month_ttl(now) - 10_000,
            "{ttl} vs {}",
            month_ttl(now)
        );
    };
    // No spend (amount 0): the key ends with January, plus grace.
    s.check_and_commit(&spend(0, 100, t, None))
        .unwrap()
        .unwrap();
    ttl_ok(&mut c, t);
    // Later calls in the same month do not renew it (set a marker TTL and see it kept).
    let _: () = redis::cmd("PEXPIRE")
        .arg(key)
        .arg(40 * DAY_MS)
        .query(&mut c)
        .unwrap();
    s.check_and_commit(&spend(0, 100, t + DAY_MS, None))
        .unwrap()
        .unwrap();
    assert!(pttl(&mut c, key) > 39 * DAY_MS);
    // A new month (February) sets it again, to February's end.
    let feb = T + 31 * DAY_MS + 5 * MINUTE_MS;
    s.check_and_commit(&spend(0, 100, feb, None))
        .unwrap()
        .unwrap();
    ttl_ok(&mut c, feb);
    // A hold does not spend yet; its commit does: the key becomes persistent.
    s.check_and_commit(&spend(7, 100, feb + 1, Some(("h", feb + 60_000))))
        .unwrap()
        .unwrap();
    ttl_ok(&mut c, feb);
    assert!(s.commit_hold("p1", "h", ts(feb + 2)).unwrap());
    assert_eq!(pttl(&mut c, key), -1);
    // It stays persistent across months (the total budget never resets).
    let mar = T + 59 * DAY_MS;
    s.check_and_commit(&spend(0, 100, mar, None))
        .unwrap()
        .unwrap();
    assert_eq!(pttl(&mut c, key), -1);
    assert_eq!(s.snapshot("p1", "buy", ts(mar)).unwrap().spend_total, 7);
    // A counter made with spend has no TTL from the start.
    s.check_and_commit(&Reservation {
        counter: "other".into(),
        ..spend(1, 100, mar, None)
    })
    .unwrap()
    .unwrap();
    assert_eq!(pttl(&mut c, "modei:g:c:{p1}:other"), -1);
    // A counter that only counts (rates) keeps a TTL to its month's end.
    s.check_and_commit(&rate("r", Window::Minute, 5, mar))
        .unwrap()
        .unwrap();
    let ttl = pttl(&mut c, "modei:g:c:{p1}:read");
    assert!(ttl > 0 && ttl <= month_ttl(mar), "{ttl}");
}

#[test]
fn a_committed_hold_adds_to_every_window() {
    let Some((_server, s, mut c)) = inspected() else {
        return;
    };
    let key = BUY;
    let t = T + 40 * MINUTE_MS;
    s.check_and_commit(&spend(100, 10_000, t, None))
        .unwrap()
        .unwrap();
    s.check_and_commit(&spend(700, 10_000, t + 1, Some(("h", t + 600_000))))
        .unwrap()
        .unwrap();
    // Reserved, not spent: counted in every window, no cents in the hash yet.
    assert_eq!(fields(&mut c, key), expect_fields(t, [(2, 100); 5]));
    // Committed two minutes later: the minute field has rolled (no action, the cents), the
    // longer windows keep their counts and get the cents.
    let at = t + 2 * MINUTE_MS;
    assert!(s.commit_hold("p1", "h", ts(at)).unwrap());
    assert_eq!(
        fields(&mut c, key),
        expect_fields(at, [(0, 700), (2, 800), (2, 800), (2, 800), (2, 800)])
    );
    let snap = s.snapshot("p1", "buy", ts(at)).unwrap();
    assert_eq!(
        (
            snap.spend_hour,
            snap.spend_day,
            snap.spend_month,
            snap.spend_total
        ),
        (800, 800, 800, 800)
    );
    // A released hold adds nothing.
    s.check_and_commit(&spend(50, 10_000, at, Some(("h2", at + 600_000))))
        .unwrap()
        .unwrap();
    assert!(s.release_hold("p1", "h2", ts(at + 1)).unwrap());
    assert_eq!(
        fields(&mut c, key),
        expect_fields(at, [(1, 700), (3, 800), (3, 800), (3, 800), (3, 800)])
    );
}

#[test]
fn amounts_near_2_pow_53_are_stored_to_the_cent() {
    let Some(server) = Server::start() else {
        return;
    };
    let s = redis_store(&server, "g");
    amounts_near_2_pow_53_are_exact(s.as_ref());
    let f = fields(&mut server.conn(), "modei:g:c:{p1}:buy");
    // 2^53 - 1 = 9007199254740991: written with all its digits (not 9.007199254741e+15).
    assert_eq!(f["t"], "3:9007199254740991");
    assert_eq!(
        f["M"],
        format!("{}:3:9007199254740991", Window::Month.start(ts(T)))
    );
}

#[test]
fn processes_never_pass_a_cap_nor_reuse_nonces_nor_skip_sequences() {
    let Some(server) = Server::start() else {
        return;
    };
    let bin = env!("CARGO_BIN_EXE_modei-redis-hammer");
    let run = |mode: &str, n: u32| -> Vec<u64> {
        let children: Vec<_> = (0..3)
            .map(|i| {
                std::process::Command::new(bin)
                    .args([
                        &server.url(),
                        "procs",
                        mode,
                        &n.to_string(),
                        &format!("p{i}"),
                    ])
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        children
            .into_iter()
            .map(|c| {
                let out = c.wait_with_output().unwrap();
                assert!(out.status.success());
                let s = String::from_utf8(out.stdout).unwrap();
                s.trim().strip_prefix("allowed=").unwrap().parse().unwrap()
            })
            .collect()
    };
    // 3 × 200 attempts of 7 cents under a 1000-cent cap: exactly 142 pass (994 cents).
    let caps = run("cap", 200);
    assert_eq!(caps.iter().sum::<u64>(), 142, "{caps:?}");
    let s = redis_store(&server, "procs");
    assert_eq!(s.snapshot("hot", "c", ts(T)).unwrap().spend_total, 994);
    // The same 300 nonces from 3 processes: each accepted exactly once.
    let nonces = run("nonce", 300);
    assert_eq!(nonces.iter().sum::<u64>(), 300, "{nonces:?}");
    // 3 × 100 appends with compare-and-swap: the head is at 300, every append landed once.
    let seqs = run("seq", 100);
    assert_eq!(seqs, vec![100, 100, 100]);
    assert_eq!(s.next_sequence("chain", None).unwrap().0, 301);
}

#[test]
fn threads_with_cas_get_contiguous_sequences() {
    let Some(server) = Server::start() else {
        return;
    };
    let got: Vec<Vec<u64>> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..4)
            .map(|th| {
                let s = redis_store(&server, "seq");
                sc.spawn(move || {
                    let mut mine = vec![];
                    while mine.len() < 50 {
                        let (seq, prev) = s.next_sequence("c", None).unwrap();
                        assert_eq!(prev.is_some(), seq > 1);
                        if s.commit_head("c", seq, &format!("t{th}-{seq}")).unwrap() {
                            mine.push(seq);
                        }
                    }
                    mine
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<u64> = got.into_iter().flatten().collect();
    all.sort();
    assert_eq!(all, (1..=200).collect::<Vec<_>>());
}

#[test]
fn redis_down_is_state_unavailable_and_service_resumes() {
    // Persistent, as production should run it (AOF, fsync on every write).
    let Some(mut server) = Server::start_with(&["--appendonly", "yes", "--appendfsync", "always"])
    else {
        return;
    };
    let mut cfg = RedisConfig::new(server.url(), "down");
    cfg.timeout = Duration::from_millis(200);
    let s = RedisStateStore::new(cfg).unwrap();
    let r = |i: i64| spend(10, 100, T + i, None);
    for i in 0..5 {
        assert!(s.check_and_commit(&r(i)).unwrap().is_ok());
    }
    s.commit_head("c", 1, "h1").unwrap();
    server.stop();
    let t0 = Instant::now();
    for i in 0..3 {
        let e = s.check_and_commit(&r(10 + i)).unwrap_err();
        assert_eq!(e.code(), Code::StateUnavailable, "{e}");
        assert_eq!(
            s.check_nonce("g", "n", ts(T), ts(T + 1000))
                .unwrap_err()
                .code(),
            Code::StateUnavailable
        );
        assert_eq!(
            s.next_sequence("c", None).unwrap_err().code(),
            Code::StateUnavailable
        );
    }
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "fails fast: {:?}",
        t0.elapsed()
    );
    server.restart();
    // Reconnects on its own; nothing was lost or counted twice: 50 spent, 5 more fit.
    let mut ok = 0;
    for i in 0..10 {
        if s.check_and_commit(&r(20 + i)).unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 5);
    assert_eq!(s.next_sequence("c", None).unwrap(), (2, Some("h1".into())));
}

#[test]
fn a_slow_redis_times_out_as_state_unavailable() {
    let Some(server) = Server::start_with(&["--enable-debug-command", "local"]) else {
        return;
    };
    let mut cfg = RedisConfig::new(server.url(), "slow");
    cfg.timeout = Duration::from_millis(50);
    let s = RedisStateStore::new(cfg).unwrap();
    s.ping().unwrap();
    // Stall the server for 500 ms from another connection.
    let url = server.url();
    let h = std::thread::spawn(move || {
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        let _: () = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg("0.5")
            .query(&mut c)
            .unwrap();
    });
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    let e = s
        .check_and_commit(&rate("k", Window::Minute, 10, T))
        .unwrap_err();
    assert_eq!(e.code(), Code::StateUnavailable);
    assert!(
        t0.elapsed() < Duration::from_millis(400),
        "{:?}",
        t0.elapsed()
    );
    h.join().unwrap();
    // The late answer is not read on a fresh connection: the next call is in sync.
    let c = s
        .check_and_commit(&rate("k", Window::Minute, 10, T))
        .unwrap()
        .unwrap();
    // The timed-out script may or may not have run after the stall (Redis drops the queued
    // command of a closed client, or runs it first): counted at most once, never over a limit.
    assert!(c.counts == vec![1] || c.counts == vec![2], "{:?}", c.counts);
}
