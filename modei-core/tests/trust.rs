//! Trust store: file format (strict read, errors naming file and JSON path, deterministic write),
//! key windows at their edges, the `IssuerKeyResolver` for v2 envelopes, the policy, and the
//! revocation list format. Expected values are written by hand.

use modei_core::canonical::canonicalize;
use modei_core::envelope::{self, IssuerKeyResolver, IssuerType, Tier, VerifyOptions};
use modei_core::keys::SigningKey;
use modei_core::revocation::{check_freshness, Freshness, RevocationList, RevocationSource};
use modei_core::time::Timestamp;
use modei_core::trust::{IssuerKind, Policy, TrustStore, TrustedIssuer, TrustedKey};
use modei_core::Code;
use serde_json::{json, Value};

fn key(b: u8) -> SigningKey {
    SigningKey::from_seed(&[b; 32])
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn x(b: u8) -> String {
    key(b).public_key().to_base64url()
}

fn doc() -> Value {
    json!({
        "version": 1,
        "issuers": [
            {"id": "gate-7", "type": "gate", "name": "Gate seven", "keys": [
                {"kid": "g7-old", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x(1)},
                 "not_before": "2025-01-01T00:00:00Z", "not_after": "2026-03-01T00:00:00Z"},
                {"kid": "g7-new", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x(2)},
                 "not_before": "2026-01-01T00:00:00Z"},
                {"kid": "g7-lost", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x(3)},
                 "revoked": true, "revoked_at": "2025-11-01T00:00:00Z"}
            ]},
            {"id": "acme", "type": "organization", "tier": "L2", "keys": [
                {"kid": "a1", "public_key": key(4).public_key().to_base64()}
            ]}
        ]
    })
}

fn load(v: &Value) -> modei_core::Result<TrustStore> {
    TrustStore::from_json(v.to_string().as_bytes(), "/etc/modei/trust.json")
}

fn err(v: &Value) -> modei_core::Error {
    load(v).unwrap_err()
}

#[test]
fn file_round_trip_is_deterministic() {
    let s = load(&doc()).unwrap();
    assert_eq!(s.len(), 2);
    let gate = s.issuer("gate-7").unwrap();
    assert_eq!(gate.kind, IssuerKind::Gate);
    assert_eq!(gate.tier, Tier::L2);
    assert_eq!(gate.name.as_deref(), Some("Gate seven"));
    assert_eq!(s.issuer("acme").unwrap().tier, Tier::L2);
    let out = s.to_json().unwrap();
    let again = TrustStore::from_json(out.as_bytes(), "saved").unwrap();
    assert_eq!(again, s);
    assert_eq!(again.to_json().unwrap(), out);
    // Issuers by id, keys by kid, members sorted; std base64 keys are written as JWKs.
    let a = out.find("\"id\": \"acme\"").unwrap();
    let g = out.find("\"id\": \"gate-7\"").unwrap();
    assert!(a < g);
    let new = out.find("\"kid\": \"g7-new\"").unwrap();
    let old = out.find("\"kid\": \"g7-old\"").unwrap();
    assert!(out.find("\"kid\": \"g7-lost\"").unwrap() < new && new < old);
    assert!(out.contains(&format!("\"x\": \"{}\"", x(4))));
    assert!(out.contains("\"not_after\": \"2026-03-01T00:00:00.000Z\""));
    assert!(out.ends_with("}\n"));
}

#[test]
fn errors_name_the_file_and_the_path() {
    let mut d = doc();
    d["issuers"][0]["keys"][1]["use"] = json!("sig");
    let e = err(&d);
    assert_eq!(e.code(), Code::TrustStoreInvalid);
    assert!(
        e.detail()
            .starts_with("/etc/modei/trust.json: issuers[0].keys[1]"),
        "{e}"
    );
    assert!(e.detail().contains("unknown member \"use\""), "{e}");

    let mut d = doc();
    d["issuers"][1]["keys"][0]["not_after"] = json!("next tuesday");
    let e = err(&d);
    assert!(
        e.detail()
            .starts_with("/etc/modei/trust.json: issuers[1].keys[0].not_after"),
        "{e}"
    );
}

#[test]
fn duplicate_json_members_are_refused() {
    let text = r#"{"version":1,"version":1,"issuers":[]}"#;
    let e = TrustStore::from_json(text.as_bytes(), "dup.json").unwrap_err();
    assert_eq!(e.code(), Code::TrustStoreInvalid);
    assert!(e.detail().contains("json_duplicate_key"), "{e}");
}

