//! Runs one operation N times, for instruction counting under valgrind, whose counts do not
//! depend on machine load (the shared 2-core machine makes wall-clock ratios noisy):
//!
//! ```sh
//! cargo build --release -p modei-core --example opcount
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/opcount verify_v2 1000
//! ```
//! Subtract the `noop` run (setup cost) from each, then divide by N.
//!
//! `opcount ratio [rounds]` instead measures on-CPU time of this thread (Linux
//! ``CLOCK_THREAD_CPUTIME_ID`), alternating blocks of raw `verify_strict` and
//! envelope verification so that load from other processes falls on both alike; it prints the
//! median per-operation times and their ratio.

#[path = "../benches/support/cpu_time.rs"]
mod cpu_time;
use cpu_time::cpu_ns;
use modei_core::canonical::canonicalize;
use modei_core::envelope::{
    verify_wire, DelegationBuilder, Permission, SelfIssue, SignedEnvelope, VerifyOptions,
};
use modei_core::keys::SigningKey;
use modei_core::time::Timestamp;
use serde_json::json;
use std::hint::black_box;

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).expect("timestamp")
}

fn perm(key: &str, c: serde_json::Value) -> Permission {
    Permission {
        permission_key: key.into(),
        constraints: c.as_object().cloned().unwrap_or_default().into(),
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
    .expect("issue")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let op = args.get(1).map(String::as_str).unwrap_or("noop");
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
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
        .expect("delegate");
    }
    let self_wire = serde_json::to_vec(&p0.to_wire()).expect("wire");
    let chain_wire = serde_json::to_vec(&chain.to_wire()).expect("wire");
    let opts = VerifyOptions::at(ts("2026-06-01T00:00:00.000Z"));
    let msg = canonicalize(&p0.envelope.json);
    let sig = *keys[0].sign(&msg).bytes();
    let pk = *keys[0].public_key().bytes();
    if op == "ratio" {
        let rounds = n.max(5);
        let ops: [(&str, &dyn Fn()); 4] = [
            ("raw_verify_strict", &|| {
                modei_core::keys::verify_strict(black_box(&pk), black_box(&msg), black_box(&sig))
                    .expect("verify")
            }),
            ("verify_v2_self_issued", &|| {
                drop(black_box(
                    verify_wire(black_box(&self_wire), &opts).expect("verify"),
                ))
            }),
            ("verify_v2_chain_depth_3", &|| {
                drop(black_box(
                    verify_wire(black_box(&chain_wire), &opts).expect("verify"),
                ))
            }),
            ("canonicalize_1kb", &|| {
                drop(black_box(canonicalize(black_box(&p0.envelope.json))))
            }),
        ];
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); ops.len()];
        for _ in 0..rounds {
            for (i, (_, f)) in ops.iter().enumerate() {
                let reps = 200;
                let t0 = cpu_ns();
                for _ in 0..reps {
                    f();
                }
                samples[i].push((cpu_ns() - t0) as f64 / reps as f64 / 1000.0);
            }
        }
        let med: Vec<f64> = samples
            .iter_mut()
            .map(|v| {
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            })
            .collect();
        for (i, (name, _)) in ops.iter().enumerate() {
            println!(
                "{name:<26} median {:>9.2} µs on-CPU  ({:.3}× raw verify_strict)",
                med[i],
                med[i] / med[0]
            );
        }
        return;
    }
    for _ in 0..n {
        match op {
            "noop" => {}
            "raw_verify_strict" => {
                modei_core::keys::verify_strict(black_box(&pk), black_box(&msg), black_box(&sig))
                    .expect("verify")
            }
            "canonicalize" => drop(black_box(canonicalize(black_box(&p0.envelope.json)))),
            "verify_v2" => drop(black_box(
                verify_wire(black_box(&self_wire), &opts).expect("verify"),
            )),
            "verify_v2_chain3" => drop(black_box(
                verify_wire(black_box(&chain_wire), &opts).expect("verify"),
            )),
            other => panic!("unknown op {other}"),
        }
    }
}
