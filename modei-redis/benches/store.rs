//! Store operations against a private local `redis-server` vs `MemoryStateStore`.
//!
//! `cargo bench -p modei-redis` (needs `redis-server` on PATH). Prints, for a typical
//! `check_and_commit` (one rate limit, one spend cap), the latency per call (median, p99) of
//! both stores and the difference, then Redis calls per second with 1, 2 and 4 client threads.
//! `BENCH_SECS` sets the seconds per throughput run (default 3).
#[path = "../tests/common/mod.rs"]
mod common;

use modei_core::state::{MemoryStateStore, RateCheck, Reservation, SpendCap, StateStore, Window};
use modei_core::time::Timestamp;
use modei_redis::{RedisConfig, RedisStateStore};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn reservation(subject: &str, i: i64) -> Reservation {
    Reservation {
        subject: subject.into(),
        counter: "travel:book".into(),
        now: Timestamp::from_unix_millis(1_800_000_000_000 + i),
        rates: vec![RateCheck {
            key: "core:rate:max_per_day".into(),
            window: Window::Day,
            limit: u64::MAX,
        }],
        amount: 1,
        caps: vec![SpendCap {
            key: "core:cost:max_cumulative".into(),
            window: Window::Day,
            cap: i64::MAX,
        }],
        hold: None,
    }
}

fn latencies(s: &dyn StateStore, n: usize) -> Vec<Duration> {
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        let r = reservation(&format!("p{}", i % 64), i as i64);
        let t = Instant::now();
        let ok = s.check_and_commit(&r);
        v.push(t.elapsed());
        assert!(matches!(ok, Ok(Ok(_))), "{ok:?}");
    }
    v.sort();
    v
}

fn main() {
    let Some(server) = common::Server::start() else {
        return;
    };
    let secs = common::bench_secs();
    let mut cfg = RedisConfig::new(server.url(), "bench");
    cfg.timeout = Duration::from_secs(1);
    let redis = Arc::new(RedisStateStore::new(cfg).expect("store"));
    let mem = MemoryStateStore::new();
    latencies(redis.as_ref(), 2000); // warm: connection, script cache
    latencies(&mem, 2000);
    let n = 20_000;
    let m = latencies(&mem, n);
    let r = latencies(redis.as_ref(), n);
    let (mm, m99, rm, r99) = (
        common::pct(&m, 0.5),
        common::pct(&m, 0.99),
        common::pct(&r, 0.5),
        common::pct(&r, 0.99),
    );
    println!("check_and_commit latency ({n} calls each):");
    println!(
        "  memory: median {:>7.1} us  p99 {:>7.1} us",
        mm.as_secs_f64() * 1e6,
        m99.as_secs_f64() * 1e6
    );
    println!(
        "  redis:  median {:>7.1} us  p99 {:>7.1} us",
        rm.as_secs_f64() * 1e6,
        r99.as_secs_f64() * 1e6
    );
    println!(
        "  added by redis: median {:.1} us, p99 {:.1} us",
        (rm.as_secs_f64() - mm.as_secs_f64()) * 1e6,
        (r99.as_secs_f64() - m99.as_secs_f64()) * 1e6
    );
    println!("redis check_and_commit throughput ({secs} s per run):");
    for threads in [1usize, 2, 4] {
        let s = &redis;
        let per_s = common::per_second(threads, secs, |th, k| {
            let r = reservation(&format!("t{th}-{}", k % 64), k as i64);
            matches!(s.check_and_commit(&r), Ok(Ok(_)))
        });
        println!("  {threads} thread(s): {per_s:>8.0} ops/s");
    }
    // Other operations, one thread, mean per call.
    let t = Instant::now();
    for i in 0..5000 {
        let _ = redis.check_nonce(
            "bench",
            &format!("n{i}"),
            Timestamp::from_unix_millis(0),
            Timestamp::from_unix_millis(300_000),
        );
    }
    println!(
        "  check_nonce: {:.1} us/call",
        t.elapsed().as_secs_f64() * 1e6 / 5000.0
    );
    let t = Instant::now();
    for i in 0..5000 {
        let _ = redis.snapshot(
            &format!("p{}", i % 64),
            "travel:book",
            Timestamp::from_unix_millis(1_800_000_000_000),
        );
    }
    println!(
        "  snapshot:    {:.1} us/call",
        t.elapsed().as_secs_f64() * 1e6 / 5000.0
    );
}
