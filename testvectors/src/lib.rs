//! The fixed-seed generator of modei's own vectors.
//!
//! Everything here is deterministic: keys come from fixed seeds, clocks are fixed instants, ids
//! are fixed strings. The expected verdict recorded with each vector is the one the vector was
//! *built* to have (a tampered field must fail with `signature_invalid`, a passport past its
//! expiry with `passport_expired`), written here by hand, never read back from the verifier.

use modei_core::canonical::{canonicalize_text, content_hash};
use modei_core::envelope::{DelegationBuilder, Permission, SelfIssue, SignedEnvelope};
use modei_core::keys::SigningKey;
use modei_core::time::Timestamp;
use serde_json::{json, Value};

/// Every generated file: (path relative to `testvectors/`, bytes).
pub fn generate() -> Vec<(String, Vec<u8>)> {
    vec![
        ("keys.json".into(), pretty(&keys())),
        ("canonical.json".into(), pretty(&canonical())),
        ("envelopes.json".into(), pretty(&envelopes())),
        (
            "sample-passport.json".into(),
            pretty(&sample_passport().to_wire()),
        ),
    ]
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s.into_bytes()
}

/// Seed `i`: 32 bytes counting up from `i` (distinct from the reference corpus's seeds).
pub fn seed(i: u8) -> [u8; 32] {
    let mut s = [0u8; 32];
    for (j, b) in s.iter_mut().enumerate() {
        *b = i.wrapping_mul(31).wrapping_add(j as u8);
    }
    s
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap_or(Timestamp::from_unix_millis(0))
}

fn keys() -> Value {
    let entries: Vec<Value> = (1u8..=4)
        .map(|i| {
            let sk = SigningKey::from_seed(&seed(i));
            let pk = sk.public_key();
            json!({
                "seed_hex": sk.to_seed_hex().as_str(),
                "public_key_hex": pk.to_hex(),
                "public_key_base64": pk.to_base64(),
                "public_key_base64url": pk.to_base64url(),
                "jwk": pk.to_jwk(),
                "jwk_thumbprint": pk.thumbprint(),
                "spki_pem": pk.to_spki_pem(),
                "pkcs8_pem": sk.to_pkcs8_pem().as_str(),
                "agent_id": pk.self_agent_id(),
                "self_issuer_id": pk.self_issuer_id(),
                "signature_over_abc_base64": sk.sign(b"abc").to_base64(),
            })
        })
        .collect();
    json!({
        "format": "modei-keys/1",
        "proves": "Each seed yields these encodings of its public key (hex, base64, base64url, JWK with the RFC 7638 thumbprint as kid, SPKI PEM), this PKCS#8 PEM, these Modei ids, and this deterministic Ed25519 signature over the ASCII bytes \"abc\". Every encoding must import back to the same key.",
        "keys": entries,
    })
}

fn canonical() -> Value {
    let inputs = [
        ("sorting_utf16", "{\"\u{fb01}\":1,\"\u{1f600}\":2,\"a\":3,\"B\":4}"),
        ("numbers", "[0,-0,1.0,1e21,1e20,1e-7,0.000001,9007199254740993,-1.5e-10,123456789012345678901234567890]"),
        ("escapes", "\"\\u0000\\u001f\\u007f\\u2028\\/\\\"\\\\\\b\\f\\n\\r\\t\""),
        ("nested", "{\"z\":{\"y\":[{\"x\":null,\"w\":true}]},\"a\":false}"),
        ("duplicate_last_wins", "{\"a\":1,\"a\":2}"),
        ("whitespace", " { \"a\" : [ 1 , 2 ] } "),
    ];
    let cases: Vec<Value> = inputs
        .iter()
        .map(|(name, text)| {
            let bytes = canonicalize_text(text.as_bytes()).unwrap_or_default();
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            json!({"name": name, "input_json": text, "canonical": String::from_utf8_lossy(&bytes), "sha256": content_hash(&value)})
        })
        .collect();
    let rejects = ["1e400", "[-1e999]", "\"\\ud800\"", "{\"a\":}", "NaN"];
    json!({
        "format": "modei-canonical/1",
        "proves": "RFC 8785 output and SHA-256 content hash for each input (duplicate keys: the last wins, as the reference); every entry of `rejects` must be refused.",
        "cases": cases,
        "rejects": rejects,
    })
}

fn perm(key: &str, constraints: Value) -> Permission {
    Permission {
        permission_key: key.into(),
        constraints: constraints.as_object().cloned().unwrap_or_default().into(),
    }
}

/// The passport the README's quick start verifies: self-issued, valid until 2076.
pub fn sample_passport() -> SignedEnvelope {
    let sk = SigningKey::from_seed(&seed(1));
    SelfIssue {
        passport_id: "pp_self_00000000000000000000000000000001".into(),
        agent_name: Some("travel-agent@example.com".into()),
        permissions: vec![
            perm("flights:search", json!({})),
            perm("flights:book", json!({"max_per_action_cost": 50000, "max_daily_cost": 100000, "allowed_domains": ["api.airline.example"]})),
        ],
        issued_at: ts("2026-01-01T00:00:00.000Z"),
        expires_at: ts("2076-01-01T00:00:00.000Z"),
        delegation_authority: true,
        verification_evidence: vec![],
    }
    .sign(&sk)
    .unwrap_or_else(|e| panic!("sample passport: {e}"))
}