#[test]
fn malformed_stores_are_refused() {
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("version 2", Box::new(|d| d["version"] = json!(2))),
        (
            "unknown issuer type",
            Box::new(|d| d["issuers"][0]["type"] = json!("bank")),
        ),
        (
            "duplicate kid",
            Box::new(|d| d["issuers"][0]["keys"][1]["kid"] = json!("g7-old")),
        ),
        (
            "duplicate issuer",
            Box::new(|d| d["issuers"][1]["id"] = json!("gate-7")),
        ),
        (
            "window inverted",
            Box::new(|d| d["issuers"][0]["keys"][0]["not_after"] = json!("2024-01-01T00:00:00Z")),
        ),
        (
            "reserved self: prefix on a gate",
            Box::new(|d| d["issuers"][0]["id"] = json!(format!("self:{}", "0".repeat(64)))),
        ),
        (
            "reserved delegate: prefix",
            Box::new(|d| d["issuers"][1]["id"] = json!("delegate:pp_1")),
        ),
        (
            "private key in jwk",
            Box::new(|d| d["issuers"][0]["keys"][0]["jwk"]["d"] = json!(x(9))),
        ),
        (
            "EC key",
            Box::new(|d| d["issuers"][0]["keys"][0]["jwk"]["kty"] = json!("EC")),
        ),
        (
            "padded x",
            Box::new(|d| d["issuers"][0]["keys"][0]["jwk"]["x"] = json!(format!("{}=", x(1)))),
        ),
        (
            "both jwk and public_key",
            Box::new(|d| {
                d["issuers"][0]["keys"][0]["public_key"] = json!(key(1).public_key().to_base64())
            }),
        ),
        (
            "self tier raised",
            Box::new(|d| {
                let pk = key(5).public_key();
                d["issuers"][1] =
                    json!({"id": pk.self_issuer_id(), "type": "self", "tier": "L2", "keys": []});
            }),
        ),
        (
            "self entry whose key does not hash to its id",
            Box::new(|d| {
                let pk = key(5).public_key();
                d["issuers"][1] = json!({"id": pk.self_issuer_id(), "type": "self",
                    "keys": [{"kid": "self", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x(6)}}]});
            }),
        ),
        (
            "empty kid",
            Box::new(|d| d["issuers"][0]["keys"][0]["kid"] = json!("")),
        ),
        (
            "revoked not a boolean",
            Box::new(|d| d["issuers"][0]["keys"][0]["revoked"] = json!("yes")),
        ),
    ];
    for (what, f) in cases {
        let mut d = doc();
        f(&mut d);
        assert_eq!(err(&d).code(), Code::TrustStoreInvalid, "{what}");
    }
    // A well-formed self entry is accepted.
    let mut d = doc();
    let pk = key(5).public_key();
    d["issuers"][1] = json!({"id": pk.self_issuer_id(), "type": "self",
        "keys": [{"kid": "self", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x(5)}}]});
    assert_eq!(
        load(&d).unwrap().issuer(&pk.self_issuer_id()).unwrap().tier,
        Tier::L0
    );
}

#[test]
fn key_windows_at_their_edges() {
    let s = load(&doc()).unwrap();
    let nb = ts("2026-01-01T00:00:00Z");
    let na = ts("2026-03-01T00:00:00Z");
    // not_before is inclusive, for the issue time and for now.
    assert!(s.key_for("gate-7", "g7-new", nb, nb).is_ok());
    let before = nb.plus_millis(-1);
    assert_eq!(
        s.key_for("gate-7", "g7-new", before, nb)
            .unwrap_err()
            .code(),
        Code::KeyNotYetValid
    );
    assert_eq!(
        s.key_for("gate-7", "g7-new", before, before)
            .unwrap_err()
            .code(),
        Code::KeyNotYetValid
    );
    // not_after is exclusive.
    let last = na.plus_millis(-1);
    assert!(s.key_for("gate-7", "g7-old", last, last).is_ok());
    assert_eq!(
        s.key_for("gate-7", "g7-old", last, na).unwrap_err().code(),
        Code::KeyExpired
    );
    // Both keys are active in January and February 2026 (rotation without downtime).
    let feb = ts("2026-02-01T00:00:00Z");
    assert!(s.key_for("gate-7", "g7-old", feb, feb).is_ok());
    assert!(s.key_for("gate-7", "g7-new", feb, feb).is_ok());
    // Revoked: refused for a passport issued before the revocation too.
    assert_eq!(
        s.key_for(
            "gate-7",
            "g7-lost",
            ts("2025-10-01T00:00:00Z"),
            ts("2025-10-02T00:00:00Z")
        )
        .unwrap_err()
        .code(),
        Code::IssuerKeyRevoked
    );
    assert_eq!(
        s.key_for("nobody", "k", feb, feb).unwrap_err().code(),
        Code::IssuerUnknown
    );
    assert_eq!(
        s.key_for("gate-7", "k", feb, feb).unwrap_err().code(),
        Code::KeyUnknown
    );
}

