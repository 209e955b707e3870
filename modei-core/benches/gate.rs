//! Gate benchmarks: a full check of a JWT passport with six constraints and one CEL rule,
//! cold (first sight of the token) and warm (cached), without and with attestation; the
//! in-memory state store under two threads; raw `verify_strict` in the same run for the ratio.
//!
//! Run: `cargo bench -p modei-core --bench gate -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use modei_core::attestation::HeadsLog;
use modei_core::envelope::{Permission, Tier};
use modei_core::gate::{Gate, GateConfig, GateRequest, Profile};
use modei_core::keys::{Signature, SigningKey};
use modei_core::passport::JwtIssue;
use modei_core::state::{MemoryStateStore, RateCheck, Reservation, SpendCap, StateStore, Window};
use modei_core::time::Timestamp;
use modei_core::trust::{IssuerKind, TrustStore, TrustedIssuer, TrustedKey};
use serde_json::json;
use std::hint::black_box;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

const T0: i64 = 1_772_409_600_000;

fn trust(issuer: &SigningKey) -> TrustStore {
    TrustStore::new()
        .with(
            TrustedIssuer::new("acme", IssuerKind::Organization)
                .with_tier(Tier::L2)
                .with_key(TrustedKey::new("acme-1", issuer.public_key())),
        )
        .unwrap()
}

fn token(issuer: &SigningKey, agent: &SigningKey, iat_offset_s: i64) -> String {
    token_with(issuer, agent, iat_offset_s, true)
}

fn token_with(issuer: &SigningKey, agent: &SigningKey, iat_offset_s: i64, cel: bool) -> String {
    let big = 1_000_000_000_000i64;
    let mut constraints = json!({
        "core:scope:action_blocklist": ["search:delete"],
        "core:scope:domain_allowlist": ["*.example.com"],
        "core:rate:max_per_minute": big,
        "core:rate:max_per_day": big,
        "core:cost:max_per_action": 10_000,
        "core:cost:max_cumulative": big,
        "core:cel:rules": [{"expr": "request.cost_cents + 1 <= 10000 && request.host.endsWith('example.com')"}]
    });
    if !cel {
        constraints
            .as_object_mut()
            .unwrap()
            .remove("core:cel:rules");
    }
    let mut iss = JwtIssue::new(
        "pp_bench_0123456789",
        "agent_bench",
        agent.public_key(),
        Timestamp::from_unix_millis(T0 - 3_600_000 - iat_offset_s * 1000),
        Timestamp::from_unix_millis(T0 + 86_400_000),
    );
    iss.agent_name = Some("bench-agent@example.com".into());
    iss.permissions = vec![
        Permission {
            permission_key: "search:*".into(),
            constraints: constraints.as_object().cloned().unwrap(),
        },
        Permission {
            permission_key: "bookings:read".into(),
            constraints: json!({"core:rate:max_per_minute": 60})
                .as_object()
                .cloned()
                .unwrap(),
        },
    ];
    iss.issue("acme", "acme-1", issuer).unwrap()
}

fn gate(issuer: &SigningKey, attest: bool, checkpoints: bool) -> Gate {
    let mut cfg = GateConfig::new("gate_bench", Profile::L1, trust(issuer));
    if attest {
        cfg = cfg.with_signing_key(SigningKey::from_seed(&[9; 32]), "gate-1");
        cfg.log = Box::new(HeadsLog::new());
        cfg.checkpoints = checkpoints;
    }
    cfg.cache_capacity = 1 << 16;
    Gate::new(cfg).unwrap()
}

fn request(tok: &str) -> GateRequest {
    GateRequest::new("search:flights")
        .passport(tok)
        .target("https://api.example.com/v1/search?q=lis")
        .cost(25)
        .metadata(json!({"method": "GET"}))
}

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

    // Cold: a token never seen before (same passport, a different iat ⇒ different bytes).
    let counter = AtomicI64::new(1);
    let fresh = || {
        let i = counter.fetch_add(1, Ordering::Relaxed) % 100_000;
        token(&issuer, &agent, i)
    };
    for (name, attest, cps) in [
        ("gate check cold, no attestation", false, false),
        ("gate check cold, attested", true, false),
    ] {
        let g = gate(&issuer, attest, cps);
        assert!(g.check_at(&request(&tok), now).is_allowed());
        c.bench_function(name, |b| {
            b.iter_batched(
                || request(&fresh()),
                |r| {
                    let d = g.check_at(&r, now);
                    debug_assert!(d.is_allowed());
                    black_box(d)
                },
                BatchSize::SmallInput,
            )
        });
    }

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
