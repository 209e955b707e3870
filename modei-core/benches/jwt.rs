//! JWT passport verification against raw Ed25519 and jsonwebtoken.
//!
//! `cargo bench -p modei-core --bench jwt -- --warm-up-time 1 --measurement-time 3`
//!
//! - `modei_verify_jwt`: `Verifier::verify_jwt` on a ~600-byte passport (alg Ed25519), trust
//!   store lookup by (iss, kid), every header and claim check, aud checked against the gate.
//! - `modei_verify_jwt_eddsa_header`: the same claims with `alg: EdDSA` (the token
//!   jsonwebtoken can read).
//! - `ed25519_verify_strict_raw`: `PublicKey::verify_strict` over the same signing input (the
//!   floor: the key is already parsed, as in the trust store).
//! - `jsonwebtoken_verify`: jsonwebtoken 10 (RustCrypto backend) decoding the EdDSA token into a
//!   typed struct, checking signature, iss, aud, exp and nbf (leeway 30 s), key pre-built.
//! - `modei_issue_jwt`: `JwtIssue::issue` (claims round-trip check + Ed25519 sign).

use criterion::{criterion_group, criterion_main, Criterion};
use modei_core::envelope::Permission;
use modei_core::jwt;
use modei_core::keys::{Signature, SigningKey};
use modei_core::passport::{JwtIssue, Verifier, VerifierOptions};
use modei_core::time::Timestamp;
use modei_core::trust::{IssuerKind, Policy, TrustStore, TrustedIssuer, TrustedKey};
use serde_json::json;
use std::hint::black_box;

fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_unix_millis(d.as_millis() as i64)
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct JwtClaims {
    iss: String,
    sub: String,
    jti: String,
    iat: i64,
    exp: i64,
    nbf: i64,
    aud: String,
    name: Option<String>,
    permissions: Vec<serde_json::Value>,
    cnf: serde_json::Value,
}

fn bench(c: &mut Criterion) {
    let issuer = SigningKey::from_seed(&[0x11; 32]);
    let agent = SigningKey::from_seed(&[0xA1; 32]);
    let store = TrustStore::new()
        .with(
            TrustedIssuer::new("acme", IssuerKind::Organization)
                .with_key(TrustedKey::new("acme-2026", issuer.public_key())),
        )
        .unwrap();
    let verifier = Verifier::new(store, Policy::new()).with_options(VerifierOptions {
        gate_id: Some("gate-7".into()),
        ..Default::default()
    });
    let t = now();
    let mut issue = JwtIssue::new(
        "pp_01HXYZABCDEFGHJKMNPQRSTVWX",
        "agent:email-assistant-001",
        agent.public_key(),
        t.plus_millis(-60_000),
        t.plus_millis(3_600_000),
    );
    issue.not_before = Some(t.plus_millis(-60_000));
    issue.agent_name = Some("Email assistant".into());
    issue.audience = vec!["gate-7".into()];
    issue.permissions = vec![
        Permission {
            permission_key: "email:send".into(),
            constraints: json!({"max_per_action_cost": 100, "rate_limit_per_minute": 10})
                .as_object()
                .cloned()
                .unwrap(),
        },
        Permission {
            permission_key: "email:read".into(),
            constraints: Default::default(),
        },
    ];
    let token = issue.issue("acme", "acme-2026", &issuer).unwrap();
    eprintln!("token: {} bytes", token.len());
    assert!(verifier.verify_jwt(&token, now()).is_ok());

    // The same claims under alg EdDSA.
    let (_, payload_sig) = token.split_once('.').unwrap();
    let (payload, _) = payload_sig.split_once('.').unwrap();
    let header =
        jwt::b64url_encode(br#"{"alg":"EdDSA","kid":"acme-2026","typ":"modei-passport+jwt"}"#);
    let input = format!("{header}.{payload}");
    let eddsa = format!("{input}.{}", issuer.sign(input.as_bytes()).to_base64url());
    assert!(verifier.verify_jwt(&eddsa, now()).is_ok());

    let (signing_input, sig_b64) = token.rsplit_once('.').unwrap();
    let sig_bytes = jwt::b64url_decode_strict(sig_b64.as_bytes(), "sig").unwrap();
    let sig: [u8; 64] = sig_bytes.as_slice().try_into().unwrap();
    let sig = Signature::from(sig);
    let pk = issuer.public_key();
    assert!(pk.verify_strict(signing_input.as_bytes(), &sig).is_ok());

    let dk = jsonwebtoken::DecodingKey::from_ed_components(&pk.to_base64url()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_issuer(&["acme"]);
    validation.set_audience(&["gate-7"]);
    validation.validate_nbf = true;
    validation.leeway = 30;
    jsonwebtoken::decode::<JwtClaims>(&eddsa, &dk, &validation).unwrap();

    let now_fixed = now();
    c.bench_function("modei_verify_jwt", |b| {
        b.iter(|| verifier.verify_jwt(black_box(&token), now_fixed).unwrap())
    });
    c.bench_function("modei_verify_jwt_eddsa_header", |b| {
        b.iter(|| verifier.verify_jwt(black_box(&eddsa), now_fixed).unwrap())
    });
    c.bench_function("ed25519_verify_strict_raw", |b| {
        b.iter(|| {
            pk.verify_strict(black_box(signing_input.as_bytes()), black_box(&sig))
                .unwrap()
        })
    });
    c.bench_function("jsonwebtoken_verify", |b| {
        b.iter(|| jsonwebtoken::decode::<JwtClaims>(black_box(&eddsa), &dk, &validation).unwrap())
    });
    c.bench_function("modei_issue_jwt", |b| {
        b.iter(|| {
            black_box(&issue)
                .issue("acme", "acme-2026", &issuer)
                .unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