/// A gate envelope signed by `signer`, for issuer `iss` / `kid` of type `kind`.
fn gate_envelope(kind: &str, iss: &str, kid: &str, signer: &SigningKey) -> Value {
    let agent = key(0xA1).public_key();
    let env = json!({
        "schema_version": 2,
        "passport_id": "pp_gate_1",
        "identity": {"agent_id": "agent:bot", "agent_name": null, "public_key": agent.to_base64()},
        "permissions": [{"permission_key": "api:read", "constraints": {}}],
        "provenance": {
            "issuer": {"type": kind, "id": iss, "key_id": kid},
            "gate_id": "gate-7", "catalog_content_hash": null, "catalog_version": null,
            "delegation_chain": null,
            "issued_at": "2026-02-01T00:00:00.000Z", "expires_at": "2026-02-02T00:00:00.000Z"
        },
        "delegation_authority": false,
        "verification_evidence": []
    });
    let sig = signer.sign(&canonicalize(&env)).to_base64();
    json!({"envelope": env, "signature": sig})
}

fn verify_env(s: &TrustStore, wire: &Value) -> modei_core::Result<envelope::VerifiedEnvelope> {
    let opts = VerifyOptions::at(ts("2026-02-01T00:01:00Z")).with_resolver(s);
    envelope::verify_wire(wire.to_string().as_bytes(), &opts)
}

#[test]
fn trust_store_resolves_envelope_keys() {
    let s = load(&doc()).unwrap();
    let v = verify_env(&s, &gate_envelope("gate", "gate-7", "g7-new", &key(2))).unwrap();
    assert_eq!(v.tier, Tier::L2);
    assert_eq!(
        verify_env(&s, &gate_envelope("gate", "gate-7", "g7-new", &key(9)))
            .unwrap_err()
            .code(),
        Code::SignatureInvalid
    );
    assert_eq!(
        verify_env(&s, &gate_envelope("gate", "gate-9", "g7-new", &key(2)))
            .unwrap_err()
            .code(),
        Code::IssuerUnknown
    );
    assert_eq!(
        verify_env(&s, &gate_envelope("gate", "gate-7", "g7-x", &key(2)))
            .unwrap_err()
            .code(),
        Code::KeyUnknown
    );
    assert_eq!(
        verify_env(&s, &gate_envelope("gate", "gate-7", "g7-lost", &key(3)))
            .unwrap_err()
            .code(),
        Code::IssuerKeyRevoked
    );
    // The envelope claims "platform" for an issuer the store knows as a gate.
    assert_eq!(
        verify_env(&s, &gate_envelope("platform", "gate-7", "g7-new", &key(2)))
            .unwrap_err()
            .code(),
        Code::IssuerNotAllowed
    );
    // An organization may sign envelopes as platform.
    let v = verify_env(&s, &gate_envelope("platform", "acme", "a1", &key(4))).unwrap();
    assert_eq!(v.tier, Tier::L1);
    // Direct resolver call: outside the window.
    assert_eq!(
        s.resolve(
            IssuerType::Gate,
            "gate-7",
            "g7-old",
            ts("2026-03-01T00:00:00Z")
        )
        .unwrap_err()
        .code(),
        Code::KeyExpired
    );
}

