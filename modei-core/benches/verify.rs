//! Foundation benchmarks: RFC 8785 on a ~1 KB passport, v2 envelope verification (self-issued
//! and a depth-3 delegation chain), and raw strict Ed25519 verification for the ratio.
//!
//! Run: `cargo bench -p modei-core --bench verify -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, Criterion};
use modei_core::canonical::canonicalize;
use modei_core::envelope::{
    verify_wire, DelegationBuilder, Permission, SelfIssue, SignedEnvelope, VerifyOptions,
};
use modei_core::keys::SigningKey;
use modei_core::time::Timestamp;
use serde_json::json;
use std::hint::black_box;

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn perm(key: &str, c: serde_json::Value) -> Permission {
    Permission {
        permission_key: key.into(),
        constraints: c.as_object().cloned().unwrap().into(),
    }
}

fn root(sk: &SigningKey) -> SignedEnvelope {
    SelfIssue {
        passport_id: "pp_self_0123456789abcdef0123456789abcdef".into(),
        agent_name: Some("travel-agent@example.com".into()),
        permissions: vec![
            perm("flights:search", json!({"rate_limit_per_minute": 60})),
            perm("flights:book", json!({"max_per_action_cost": 50000, "max_daily_cost": 100000, "allowed_domains": ["api.airline.example", "booking.example"]})),
            perm("hotels:book", json!({"max_per_action_cost": 30000, "operating_hours": {"start": "09:00", "end": "17:00", "timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri"]}})),
        ],
        issued_at: ts("2026-01-01T00:00:00.000Z"),
        expires_at: ts("2076-01-01T00:00:00.000Z"),
        delegation_authority: true,
        verification_evidence: vec![],
    }
    .sign(sk)
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let keys: Vec<SigningKey> = (0u8..4)
        .map(|i| SigningKey::from_seed(&[i + 1; 32]))
        .collect();
    let p0 = root(&keys[0]);
    let mut chain = p0.clone();
    for i in 1..4 {
        chain = DelegationBuilder::new(
            &chain,
            keys[i].public_key(),
            format!("pp_delegate_{i:032}"),
            ts("2026-01-02T00:00:00.000Z"),
        )
        .permissions(vec![perm(
            "flights:book",
            json!({"max_per_action_cost": 50000 - i as i64 * 1000}),
        )])
        .delegation_authority(i < 3)
        .sign(&keys[i - 1])
        .unwrap();
    }
    let self_wire = serde_json::to_vec(&p0.to_wire()).unwrap();
    let chain_wire = serde_json::to_vec(&chain.to_wire()).unwrap();
    let opts = VerifyOptions::at(ts("2026-06-01T00:00:00.000Z"));
    let canonical_len = canonicalize(&p0.envelope.json).len();
    eprintln!("self-issued envelope: {canonical_len} canonical bytes; wire {} bytes; depth-3 chain wire {} bytes", self_wire.len(), chain_wire.len());

    let msg = canonicalize(&p0.envelope.json);
    let sig = keys[0].sign(&msg);
    let pk = keys[0].public_key();

    let mut g = c.benchmark_group("foundation");
    let (pk_bytes, sig_bytes) = (*pk.bytes(), *sig.bytes());
    // The raw utility a caller holding bytes uses: key decoding included, as in envelope verify.
    g.bench_function("raw_verify_strict", |b| {
        b.iter(|| {
            modei_core::keys::verify_strict(
                black_box(&pk_bytes),
                black_box(&msg),
                black_box(&sig_bytes),
            )
            .unwrap()
        })
    });
    g.bench_function("raw_verify_strict_preparsed_key", |b| {
        b.iter(|| pk.verify_strict(black_box(&msg), black_box(&sig)).unwrap())
    });
    g.bench_function("canonicalize_1kb_passport", |b| {
        b.iter(|| canonicalize(black_box(&p0.envelope.json)))
    });
    g.bench_function("verify_v2_self_issued", |b| {
        b.iter(|| verify_wire(black_box(&self_wire), &opts).unwrap())
    });
    g.bench_function("verify_v2_chain_depth_3", |b| {
        b.iter(|| verify_wire(black_box(&chain_wire), &opts).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
