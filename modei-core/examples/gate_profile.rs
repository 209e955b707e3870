//! Runs the gate benchmark's check (`benches/support/gate_setup.rs`) N times, for profilers and
//! for counting what one check allocates:
//!
//! ```sh
//! cargo build --release -p modei-core --example gate_profile
//! target/release/examples/gate_profile warm 100000        # prints allocations per check
//! valgrind --tool=callgrind target/release/examples/gate_profile warm 2000
//! perf record -g target/release/examples/gate_profile cold 20000
//! ```
//! Modes: `warm` (cached passport, no attestation), `warm-nocel`, `warm-attested`, `cold`
//! (a gate whose cache grows), `cold-steady` (the bench's steady state: the default cache full);
//! `ratio [rounds]` alternates blocks of raw `verify_strict` of the token's signature, cold
//! checks (one template, and distinct constraints), warm checks and passport verification alone
//! (on-CPU time, so other load falls on all alike) at a gate in the bench's steady state, and
//! prints the medians and the ratios to raw; `latency [n]` times n cold checks one by one at
//! the steady-state gate and prints the distribution (the check that starts a new cache
//! generation frees the old one).
#[path = "../benches/support/gate_setup.rs"]
mod gate_setup;

#[path = "../benches/support/cpu_time.rs"]
mod cpu_time;
use cpu_time::cpu_ns;
use gate_setup::*;
use modei_core::keys::SigningKey;
use modei_core::time::Timestamp;
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The system allocator, counting allocations.
struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);
/// Allocations by size: up to 128 bytes (glibc's fast bins), 512, 1024, 4096, and larger.
static SIZES: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

fn count(size: usize) {
    ALLOCS.fetch_add(1, Ordering::Relaxed);
    let bucket = [128, 512, 1024, 4096]
        .iter()
        .take_while(|&&b| size > b)
        .count();
    SIZES[bucket].fetch_add(1, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count(l.size());
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        count(n);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let mode = a.get(1).map(String::as_str).unwrap_or("warm");
    let n: usize = a.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let issuer = SigningKey::from_seed(&[1; 32]);
    let agent = SigningKey::from_seed(&[2; 32]);
    let now = Timestamp::from_unix_millis(T0);
    if mode == "ratio" {
        return ratio(&issuer, &agent, now, n.max(5));
    }
    if mode == "latency" {
        return latency(&issuer, &agent, now, n.max(100));
    }
    let (attest, cel) = match mode {
        "warm" | "cold" | "cold-steady" => (false, true),
        "warm-nocel" => (false, false),
        "warm-attested" => (true, true),
        m => panic!("unknown mode {m}"),
    };
    let g = if mode == "cold-steady" {
        steady_gate(&issuer, &agent, 8192)
    } else {
        gate(&issuer, attest, false)
    };
    let reqs: Vec<_> = if mode.starts_with("cold") {
        (0..n as i64)
            .map(|i| request(&token(&issuer, &agent, i % 100_000 + 1)))
            .collect()
    } else {
        vec![request(&token_with(&issuer, &agent, 0, cel))]
    };
    assert!(g.check_at(&reqs[0], now).is_allowed());
    assert!(g.check_at(&reqs[0], now).is_allowed());
    perf_control("enable");
    let sizes0 = SIZES.each_ref().map(|c| c.load(Ordering::Relaxed));
    let (a0, t0, c0) = (ALLOCS.load(Ordering::Relaxed), Instant::now(), cpu_ns());
    for i in 0..n {
        let r = &reqs[i % reqs.len()];
        black_box(g.check_at(black_box(r), now));
    }
    perf_control("disable");
    let (dt, dc) = (t0.elapsed(), cpu_ns() - c0);
    let da = ALLOCS.load(Ordering::Relaxed) - a0;
    println!(
        "{mode}: {:.2} us per check on-CPU ({:.2} us wall), {:.1} allocations per check ({n} checks)",
        dc as f64 / 1e3 / n as f64,
        dt.as_secs_f64() * 1e6 / n as f64,
        da as f64 / n as f64
    );
    let per = |i: usize| (SIZES[i].load(Ordering::Relaxed) - sizes0[i]) as f64 / n as f64;
    println!(
        "  by size: <=128 B {:.1}, <=512 B {:.1}, <=1 KB {:.1}, <=4 KB {:.1}, larger {:.2}",
        per(0),
        per(1),
        per(2),
        per(3),
        per(4)
    );
}

/// With `MODEI_PERF_CTL` naming perf's control FIFO, profiles only the checks, not the setup
/// (signing the tokens): `mkfifo /tmp/ctl; MODEI_PERF_CTL=/tmp/ctl perf record -D -1
/// --control fifo:/tmp/ctl target/release/examples/gate_profile cold-steady 20000`.
fn perf_control(cmd: &str) {
    if let Some(path) = std::env::var_os("MODEI_PERF_CTL") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .expect("perf control fifo");
        writeln!(f, "{cmd}").expect("perf control fifo");
    }
}