struct Case {
    name: &'static str,
    proves: &'static str,
    wire: Value,
    now: &'static str,
    valid: bool,
    code: Option<&'static str>,
}

fn set(v: &mut Value, pointer: &str, new: Value) {
    if let Some(slot) = v.pointer_mut(pointer) {
        *slot = new;
    }
}

fn envelopes() -> Value {
    let root = sample_passport();
    let child_sk = SigningKey::from_seed(&seed(2));
    let child = DelegationBuilder::new(
        &root,
        child_sk.public_key(),
        "pp_delegate_00000000000000000000000000000002".into(),
        ts("2026-01-02T00:00:00.000Z"),
    )
    .permissions(vec![perm(
        "flights:book",
        json!({"max_per_action_cost": 20000, "allowed_domains": ["api.airline.example"]}),
    )])
    .expires_at(ts("2030-01-01T00:00:00.000Z"))
    .agent_name(Some("sub-agent@example.com".into()))
    .delegation_authority(true)
    .sign(&SigningKey::from_seed(&seed(1)))
    .unwrap_or_else(|e| panic!("child: {e}"));
    let grandchild = DelegationBuilder::new(
        &child,
        SigningKey::from_seed(&seed(3)).public_key(),
        "pp_delegate_00000000000000000000000000000003".into(),
        ts("2026-01-03T00:00:00.000Z"),
    )
    .permissions(vec![perm(
        "flights:book",
        json!({"max_per_action_cost": 5000}),
    )])
    .sign(&child_sk)
    .unwrap_or_else(|e| panic!("grandchild: {e}"));

    let mut tampered_cost = child.to_wire();
    set(
        &mut tampered_cost,
        "/envelope/permissions/0/constraints/max_per_action_cost",
        json!(90000),
    );
    let mut tampered_name = root.to_wire();
    set(
        &mut tampered_name,
        "/envelope/identity/agent_name",
        json!("mallory@example.com"),
    );
    let mut resigned_other_key = root.to_wire();
    set(
        &mut resigned_other_key,
        "/signature",
        json!(SigningKey::from_seed(&seed(4))
            .sign(&root_signing_input(&root))
            .to_base64()),
    );

    let cases = vec![
        Case {
            name: "self_valid",
            proves: "A self-issued passport verifies inside its window.",
            wire: root.to_wire(),
            now: "2026-06-01T00:00:00.000Z",
            valid: true,
            code: None,
        },
        Case {
            name: "self_expired",
            proves: "Past expires_at (beyond the 30 s leeway) the passport is refused.",
            wire: root.to_wire(),
            now: "2076-01-01T00:00:31.000Z",
            valid: false,
            code: Some("passport_expired"),
        },
        Case {
            name: "self_within_leeway_after_expiry",
            proves: "Within 30 s after expires_at the leeway still accepts it.",
            wire: root.to_wire(),
            now: "2076-01-01T00:00:29.000Z",
            valid: true,
            code: None,
        },
        Case {
            name: "self_not_yet_valid",
            proves: "Before issued_at (beyond the leeway) the passport is refused.",
            wire: root.to_wire(),
            now: "2025-12-31T23:59:00.000Z",
            valid: false,
            code: Some("passport_not_yet_valid"),
        },
        Case {
            name: "self_tampered_name",
            proves: "Changing a signed field breaks the signature.",
            wire: tampered_name,
            now: "2026-06-01T00:00:00.000Z",
            valid: false,
            code: Some("signature_invalid"),
        },
        Case {
            name: "self_signed_by_other_key",
            proves: "A signature by a key other than identity.public_key is refused.",
            wire: resigned_other_key,
            now: "2026-06-01T00:00:00.000Z",
            valid: false,
            code: Some("signature_invalid"),
        },
        Case {
            name: "delegation_depth_1",
            proves: "A delegation signed by the parent's key, narrowing its constraints, verifies.",
            wire: child.to_wire(),
            now: "2026-06-01T00:00:00.000Z",
            valid: true,
            code: None,
        },
        Case {
            name: "delegation_depth_2",
            proves: "A two-link chain verifies; expiry is clamped to the parent's.",
            wire: grandchild.to_wire(),
            now: "2026-06-01T00:00:00.000Z",
            valid: true,
            code: None,
        },
        Case {
            name: "delegation_expired_with_parent",
            proves: "A delegate cannot outlive its clamped expiry.",
            wire: grandchild.to_wire(),
            now: "2030-01-01T00:01:00.000Z",
            valid: false,
            code: Some("passport_expired"),
        },
        Case {
            name: "delegation_tampered_cost",
            proves: "Raising a delegated limit after signing breaks the leaf signature.",
            wire: tampered_cost,
            now: "2026-06-01T00:00:00.000Z",
            valid: false,
            code: Some("signature_invalid"),
        },
    ];
    let out: Vec<Value> = cases
        .into_iter()
        .map(|c| json!({"name": c.name, "proves": c.proves, "now": c.now, "passport": c.wire, "expected": {"valid": c.valid, "reason_code": c.code}}))
        .collect();
    json!({
        "format": "modei-envelopes/1",
        "proves": "Envelopes issued by modei from fixed seeds; each is verified at `now` (no trust store) and must give `expected`.",
        "cases": out,
    })
}

fn root_signing_input(s: &SignedEnvelope) -> Vec<u8> {
    modei_core::canonical::canonicalize(&s.envelope.json)
}
