//! The gate benchmark's fixture, shared with `examples/gate_profile.rs`: a JWT passport from a
//! trusted issuer with six constraints and one CEL rule, a gate trusting that issuer, and the
//! request checked.
#![allow(dead_code)]

use modei_core::attestation::HeadsLog;
use modei_core::envelope::{Permission, Tier};
use modei_core::gate::{Gate, GateConfig, GateRequest, Profile};
use modei_core::keys::SigningKey;
use modei_core::passport::JwtIssue;
use modei_core::time::Timestamp;
use modei_core::trust::{IssuerKind, TrustStore, TrustedIssuer, TrustedKey};
use serde_json::json;

pub const T0: i64 = 1_772_409_600_000;

pub fn trust(issuer: &SigningKey) -> TrustStore {
    TrustStore::new()
        .with(
            TrustedIssuer::new("acme", IssuerKind::Organization)
                .with_tier(Tier::L2)
                .with_key(TrustedKey::new("acme-1", issuer.public_key())),
        )
        .unwrap()
}

pub fn token(issuer: &SigningKey, agent: &SigningKey, iat_offset_s: i64) -> String {
    token_with(issuer, agent, iat_offset_s, true)
}

pub fn token_with(issuer: &SigningKey, agent: &SigningKey, iat_offset_s: i64, cel: bool) -> String {
    token_full(issuer, agent, iat_offset_s, cel, 10_000)
}

/// A token whose `core:cost:max_per_action` is `per_action` (distinct values: distinct
/// constraint sets, which the gate cannot share between passports).
pub fn token_full(
    issuer: &SigningKey,
    agent: &SigningKey,
    iat_offset_s: i64,
    cel: bool,
    per_action: i64,
) -> String {
    let big = 1_000_000_000_000i64;
    let mut constraints = json!({
        "core:scope:action_blocklist": ["search:delete"],
        "core:scope:domain_allowlist": ["*.example.com"],
        "core:rate:max_per_minute": big,
        "core:rate:max_per_day": big,
        "core:cost:max_per_action": per_action,
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
            constraints: constraints.as_object().cloned().unwrap().into(),
        },
        Permission {
            permission_key: "bookings:read".into(),
            constraints: json!({"core:rate:max_per_minute": 60})
                .as_object()
                .cloned()
                .unwrap()
                .into(),
        },
    ];
    iss.issue("acme", "acme-1", issuer).unwrap()
}

pub fn gate(issuer: &SigningKey, attest: bool, checkpoints: bool) -> Gate {
    gate_with_capacity(issuer, attest, checkpoints, 1 << 16)
}

/// A gate with the default cache capacity (4,096), filled with `n` other passports first so
/// that a cold check meets the steady state of a long-running gate: a full cache evicting.
pub fn steady_gate(issuer: &SigningKey, agent: &SigningKey, n: i64) -> Gate {
    let g = gate_with_capacity(issuer, false, false, 4096);
    let now = Timestamp::from_unix_millis(T0);
    for i in 0..n {
        let d = g.check_at(&request(&token(issuer, agent, 200_000 + i)), now);
        assert!(d.is_allowed(), "{d:?}");
    }
    g
}

pub fn gate_with_capacity(
    issuer: &SigningKey,
    attest: bool,
    checkpoints: bool,
    cache_capacity: usize,
) -> Gate {
    let mut cfg = GateConfig::new("gate_bench", Profile::L1, trust(issuer));
    if attest {
        cfg = cfg.with_signing_key(SigningKey::from_seed(&[9; 32]), "gate-1");
        cfg.log = Box::new(HeadsLog::new());
        cfg.checkpoints = checkpoints;
    }
    cfg.cache_capacity = cache_capacity;
    Gate::new(cfg).unwrap()
}

pub fn request(tok: &str) -> GateRequest {
    GateRequest::new("search:flights")
        .passport(tok)
        .target("https://api.example.com/v1/search?q=lis")
        .cost(25)
        .metadata(json!({"method": "GET"}))
}
