//! Gate benchmarks: a full check of a JWT passport with six constraints and one CEL rule,
//! cold (first sight of the token, at a gate in steady state) and warm (cached), without and
//! with attestation; the
//! in-memory state store under two threads; raw `verify_strict` in the same run for the ratio.
//!
//! Run: `cargo bench -p modei-core --bench gate -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use modei_core::gate::{Gate, GateRequest};
use modei_core::keys::{Signature, SigningKey};
use modei_core::state::{MemoryStateStore, RateCheck, Reservation, SpendCap, StateStore, Window};
use modei_core::time::Timestamp;
use std::hint::black_box;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

#[path = "support/gate_setup.rs"]
mod gate_setup;
use gate_setup::*;

fn bench(c: &mut Criterion) {
    let issuer = SigningKey::from_seed(&[1; 32]);
    let agent = SigningKey::from_seed(&[2; 32]);
    let now = Timestamp::from_unix_millis(T0);
    let tok = token(&issuer, &agent, 0);

    // Raw Ed25519 strict verification of the same token's signature.
    let (signing_input, sig_b64) = tok.rsplit_once('.').unwrap();
    let sig = Signature::from_base64url(sig_b64).unwrap();
    let pk = issuer.public_key();
    c.bench_function("raw verify_strict (JWT signature)", |b| {
        b.iter(|| {
            pk.verify_strict(black_box(signing_input.as_bytes()), black_box(&sig))
                .unwrap()
        })
    });

    // Raw verify_strict of a fresh token's signature each time, as a cold check meets them (the
    // loop above verifies one signature over and over, which the branch predictor learns).
    let fresh = AtomicI64::new(500_000);
    c.bench_function("raw verify_strict, a fresh token each time", |b| {
        b.iter_batched(
            || {
                let t = token(
                    &issuer,
                    &agent,
                    fresh.fetch_add(1, Ordering::Relaxed) % 100_000,
                );
                let (input, sig) = t.rsplit_once('.').unwrap();
                (input.to_owned(), Signature::from_base64url(sig).unwrap())
            },
            |(input, sig)| {
                pk.verify_strict(black_box(input.as_bytes()), black_box(&sig))
                    .unwrap();
                // Returned: criterion drops it after the measurement (see the cold checks).
                input
            },
            BatchSize::SmallInput,
        )
    });

    // Cold: a token never seen before (same passport, a different iat ⇒ different bytes),
    // checked by a gate in its steady state: the default 4,096-entry cache full and evicting.
    // Passports from one template share their prepared constraints; the second cold bench
    // gives every token its own `core:cost:max_per_action`, so nothing is shared.
    let counter = AtomicI64::new(1);
    let next = || counter.fetch_add(1, Ordering::Relaxed) % 100_000;
    let cold = |c: &mut Criterion, name: &str, g: &Gate, make: &dyn Fn() -> GateRequest| {
        c.bench_function(name, |b| {
            b.iter_batched(
                make,
                |r| {
                    let d = g.check_at(&r, now);
                    debug_assert!(d.is_allowed());
                    // The decision the gate built is freed in the measurement; the request is
                    // returned, so criterion frees it after: building and freeing the host's
                    // request is the host's cost (its construction is the untimed setup).
                    drop(black_box(d));
                    r
                },
                BatchSize::SmallInput,
            )
        });
    };
    let steady = steady_gate(&issuer, &agent, 8192);
    cold(c, "gate check cold, no attestation", &steady, &|| {
        request(&token(&issuer, &agent, next()))
    });
    cold(
        c,
        "gate check cold, no attestation, distinct constraints",
        &steady,
        &|| {
            let i = next();
            request(&token_full(&issuer, &agent, i, true, 10_000 + i))
        },
    );
    let attested = gate(&issuer, true, false);
    assert!(attested.check_at(&request(&tok), now).is_allowed());
    cold(c, "gate check cold, attested", &attested, &|| {
        request(&token(&issuer, &agent, next()))
    });

    for (name, attest, cps) in [
        ("gate check warm, no attestation", false, false),
        ("gate check warm, attested", true, false),
        ("gate check warm, attested + checkpoint", true, true),
    ] {
        let g = gate(&issuer, attest, cps);
        let r = request(&tok);
        let d = g.check_at(&r, now);
        assert!(d.is_allowed(), "{d:?}");
        assert!(g.check_at(&r, now).cached);
        c.bench_function(name, |b| {
            b.iter(|| black_box(g.check_at(black_box(&r), now)))
        });
    }

    // The same warm check without the CEL rule: what the `cel` interpreter costs.
    {
        let g = gate(&issuer, false, false);
        let r = request(&token_with(&issuer, &agent, 0, false));
        assert!(g.check_at(&r, now).is_allowed());
        assert!(g.check_at(&r, now).cached);
        c.bench_function("gate check warm, no attestation, no CEL rule", |b| {
            b.iter(|| black_box(g.check_at(black_box(&r), now)))
        });
    }

    // The state store alone: one check-and-commit (two rate windows and a cap), one thread and
    // two threads hammering the same subject.
    let store = MemoryStateStore::new();
    let res = Reservation {
        subject: "pp_bench".into(),
        counter: "search:*".into(),
        now,
        rates: vec![
            RateCheck {
                key: "core:rate:max_per_minute".into(),
                window: Window::Minute,
                limit: u64::MAX,
            },
            RateCheck {
                key: "core:rate:max_per_day".into(),
                window: Window::Day,
                limit: u64::MAX,
            },
        ],
        amount: 1,
        caps: vec![SpendCap {
            key: "core:cost:max_cumulative".into(),
            window: Window::Day,
            cap: i64::MAX,
        }],
        hold: None,
    };
    c.bench_function("state check_and_commit, 1 thread", |b| {
        b.iter(|| black_box(store.check_and_commit(black_box(&res)).unwrap()))
    });
    c.bench_function("state check_and_commit, 2 threads (per op)", |b| {
        b.iter_custom(|iters| {
            let per = iters.div_ceil(2);
            let start = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..per {
                            black_box(store.check_and_commit(&res).unwrap()).ok();
                        }
                    });
                }
            });
            let t = start.elapsed();
            // Time per operation, as if run one after the other: total / (2 * per) * iters.
            Duration::from_secs_f64(t.as_secs_f64() * iters as f64 / (2 * per) as f64)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