#[test]
fn builder_api_matches_file() {
    let s = TrustStore::new()
        .with(
            TrustedIssuer::new("gate-7", IssuerKind::Gate)
                .with_name("Gate seven")
                .with_key(
                    TrustedKey::new("g7-new", key(2).public_key())
                        .window(Some(ts("2026-01-01T00:00:00Z")), None),
                )
                .with_key(TrustedKey::new("g7-old", key(1).public_key()).window(
                    Some(ts("2025-01-01T00:00:00Z")),
                    Some(ts("2026-03-01T00:00:00Z")),
                ))
                .with_key(
                    TrustedKey::new("g7-lost", key(3).public_key())
                        .revoke(Some(ts("2025-11-01T00:00:00Z"))),
                ),
        )
        .unwrap()
        .with(
            TrustedIssuer::new("acme", IssuerKind::Organization)
                .with_tier(Tier::L2)
                .with_key(TrustedKey::new("a1", key(4).public_key())),
        )
        .unwrap();
    assert_eq!(s, load(&doc()).unwrap());
    assert_eq!(
        TrustStore::new()
            .with(TrustedIssuer::new("self:abc", IssuerKind::Platform))
            .unwrap_err()
            .code(),
        Code::TrustStoreInvalid
    );
}

#[test]
fn policy_checks() {
    let p = Policy::default();
    assert!(!p.allow_self_issued);
    assert_eq!(
        p.check_self_allowed().unwrap_err().code(),
        Code::SelfIssuedNotAllowed
    );
    assert!(p.check_allowed("anyone").is_ok());
    let p = Policy::new().allow_only(["acme"]).min_tier(Tier::L1);
    assert_eq!(
        p.check_allowed("globex").unwrap_err().code(),
        Code::IssuerNotAllowed
    );
    assert!(p.check_allowed("acme").is_ok());
    assert_eq!(
        p.check_tier(Tier::L0).unwrap_err().code(),
        Code::TrustTierInsufficient
    );
    assert!(p.check_tier(Tier::L2).is_ok());
}

#[test]
fn revocation_list_format() {
    let text = r#"{"version":1,"as_of":"2026-01-01T00:00:00Z","passports":["pp_2","pp_1"],
        "agents":["agent:x"],"issuer_keys":[{"issuer":"acme","kid":"a1"}]}"#;
    let l = RevocationList::from_json(text.as_bytes(), "revoked.json").unwrap();
    assert!(l.passport_revoked("pp_1") && l.passport_revoked("pp_2"));
    assert!(!l.passport_revoked("pp_3"));
    assert!(l.agent_revoked("agent:x"));
    assert!(l.issuer_key_revoked("acme", "a1"));
    assert!(!l.issuer_key_revoked("acme", "a2"));
    assert_eq!(l.last_refreshed(), ts("2026-01-01T00:00:00Z"));
    let out = l.to_json().unwrap();
    assert!(out.find("pp_1").unwrap() < out.find("pp_2").unwrap());
    assert_eq!(
        RevocationList::from_json(out.as_bytes(), "again").unwrap(),
        l
    );
    for bad in [
        r#"{"version":1}"#,
        r#"{"version":2,"as_of":"2026-01-01T00:00:00Z"}"#,
        r#"{"version":1,"as_of":"2026-01-01T00:00:00Z","passports":[1]}"#,
        r#"{"version":1,"as_of":"2026-01-01T00:00:00Z","extra":[]}"#,
        r#"{"version":1,"as_of":"2026-01-01T00:00:00Z","issuer_keys":[{"issuer":"a"}]}"#,
        r#"{"version":1,"as_of":"2026-01-01T00:00:00Z","passports":[],"passports":[]}"#,
    ] {
        let e = RevocationList::from_json(bad.as_bytes(), "revoked.json").unwrap_err();
        assert_eq!(e.code(), Code::TrustStoreInvalid, "{bad}");
        assert!(e.detail().starts_with("revoked.json: "), "{e}");
    }
}

#[test]
fn freshness_edges() {
    let l = RevocationList::new(ts("2026-01-01T00:00:00Z"));
    let t = |s| ts(s);
    // L2: 300 s is still fresh, 300.001 s warns.
    assert_eq!(
        check_freshness(Some(&l), Freshness::L2, t("2026-01-01T00:05:00Z")).unwrap(),
        None
    );
    assert!(
        check_freshness(Some(&l), Freshness::L2, t("2026-01-01T00:05:00.001Z"))
            .unwrap()
            .is_some()
    );
    // L3: 60 s fresh, 60.001 s denied.
    assert!(check_freshness(Some(&l), Freshness::L3, t("2026-01-01T00:01:00Z")).is_ok());
    assert_eq!(
        check_freshness(Some(&l), Freshness::L3, t("2026-01-01T00:01:00.001Z"))
            .unwrap_err()
            .code(),
        Code::RevocationStale
    );
    // L1: anything goes.
    assert_eq!(
        check_freshness(None, Freshness::Any, t("2030-01-01T00:00:00Z")).unwrap(),
        None
    );
}