fn latency(issuer: &SigningKey, agent: &SigningKey, now: Timestamp, n: usize) {
    let g = steady_gate(issuer, agent, 8192);
    let reqs: Vec<_> = (1..=n as i64)
        .map(|i| request(&token(issuer, agent, i)))
        .collect();
    let mut us: Vec<f64> = reqs
        .iter()
        .map(|r| {
            let t = Instant::now();
            black_box(g.check_at(black_box(r), now));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let over = us.iter().filter(|&&t| t > 1000.0).count();
    us.sort_by(f64::total_cmp);
    let q = |p: f64| us[((us.len() - 1) as f64 * p) as usize];
    println!(
        "cold checks, one by one ({n}): median {:.1} us, p99 {:.1}, p99.9 {:.1}, max {:.1}; {over} over 1 ms",
        q(0.5),
        q(0.99),
        q(0.999),
        q(1.0)
    );
}

fn ratio(issuer: &SigningKey, agent: &SigningKey, now: Timestamp, rounds: usize) {
    use modei_core::keys::Signature;
    let tok = token(issuer, agent, 0);
    let (input, sig) = tok.rsplit_once('.').expect("jws");
    let sig = Signature::from_base64url(sig).expect("signature");
    let pk = issuer.public_key();
    // The criterion bench's steady state: the default cache full and evicting.
    let g = steady_gate(issuer, agent, 8192);
    let warm = request(&tok);
    assert!(g.check_at(&warm, now).is_allowed());
    let verifier = modei_core::passport::Verifier::new(trust(issuer), Default::default());
    const REPS: usize = 100;
    let mut fresh = 1i64;
    let mut med = [
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    ];
    for _ in 0..rounds {
        // Fresh tokens are made outside the timed block (signing is not part of a check).
        let cold: Vec<_> = (0..REPS)
            .map(|_| {
                fresh += 1;
                request(&token(issuer, agent, fresh % 100_000 + 1))
            })
            .collect();
        let t = cpu_ns();
        for _ in 0..REPS {
            pk.verify_strict(black_box(input.as_bytes()), black_box(&sig))
                .expect("verify");
        }
        med[0].push((cpu_ns() - t) as f64 / REPS as f64);
        // Raw verify_strict of fresh tokens, each signature once, as a cold check sees them (the
        // loop above verifies one signature over and over). Tokens of their own, so neither
        // this loop nor the cold checks find the other's bytes in the CPU cache.
        let fresh_tokens: Vec<String> = (0..REPS)
            .map(|_| {
                fresh += 1;
                token(issuer, agent, fresh % 100_000 + 1)
            })
            .collect();
        let sigs: Vec<_> = fresh_tokens
            .iter()
            .map(|t| {
                let (i, s) = t.rsplit_once('.').expect("jws");
                (
                    i.as_bytes(),
                    Signature::from_base64url(s).expect("signature"),
                )
            })
            .collect();
        let t = cpu_ns();
        for (i, s) in &sigs {
            pk.verify_strict(black_box(i), black_box(s))
                .expect("verify");
        }
        med[5].push((cpu_ns() - t) as f64 / REPS as f64);
        let t = cpu_ns();
        for r in &cold {
            black_box(g.check_at(black_box(r), now));
        }
        med[1].push((cpu_ns() - t) as f64 / REPS as f64);
        let t = cpu_ns();
        for _ in 0..REPS {
            black_box(g.check_at(black_box(&warm), now));
        }
        med[2].push((cpu_ns() - t) as f64 / REPS as f64);
        let t = cpu_ns();
        for r in &cold {
            let p = r.passport.as_deref().unwrap_or_default();
            black_box(verifier.verify(black_box(p), now).ok());
        }
        med[3].push((cpu_ns() - t) as f64 / REPS as f64);
        let distinct: Vec<_> = (0..REPS)
            .map(|_| {
                fresh += 1;
                let i = fresh % 100_000 + 1;
                request(&token_full(issuer, agent, i, true, 10_000 + i))
            })
            .collect();
        let t = cpu_ns();
        for r in &distinct {
            black_box(g.check_at(black_box(r), now));
        }
        med[4].push((cpu_ns() - t) as f64 / REPS as f64);
    }
    let m: Vec<f64> = med
        .iter_mut()
        .map(|v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2] / 1e3
        })
        .collect();
    println!(
        "raw verify_strict {:>7.2} us on-CPU (median of {rounds} blocks)",
        m[0]
    );
    println!(
        "cold check        {:>7.2} us  ({:.3}x raw verify_strict)",
        m[1],
        m[1] / m[0]
    );
    println!(
        "cold, distinct    {:>7.2} us  ({:.3}x raw; constraints not shared with any passport)",
        m[4],
        m[4] / m[0]
    );
    println!(
        "raw, distinct     {:>7.2} us  (verify_strict of each cold token's own signature, once; cold check {:.3}x this)",
        m[5],
        m[1] / m[5]
    );
    println!("warm check        {:>7.2} us", m[2]);
    println!(
        "passport verify   {:>7.2} us  ({:.3}x raw; the cold check's verification step)",
        m[3],
        m[3] / m[0]
    );
}
