//! JWT passports: round trips in both wire forms, every refusal with its code, the classic JWT
//! attacks as named tests, delegation, rotation and revocation, and the `testvectors/jwt/`
//! vector files (generated from fixed seeds by [`vectors::generate`]; the normal test reads the
//! files, checks each recorded verdict, and checks that regenerating in memory gives the same
//! bytes, so code and vectors cannot drift).
//!
//! Every expected value here is written by hand (codes, ids, tiers), never copied from output.

mod common;

use modei_core::envelope::{IssuerType, Permission, SelfIssue, Tier};
use modei_core::jwt::{self, CatalogPin, Claims};
use modei_core::keys::{PublicKey, SigningKey};
use modei_core::passport::{inspect, JwtIssue, Passport, Verifier, VerifierOptions, WireForm};
use modei_core::revocation::{Freshness, RevocationList, Warning};
use modei_core::time::Timestamp;
use modei_core::trust::{IssuerKind, Policy, TrustStore};
use modei_core::Code;
use serde_json::{json, Map, Value};
use sha2::Digest;
use std::sync::Arc;

// ------------------------------------------------------------------------------------------
// Fixtures: fixed seeds, fixed clock
// ------------------------------------------------------------------------------------------

/// 2026-01-01T00:00:00Z in seconds.
const T0: i64 = 1_767_225_600;

fn key(b: u8) -> SigningKey {
    SigningKey::from_seed(&[b; 32])
}
fn acme_2026() -> SigningKey {
    key(0x11)
}
fn acme_2027() -> SigningKey {
    key(0x12)
}
fn acme_2024() -> SigningKey {
    key(0x13)
}
fn globex() -> SigningKey {
    key(0x21)
}
fn gate7() -> SigningKey {
    key(0x31)
}
fn agent() -> SigningKey {
    key(0xA1)
}
fn child() -> SigningKey {
    key(0xA2)
}
fn grandchild() -> SigningKey {
    key(0xA3)
}
fn attacker() -> SigningKey {
    key(0xEE)
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(secs)
}

fn jwk(k: &SigningKey) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": k.public_key().to_base64url()})
}

/// The trust store of every vector file, in the documented file format.
fn store_json() -> Value {
    json!({
        "version": 1,
        "issuers": [
            {"id": "acme", "type": "organization", "name": "Acme Corp", "keys": [
                {"kid": "acme-2024", "jwk": jwk(&acme_2024()), "not_before": "2024-01-01T00:00:00Z",
                 "revoked": true, "revoked_at": "2025-12-15T00:00:00Z"},
                {"kid": "acme-2026", "jwk": jwk(&acme_2026()), "not_before": "2025-06-01T00:00:00Z",
                 "not_after": "2027-01-01T00:00:00Z"},
                {"kid": "acme-2027", "jwk": jwk(&acme_2027()), "not_before": "2026-06-01T00:00:00Z",
                 "not_after": "2028-01-01T00:00:00Z"}
            ]},
            {"id": "globex", "type": "platform", "keys": [
                {"kid": "globex-1", "public_key": globex().public_key().to_base64()}
            ]},
            {"id": "gate-7", "type": "gate", "name": "Gate seven", "keys": [
                {"kid": "g7", "jwk": jwk(&gate7())}
            ]}
        ]
    })
}

fn store() -> TrustStore {
    TrustStore::from_json(store_json().to_string().as_bytes(), "fixture").unwrap()
}

fn perm(key: &str, c: Value) -> Permission {
    Permission {
        permission_key: key.into(),
        constraints: c.as_object().cloned().unwrap_or_default().into(),
    }
}

fn base_perms() -> Vec<Permission> {
    vec![
        perm("api:read", json!({"max_per_action_cost": 100})),
        perm("email:send", json!({"rate_limit_per_minute": 10})),
    ]
}

/// A ~600-byte passport for the agent, valid T0 .. T0+3600.
fn base_issue() -> JwtIssue {
    let mut i = JwtIssue::new(
        "pp_0001",
        "agent:email-assistant-001",
        agent().public_key(),
        at(T0),
        at(T0 + 3600),
    );
    i.agent_name = Some("Email assistant".into());
    i.permissions = base_perms();
    i.delegation_authority = true;
    i
}

fn acme_token() -> String {
    base_issue()
        .issue("acme", "acme-2026", &acme_2026())
        .unwrap()
}

fn b64(b: &[u8]) -> String {
    jwt::b64url_encode(b)
}

/// Builds a token from raw header and claims JSON text, signed by `k` (Ed25519).
fn forge(header: &str, claims: &str, k: &SigningKey) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let sig = k.sign(input.as_bytes());
    format!("{input}.{}", sig.to_base64url())
}

fn std_header(kid: &str) -> String {
    format!(r#"{{"alg":"Ed25519","typ":"modei-passport+jwt","kid":"{kid}"}}"#)
}

/// The claims of `base_issue()` as written by iss `acme`, as a JSON text.
fn base_claims(iss: &str, sub: &str, cnf: &SigningKey) -> Value {
    json!({
        "iss": iss, "sub": sub, "jti": "pp_0001", "iat": T0, "exp": T0 + 3600,
        "name": "Email assistant",
        "permissions": [{"permission_key": "api:read", "constraints": {}}],
        "cnf": {"jwk": jwk(cnf)},
    })
}

fn hmac_sha256(secret: &[u8], msg: &[u8]) -> [u8; 32] {
    // RFC 2104 by hand: the key is shorter than the block, so it is zero-padded.
    let mut k = [0u8; 64];
    k[..secret.len()].copy_from_slice(secret);
    let mut inner = sha2::Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let ih = inner.finalize();
    let mut outer = sha2::Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(ih);
    let mut out = [0u8; 32];
    out.copy_from_slice(&outer.finalize());
    out
}

// ------------------------------------------------------------------------------------------
// Cases: one struct drives both the named tests and the vector files
// ------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Cfg {
    allow_self: bool,
    min_tier: Option<&'static str>,
    allowed: Option<Vec<&'static str>>,
    gate_id: Option<&'static str>,
    refuse_eddsa: bool,
    max_token_bytes: Option<usize>,
    leeway_ms: Option<i64>,
    revocation: Option<Value>,
    freshness: Option<(&'static str, i64)>,
}

impl Cfg {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("allow_self_issued".into(), json!(self.allow_self));
        if let Some(t) = self.min_tier {
            m.insert("min_tier".into(), json!(t));
        }
        if let Some(a) = &self.allowed {
            m.insert("allowed_issuers".into(), json!(a));
        }
        if let Some(g) = self.gate_id {
            m.insert("gate_id".into(), json!(g));
        }
        if self.refuse_eddsa {
            m.insert("accept_eddsa".into(), json!(false));
        }
        if let Some(n) = self.max_token_bytes {
            m.insert("max_token_bytes".into(), json!(n));
        }
        if let Some(n) = self.leeway_ms {
            m.insert("leeway_ms".into(), json!(n));
        }
        if let Some(r) = &self.revocation {
            m.insert("revocation".into(), r.clone());
        }
        if let Some((mode, ms)) = self.freshness {
            m.insert("freshness".into(), json!({"mode": mode, "max_age_ms": ms}));
        }
        Value::Object(m)
    }
}

/// Builds a verifier from a vector case's `verifier` object and the file's trust store.
fn verifier_from(cfg: &Value, store_v: &Value) -> Verifier {
    let store = TrustStore::from_json(store_v.to_string().as_bytes(), "vector").unwrap();
    let mut policy = Policy::new().allow_self_issued(cfg["allow_self_issued"] == json!(true));
    if let Some(t) = cfg.get("min_tier").and_then(Value::as_str) {
        policy = policy.min_tier(Tier::parse(t).unwrap());
    }
    if let Some(a) = cfg.get("allowed_issuers").and_then(Value::as_array) {
        policy = policy.allow_only(a.iter().map(|x| x.as_str().unwrap().to_owned()));
    }
    let mut o = VerifierOptions::default();
    if let Some(g) = cfg.get("gate_id").and_then(Value::as_str) {
        o.gate_id = Some(g.into());
    }
    if cfg.get("accept_eddsa") == Some(&json!(false)) {
        o.accept_eddsa = false;
    }
    if let Some(n) = cfg.get("max_token_bytes").and_then(Value::as_u64) {
        o.max_token_bytes = n as usize;
    }
    if let Some(n) = cfg.get("leeway_ms").and_then(Value::as_i64) {
        o.leeway_ms = n;
    }
    if let Some(f) = cfg.get("freshness") {
        let ms = f["max_age_ms"].as_i64().unwrap();
        o.revocation_freshness = match f["mode"].as_str().unwrap() {
            "warn" => Freshness::WarnAfter(ms),
            "deny" => Freshness::DenyAfter(ms),
            other => panic!("freshness mode {other}"),
        };
    }
    let mut v = Verifier::new(store, policy).with_options(o);
    if let Some(r) = cfg.get("revocation") {
        let list = RevocationList::from_json(r.to_string().as_bytes(), "vector").unwrap();
        v = v.with_revocation(Arc::new(list));
    }
    v
}

#[derive(Clone)]
enum Expect {
    Ok {
        passport_id: &'static str,
        tier: &'static str,
        root_issuer: String,
        lineage: usize,
        warnings: usize,
    },
    Err(&'static str),
}

#[derive(Clone)]
struct Case {
    id: &'static str,
    description: &'static str,
    now_secs: i64,
    now_extra_ms: i64,
    token: String,
    cfg: Cfg,
}

impl Case {
    fn new(id: &'static str, description: &'static str, token: String) -> Self {
        Case {
            id,
            description,
            now_secs: T0 + 60,
            now_extra_ms: 0,
            token,
            cfg: Cfg::default(),
        }
    }
    fn now(mut self, secs: i64, extra_ms: i64) -> Self {
        self.now_secs = secs;
        self.now_extra_ms = extra_ms;
        self
    }
    fn cfg(mut self, cfg: Cfg) -> Self {
        self.cfg = cfg;
        self
    }
    fn now_ts(&self) -> Timestamp {
        at(self.now_secs).plus_millis(self.now_extra_ms)
    }
    fn to_json(&self, expect: &Expect) -> Value {
        let exp = match expect {
            Expect::Ok {
                passport_id,
                tier,
                root_issuer,
                lineage,
                warnings,
            } => {
                json!({"ok": {"passport_id": passport_id, "tier": tier, "root_issuer": root_issuer,
                        "lineage_len": lineage, "warnings": warnings}})
            }
            Expect::Err(c) => json!({"error": c}),
        };
        json!({
            "id": self.id,
            "description": self.description,
            "now_ms": self.now_ts().unix_millis(),
            "verifier": self.cfg.to_json(),
            "token": self.token,
            "expect": exp,
        })
    }
}

fn ok(pid: &'static str, tier: &'static str, root: &str) -> Expect {
    Expect::Ok {
        passport_id: pid,
        tier,
        root_issuer: root.into(),
        lineage: 0,
        warnings: 0,
    }
}

/// Runs a recorded case (from a file or generated): verdict must match `expect`.
fn check_case(case: &Value, store_v: &Value) {
    let id = case["id"].as_str().unwrap();
    let v = verifier_from(&case["verifier"], store_v);
    let now = Timestamp::from_unix_millis(case["now_ms"].as_i64().unwrap());
    let got = v.verify(case["token"].as_str().unwrap(), now);
    match (&case["expect"].get("error"), got) {
        (Some(code), Err(e)) => assert_eq!(
            e.code().as_str(),
            code.as_str().unwrap(),
            "{id}: wrong code ({e})"
        ),
        (Some(code), Ok(p)) => panic!("{id}: expected {code}, verified {}", p.passport_id),
        (None, Err(e)) => panic!("{id}: expected success, got {e}"),
        (None, Ok(p)) => {
            let o = &case["expect"]["ok"];
            assert_eq!(p.passport_id, o["passport_id"].as_str().unwrap(), "{id}");
            assert_eq!(p.tier.as_str(), o["tier"].as_str().unwrap(), "{id}");
            assert_eq!(
                &*p.root_issuer.id,
                o["root_issuer"].as_str().unwrap(),
                "{id}"
            );
            assert_eq!(
                p.lineage.len() as u64,
                o["lineage_len"].as_u64().unwrap(),
                "{id}"
            );
            assert_eq!(
                p.warnings.len() as u64,
                o["warnings"].as_u64().unwrap(),
                "{id}"
            );
        }
    }
}

fn run(case: &Case, expect: Expect) -> Option<Passport> {
    let v = verifier_from(&case.cfg.to_json(), &store_json());
    let got = v.verify(&case.token, case.now_ts());
    check_case(&case.to_json(&expect), &store_json());
    got.ok()
}

fn self_cfg() -> Cfg {
    Cfg {
        allow_self: true,
        ..Cfg::default()
    }
}

fn self_token() -> String {
    let mut i = base_issue();
    i.passport_id = "pp_self_1".into();
    i.self_issue(&agent()).unwrap()
}

// ------------------------------------------------------------------------------------------
// The vector files
// ------------------------------------------------------------------------------------------

mod vectors {
    use super::*;

    pub struct File {
        pub name: &'static str,
        pub proves: &'static str,
        pub cases: Vec<(Case, Expect)>,
    }

    pub fn passports() -> File {
        let acme = acme_token();
        let mut eddsa = Vec::new();
        {
            let c = base_claims("acme", "agent:x", &agent()).to_string();
            eddsa.push(forge(
                r#"{"alg":"EdDSA","typ":"modei-passport+jwt","kid":"acme-2026"}"#,
                &c,
                &acme_2026(),
            ));
        }
        let mut aud = base_issue();
        aud.passport_id = "pp_aud".into();
        aud.audience = vec!["gate-7".into(), "gate-8".into()];
        let aud_tok = aud.issue("acme", "acme-2026", &acme_2026()).unwrap();
        let gate_tok = {
            let mut i = base_issue();
            i.passport_id = "pp_gate".into();
            i.catalog = Some(CatalogPin {
                gate_id: Some("gate-7".into()),
                version: Some(3),
                content_hash: Some("sha256:00".into()),
            });
            i.issue("gate-7", "g7", &gate7()).unwrap()
        };
        let nbf_tok = {
            let mut i = base_issue();
            i.passport_id = "pp_nbf".into();
            i.not_before = Some(at(T0 + 600));
            i.issue("acme", "acme-2026", &acme_2026()).unwrap()
        };
        File {
            name: "passports.json",
            proves: "Passport JWTs that verify (org, platform, gate, self-issued, EdDSA name) and the claim, time, audience and tier checks: exp exclusive with a 30 s leeway to the millisecond, nbf and iat in the future, audience matching, tier minimum, unknown claims refused.",
            cases: vec![
                (Case::new("org_ok", "An organization-issued passport verifies; tier L1 from the store.", acme.clone()), ok("pp_0001", "L1", "acme")),
                (Case::new("platform_ok", "A platform-issued passport verifies (store key given as standard base64).",
                    { let mut i = base_issue(); i.passport_id = "pp_glx".into(); i.issue("globex", "globex-1", &globex()).unwrap() }), ok("pp_glx", "L1", "globex")),
                (Case::new("gate_ok_with_pin", "A gate-issued passport with a catalog pin verifies at tier L2.", gate_tok.clone()).cfg(Cfg { gate_id: Some("gate-7"), ..Cfg::default() }), ok("pp_gate", "L2", "gate-7")),
                (Case::new("self_ok", "A self-issued passport verifies when policy allows self-issued.", self_token()).cfg(self_cfg()),
                    ok("pp_self_1", "L0", &agent().public_key().self_issuer_id())),
                (Case::new("self_refused_by_default", "Policy refuses self-issued passports by default.", self_token()), Expect::Err("self_issued_not_allowed")),
                (Case::new("eddsa_name_ok", "alg EdDSA over the Ed25519 issuer key is accepted by default.", eddsa[0].clone()), ok("pp_0001", "L1", "acme")),
                (Case::new("eddsa_name_refused", "alg EdDSA is refused when the verifier accepts only Ed25519.", eddsa[0].clone()).cfg(Cfg { refuse_eddsa: true, ..Cfg::default() }), Expect::Err("jwt_alg_not_allowed")),
                (Case::new("exp_within_leeway", "exp = T0+3600; now = exp + 30 s - 1 ms still verifies (leeway 30 s).", acme.clone()).now(T0 + 3600 + 30, -1), ok("pp_0001", "L1", "acme")),
                (Case::new("exp_at_leeway_edge", "now = exp + 30 s exactly: expired (exp is exclusive).", acme.clone()).now(T0 + 3630, 0), Expect::Err("passport_expired")),
                (Case::new("exp_no_leeway", "Leeway 0: now = exp is expired.", acme.clone()).now(T0 + 3600, 0).cfg(Cfg { leeway_ms: Some(0), ..Cfg::default() }), Expect::Err("passport_expired")),
                (Case::new("iat_future_within_leeway", "now = iat - 30 s verifies.", acme.clone()).now(T0 - 30, 0), ok("pp_0001", "L1", "acme")),
                (Case::new("iat_future_beyond_leeway", "now = iat - 30 s - 1 ms: not yet valid.", acme.clone()).now(T0 - 30, -1), Expect::Err("passport_not_yet_valid")),
                (Case::new("nbf_future", "nbf = T0+600; now = T0+60: not yet valid.", nbf_tok.clone()), Expect::Err("passport_not_yet_valid")),
                (Case::new("nbf_reached", "nbf = T0+600; now = T0+570 (leeway 30 s): valid.", nbf_tok).now(T0 + 570, 0), ok("pp_nbf", "L1", "acme")),
                (Case::new("aud_match", "aud [gate-7, gate-8] verifies at gate-8.", aud_tok.clone()).cfg(Cfg { gate_id: Some("gate-8"), ..Cfg::default() }), ok("pp_aud", "L1", "acme")),
                (Case::new("aud_mismatch", "aud [gate-7, gate-8] is refused at gate-9.", aud_tok.clone()).cfg(Cfg { gate_id: Some("gate-9"), ..Cfg::default() }), Expect::Err("audience_mismatch")),
                (Case::new("aud_absent_any_gate", "No aud: any gate accepts.", acme.clone()).cfg(Cfg { gate_id: Some("gate-9"), ..Cfg::default() }), ok("pp_0001", "L1", "acme")),
                (Case::new("tier_insufficient", "An L1 passport at a gate requiring L2.", acme.clone()).cfg(Cfg { min_tier: Some("L2"), ..Cfg::default() }), Expect::Err("trust_tier_insufficient")),
                (Case::new("tier_sufficient", "The gate passport meets L2.", gate_tok).cfg(Cfg { min_tier: Some("L2"), ..Cfg::default() }), ok("pp_gate", "L2", "gate-7")),
                (Case::new("unknown_claim", "An unknown claim is refused (fail closed).",
                    { let mut c = base_claims("acme", "agent:x", &agent()); c["role"] = json!("admin"); forge(&std_header("acme-2026"), &c.to_string(), &acme_2026()) }), Expect::Err("jwt_claim_invalid")),
                (Case::new("float_iat", "iat must be an integer NumericDate.",
                    { let mut c = base_claims("acme", "agent:x", &agent()); c["iat"] = json!(1767225600.5); forge(&std_header("acme-2026"), &c.to_string(), &acme_2026()) }), Expect::Err("jwt_claim_invalid")),
                (Case::new("missing_cnf", "cnf (the agent key) is required.",
                    { let mut c = base_claims("acme", "agent:x", &agent()); c.as_object_mut().unwrap().remove("cnf"); forge(&std_header("acme-2026"), &c.to_string(), &acme_2026()) }), Expect::Err("jwt_claim_invalid")),
                (Case::new("exp_before_iat", "exp before iat.",
                    { let mut c = base_claims("acme", "agent:x", &agent()); c["exp"] = json!(T0 - 1); forge(&std_header("acme-2026"), &c.to_string(), &acme_2026()) }), Expect::Err("passport_validity_inverted")),
                (Case::new("typ_missing", "A JWT without typ is not a passport (cross-JWT confusion).",
                    forge(r#"{"alg":"Ed25519","kid":"acme-2026"}"#, &base_claims("acme", "agent:x", &agent()).to_string(), &acme_2026())), Expect::Err("jwt_typ_invalid")),
                (Case::new("typ_other", "typ JWT is refused.",
                    forge(r#"{"alg":"Ed25519","typ":"JWT","kid":"acme-2026"}"#, &base_claims("acme", "agent:x", &agent()).to_string(), &acme_2026())), Expect::Err("jwt_typ_invalid")),
                (Case::new("typ_application_prefix", "typ application/Modei-Passport+JWT is the same media type (RFC 7515 4.1.9).",
                    forge(r#"{"alg":"Ed25519","typ":"application/Modei-Passport+JWT","kid":"acme-2026"}"#, &base_claims("acme", "agent:x", &agent()).to_string(), &acme_2026())), ok("pp_0001", "L1", "acme")),
            ],
        }
    }

    pub fn attacks() -> File {
        let acme = acme_token();
        let claims = base_claims("acme", "agent:x", &agent()).to_string();
        let pk = acme_2026().public_key();
        // alg none: empty signature.
        let none = format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"modei-passport+jwt","kid":"acme-2026"}"#),
            b64(claims.as_bytes())
        );
        // HS256 keyed with the issuer's public key bytes (the classic key confusion).
        let hs_input = format!(
            "{}.{}",
            b64(br#"{"alg":"HS256","typ":"modei-passport+jwt","kid":"acme-2026"}"#),
            b64(claims.as_bytes())
        );
        let hs = format!(
            "{hs_input}.{}",
            b64(&hmac_sha256(pk.bytes(), hs_input.as_bytes()))
        );
        // HS256 keyed with the base64url text of the key, another common confusion.
        let hs_input2 = hs_input.clone();
        let hs2 = format!(
            "{hs_input2}.{}",
            b64(&hmac_sha256(
                pk.to_base64url().as_bytes(),
                hs_input2.as_bytes()
            ))
        );
        let alg_tok = |alg: &str| {
            forge(
                &format!(r#"{{"alg":"{alg}","typ":"modei-passport+jwt","kid":"acme-2026"}}"#),
                &claims,
                &acme_2026(),
            )
        };
        let segs: Vec<&str> = acme.split('.').collect();
        let (h, p, s) = (segs[0], segs[1], segs[2]);
        // Non-canonical trailing bits: 64 bytes = 86 chars, the last carries 2 data bits, so
        // its low 4 bits must be zero. Set one.
        let last = s.as_bytes()[s.len() - 1];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let idx = alphabet.iter().position(|&c| c == last).unwrap();
        let noncanon = format!("{h}.{p}.{}{}", &s[..s.len() - 1], alphabet[idx | 1] as char);
        let uniplex_hole = {
            // A self-made passport claiming issuer acme: attacker's key signs, cnf is the
            // attacker's key, kid names acme's real key.
            let c = base_claims("acme", "agent:evil", &attacker()).to_string();
            forge(&std_header("acme-2026"), &c, &attacker())
        };
        let uniplex_hole_self_kid = {
            let c = base_claims("acme", "agent:evil", &attacker()).to_string();
            forge(&std_header("self"), &c, &attacker())
        };
        let self_claiming = {
            // iss is the attacker's self id but the cnf key is the victim agent's.
            let c = base_claims(
                &attacker().public_key().self_issuer_id(),
                &agent().public_key().self_agent_id(),
                &agent(),
            )
            .to_string();
            forge(&std_header("self"), &c, &attacker())
        };
        let big = {
            let mut c = base_claims("acme", "agent:x", &agent());
            c["name"] = json!("x".repeat(17_000));
            forge(&std_header("acme-2026"), &c.to_string(), &acme_2026())
        };
        let tampered = {
            let mut c = base_claims("acme", "agent:x", &agent());
            let honest = forge(&std_header("acme-2026"), &c.to_string(), &acme_2026());
            c["permissions"] = json!([{"permission_key": "admin:*", "constraints": {}}]);
            let sig = honest.rsplit('.').next().unwrap().to_owned();
            format!(
                "{}.{}.{sig}",
                b64(std_header("acme-2026").as_bytes()),
                b64(c.to_string().as_bytes())
            )
        };
        File {
            name: "attacks.json",
            proves: "The classic JWT attacks fail with a precise code: alg none, HS256 keyed with the issuer's public key, other algorithms, kid injection and key confusion, keys embedded in the header, a self-made passport claiming a trusted issuer (the Uniplex SDK hole), crit and b64, duplicate JSON members, non-canonical base64url, oversized tokens and tampered claims.",
            cases: vec![
                (Case::new("alg_none", "alg none with an empty signature.", none), Expect::Err("jwt_alg_not_allowed")),
                (Case::new("hs256_public_key_secret", "HS256 whose HMAC secret is the issuer's raw public key: a real, correct HMAC.", hs), Expect::Err("jwt_alg_not_allowed")),
                (Case::new("hs256_public_key_text_secret", "HS256 keyed with the base64url text of the issuer key.", hs2), Expect::Err("jwt_alg_not_allowed")),
                (Case::new("alg_es256", "ES256 is not Ed25519.", alg_tok("ES256")), Expect::Err("jwt_alg_not_allowed")),
                (Case::new("alg_rs256", "RS256 is not Ed25519.", alg_tok("RS256")), Expect::Err("jwt_alg_not_allowed")),
                (Case::new("alg_lowercase", "alg names are case-sensitive: ed25519 is not Ed25519.", alg_tok("ed25519")), Expect::Err("jwt_alg_not_allowed")),
                (Case::new("kid_other_issuer", "kid names globex's key while iss is acme: acme has no such kid.",
                    forge(&std_header("globex-1"), &claims, &globex())), Expect::Err("key_unknown")),
                (Case::new("iss_other_issuer_key_confusion", "iss globex, kid globex-1, but signed with acme's key: the store's globex key does not verify it.",
                    forge(&std_header("globex-1"), &base_claims("globex", "agent:x", &agent()).to_string(), &acme_2026())), Expect::Err("signature_invalid")),
                (Case::new("kid_path_injection", "kid with path characters is just an unknown kid.",
                    forge(&std_header("../../keys/attacker"), &claims, &attacker())), Expect::Err("key_unknown")),
                (Case::new("embedded_jwk", "Header jwk with the attacker's key, claiming to be acme.",
                    forge(&format!(r#"{{"alg":"Ed25519","typ":"modei-passport+jwt","kid":"acme-2026","jwk":{}}}"#, jwk(&attacker())), &claims, &attacker())), Expect::Err("jwt_embedded_key")),
                (Case::new("embedded_jku", "Header jku pointing at the attacker's key set.",
                    forge(r#"{"alg":"Ed25519","typ":"modei-passport+jwt","kid":"acme-2026","jku":"https://evil.example/jwks"}"#, &claims, &attacker())), Expect::Err("jwt_embedded_key")),
                (Case::new("embedded_x5c", "Header x5c certificate chain.",
                    forge(r#"{"alg":"Ed25519","typ":"modei-passport+jwt","kid":"acme-2026","x5c":["MIIB"]}"#, &claims, &attacker())), Expect::Err("jwt_embedded_key")),
                (Case::new("self_made_claims_acme", "The Uniplex hole: a self-made passport claiming issuer acme, signed by its own (cnf) key, kid of acme's real key. Even with self-issued allowed it fails: the key comes from the store.", uniplex_hole).cfg(self_cfg()), Expect::Err("signature_invalid")),
                (Case::new("self_made_claims_acme_kid_self", "The same with kid self: acme has no key 'self'.", uniplex_hole_self_kid).cfg(self_cfg()), Expect::Err("key_unknown")),
                (Case::new("self_iss_not_bound_to_cnf", "A self issuer id that is not the hash of the cnf key.", self_claiming).cfg(self_cfg()), Expect::Err("identity_mismatch")),
                (Case::new("crit_header", "Any crit header is refused.",
                    forge(r#"{"alg":"Ed25519","typ":"modei-passport+jwt","kid":"acme-2026","crit":["exp"],"exp":1}"#, &claims, &acme_2026())), Expect::Err("jwt_crit_unsupported")),
                (Case::new("b64_false", "RFC 7797 unencoded payload is refused.",
                    forge(r#"{"alg":"Ed25519","typ":"modei-passport+jwt","kid":"acme-2026","b64":false,"crit":["b64"]}"#, &claims, &acme_2026())), Expect::Err("jwt_crit_unsupported")),
                (Case::new("b64_false_without_crit", "b64 false without crit is refused too.",
                    forge(r#"{"alg":"Ed25519","typ":"modei-passport+jwt","kid":"acme-2026","b64":false}"#, &claims, &acme_2026())), Expect::Err("jwt_crit_unsupported")),
                (Case::new("duplicate_claim", "sub twice with different values: parsers disagree on which wins, so strict reading refuses.",
                    forge(&std_header("acme-2026"), &claims.replacen("{", r#"{"sub":"agent:admin","#, 1), &acme_2026())), Expect::Err("json_duplicate_key")),
                (Case::new("duplicate_header_alg", "alg twice in the header (Ed25519 and none).",
                    forge(r#"{"alg":"Ed25519","typ":"modei-passport+jwt","kid":"acme-2026","alg":"none"}"#, &claims, &acme_2026())), Expect::Err("json_duplicate_key")),
                (Case::new("padded_signature", "base64url with '=' padding.", format!("{acme}==")), Expect::Err("jwt_malformed")),
                (Case::new("standard_alphabet", "'+' in a segment (standard base64 alphabet).", format!("{h}.{p}+.{s}")), Expect::Err("jwt_malformed")),
                (Case::new("noncanonical_trailing_bits", "The signature's last character has unused bits set.", noncanon), Expect::Err("jwt_malformed")),
                (Case::new("two_segments", "Only two segments.", format!("{h}.{p}")), Expect::Err("jwt_malformed")),
                (Case::new("four_segments", "Four segments (a JWE-like shape).", format!("{acme}.{s}")), Expect::Err("jwt_malformed")),
                (Case::new("oversized", "A token over the default 16 KiB limit.", big), Expect::Err("token_too_large")),
                (Case::new("over_configured_limit", "A normal token over a configured 256-byte limit.", acme.clone()).cfg(Cfg { max_token_bytes: Some(256), ..Cfg::default() }), Expect::Err("token_too_large")),
                (Case::new("tampered_claims", "Claims changed after signing.", tampered), Expect::Err("signature_invalid")),
            ],
        }
    }

    pub fn trust() -> File {
        let by = |pid: &str, kid: &str, k: &SigningKey, iat: i64| {
            let mut i = base_issue();
            i.passport_id = pid.into();
            i.issued_at = at(iat);
            i.expires_at = at(iat + 30 * 86400);
            i.issue("acme", kid, k).unwrap()
        };
        // 2026-07-01T00:00:00Z: both acme-2026 and acme-2027 are in their windows.
        let jul = 1_782_864_000;
        // 2027-01-01T00:00:00Z: acme-2026's not_after.
        let jan27 = T0 + 365 * 86400;
        let rev = |extra: Value| {
            let mut r = json!({"version": 1, "as_of": "2026-01-01T00:00:30Z"});
            for (k, v) in extra.as_object().unwrap() {
                r[k] = v.clone();
            }
            r
        };
        let acme = acme_token();
        File {
            name: "trust-store.json",
            proves: "Keys come from the trust store by (iss, kid): rotation with two keys active, key windows checked at issue time and at verification time, revoked keys refused even for passports they signed before revocation, unknown issuers and kids, the issuer allowlist, and revocation lists with L2/L3 freshness.",
            cases: vec![
                (Case::new("rotation_old_key", "July 2026: a passport by acme-2026 verifies...", by("pp_old", "acme-2026", &acme_2026(), jul)).now(jul + 60, 0), ok("pp_old", "L1", "acme")),
                (Case::new("rotation_new_key", "...and so does one by acme-2027 (both keys active).", by("pp_new", "acme-2027", &acme_2027(), jul)).now(jul + 60, 0), ok("pp_new", "L1", "acme")),
                (Case::new("key_not_yet_valid", "acme-2027 signing in January 2026, before its window opens.", by("pp_early", "acme-2027", &acme_2027(), T0)), Expect::Err("key_not_yet_valid")),
                (Case::new("key_expired", "acme-2026 after its not_after (2027-01-01): refused even though the passport was issued inside the window.",
                    by("pp_late", "acme-2026", &acme_2026(), jan27 - 3600)).now(jan27 + 60, 0), Expect::Err("key_expired")),
                (Case::new("revoked_key_old_passport", "acme-2024 is revoked (2025-12-15); a passport it signed in 2025 is refused.",
                    by("pp_2025", "acme-2024", &acme_2024(), T0 - 30 * 86400)).now(T0 - 86400, 0), Expect::Err("issuer_key_revoked")),
                (Case::new("issuer_unknown", "iss not in the store.",
                    { let mut i = base_issue(); i.passport_id = "pp_u".into(); i.issue("initech", "k1", &attacker()).unwrap() }), Expect::Err("issuer_unknown")),
                (Case::new("kid_unknown", "acme has no key k9.", by("pp_k9", "k9", &acme_2026(), T0)), Expect::Err("key_unknown")),
                (Case::new("allowlist_refuses", "Policy allows only globex.", acme.clone()).cfg(Cfg { allowed: Some(vec!["globex"]), ..Cfg::default() }), Expect::Err("issuer_not_allowed")),
                (Case::new("allowlist_accepts", "Policy allows acme.", acme.clone()).cfg(Cfg { allowed: Some(vec!["acme"]), ..Cfg::default() }), ok("pp_0001", "L1", "acme")),
                (Case::new("revoked_passport", "The passport id is on the revocation list.", acme.clone())
                    .cfg(Cfg { revocation: Some(rev(json!({"passports": ["pp_0001"]}))), ..Cfg::default() }), Expect::Err("passport_revoked")),
                (Case::new("revoked_agent", "The agent id is on the revocation list.", acme.clone())
                    .cfg(Cfg { revocation: Some(rev(json!({"agents": ["agent:email-assistant-001"]}))), ..Cfg::default() }), Expect::Err("passport_revoked")),
                (Case::new("revoked_issuer_key_list", "The issuer key is on the revocation list.", acme.clone())
                    .cfg(Cfg { revocation: Some(rev(json!({"issuer_keys": [{"issuer": "acme", "kid": "acme-2026"}]}))), ..Cfg::default() }), Expect::Err("issuer_key_revoked")),
                (Case::new("l2_fresh", "L2: list 30 s old at now = T0+60: no warning.", acme.clone())
                    .cfg(Cfg { revocation: Some(rev(json!({}))), freshness: Some(("warn", 300_000)), ..Cfg::default() }), ok("pp_0001", "L1", "acme")),
                (Case::new("l2_stale_warns", "L2: list 330 s old: verifies with one warning.", acme.clone()).now(T0 + 360, 0)
                    .cfg(Cfg { revocation: Some(rev(json!({}))), freshness: Some(("warn", 300_000)), ..Cfg::default() }),
                    Expect::Ok { passport_id: "pp_0001", tier: "L1", root_issuer: "acme".into(), lineage: 0, warnings: 1 }),
                (Case::new("l3_fresh", "L3: list 30 s old: verifies.", acme.clone())
                    .cfg(Cfg { revocation: Some(rev(json!({}))), freshness: Some(("deny", 60_000)), ..Cfg::default() }), ok("pp_0001", "L1", "acme")),
                (Case::new("l3_stale_denies", "L3: list 90 s old: revocation_stale.", acme.clone()).now(T0 + 120, 0)
                    .cfg(Cfg { revocation: Some(rev(json!({}))), freshness: Some(("deny", 60_000)), ..Cfg::default() }), Expect::Err("revocation_stale")),
                (Case::new("l3_no_source", "L3 with no revocation source configured: revocation_stale.", acme.clone())
                    .cfg(Cfg { freshness: Some(("deny", 60_000)), ..Cfg::default() }), Expect::Err("revocation_stale")),
                (Case::new("stale_list_still_revokes", "A stale list's revocation still applies (passport_revoked before freshness).", acme).now(T0 + 3000, 0)
                    .cfg(Cfg { revocation: Some(rev(json!({"passports": ["pp_0001"]}))), freshness: Some(("deny", 60_000)), ..Cfg::default() }), Expect::Err("passport_revoked")),
            ],
        }
    }

    pub fn delegation() -> File {
        let root = acme_token();
        let d1 = delegate_from(
            &root,
            &agent(),
            &child(),
            "pp_d1",
            true,
            vec![perm("api:read", json!({"max_per_action_cost": 50}))],
        );
        let d2 = delegate_from(
            &d1,
            &child(),
            &grandchild(),
            "pp_d2",
            false,
            vec![perm("api:read", json!({"max_per_action_cost": 10}))],
        );
        let self_root = self_token();
        let sd1 = delegate_from(
            &self_root,
            &agent(),
            &child(),
            "pp_sd1",
            false,
            vec![perm("api:read", json!({}))],
        );
        // Hand-built links that the builder would refuse.
        let raw_child = |parent: &str,
                         pkey: &SigningKey,
                         ckey: &SigningKey,
                         perms: Value,
                         exp: i64,
                         authority: bool| {
            let pc = parent_claims(parent);
            let c = json!({
                "iss": pc.sub, "sub": ckey.public_key().self_agent_id(), "jti": "pp_raw",
                "iat": T0, "exp": exp, "permissions": perms,
                "cnf": {"jwk": jwk(ckey)}, "del": {"authority": authority, "parent": parent},
            });
            forge(
                &std_header(&pkey.public_key().thumbprint()),
                &c.to_string(),
                pkey,
            )
        };
        let elevated = raw_child(
            &root,
            &agent(),
            &child(),
            json!([{"permission_key": "admin:delete", "constraints": {}}]),
            T0 + 3600,
            false,
        );
        let loosened = raw_child(
            &root,
            &agent(),
            &child(),
            json!([{"permission_key": "api:read", "constraints": {"max_per_action_cost": 1000}}]),
            T0 + 3600,
            false,
        );
        let extended = raw_child(
            &root,
            &agent(),
            &child(),
            json!([{"permission_key": "api:read", "constraints": {}}]),
            T0 + 7200,
            false,
        );
        let no_auth = raw_child(&d2, &grandchild(), &attacker(), json!([]), T0 + 3600, false);
        let wrong_signer = {
            let pc = parent_claims(&root);
            let c = json!({"iss": pc.sub, "sub": child().public_key().self_agent_id(), "jti": "pp_ws", "iat": T0, "exp": T0 + 3600,
                "permissions": [], "cnf": {"jwk": jwk(&child())}, "del": {"authority": false, "parent": root}});
            forge(
                &std_header(&agent().public_key().thumbprint()),
                &c.to_string(),
                &attacker(),
            )
        };
        let mut deep = acme_token();
        let keys = [
            agent(),
            key(0xB1),
            key(0xB2),
            key(0xB3),
            key(0xB4),
            key(0xB5),
            key(0xB6),
        ];
        let mut deep5 = String::new();
        for i in 0..6 {
            deep = raw_child(&deep, &keys[i], &keys[i + 1], json!([]), T0 + 3600, true);
            if i == 4 {
                deep5 = deep.clone();
            }
        }
        let aud_root = {
            let mut i = base_issue();
            i.passport_id = "pp_audroot".into();
            i.audience = vec!["gate-7".into()];
            i.issue("acme", "acme-2026", &acme_2026()).unwrap()
        };
        let aud_broadened = {
            let pc = parent_claims(&aud_root);
            let c = json!({"iss": pc.sub, "sub": child().public_key().self_agent_id(), "jti": "pp_ab", "iat": T0, "exp": T0 + 3600,
                "aud": ["gate-7", "gate-9"], "permissions": [], "cnf": {"jwk": jwk(&child())}, "del": {"parent": aud_root}});
            forge(
                &std_header(&agent().public_key().thumbprint()),
                &c.to_string(),
                &agent(),
            )
        };
        let rev = json!({"version": 1, "as_of": "2026-01-01T00:00:30Z", "passports": ["pp_d1"]});
        File {
            name: "delegation.json",
            proves: "JWT delegation (del.parent nesting): each link signed by its parent's cnf key, iss = parent sub, kid = parent key thumbprint; authority required, at most 5 ancestors, permissions only narrow, expiry never extends, audience never broadens; the tier is the root's and revoking an ancestor revokes the subtree.",
            cases: vec![
                (Case::new("depth1_ok", "acme → agent → child.", d1.clone()),
                    Expect::Ok { passport_id: "pp_d1", tier: "L1", root_issuer: "acme".into(), lineage: 1, warnings: 0 }),
                (Case::new("depth2_ok", "acme → agent → child → grandchild.", d2.clone()),
                    Expect::Ok { passport_id: "pp_d2", tier: "L1", root_issuer: "acme".into(), lineage: 2, warnings: 0 }),
                (Case::new("self_rooted_ok", "A delegation rooted in a self-issued passport, self allowed: tier L0.", sd1.clone()).cfg(self_cfg()),
                    Expect::Ok { passport_id: "pp_sd1", tier: "L0", root_issuer: agent().public_key().self_issuer_id(), lineage: 1, warnings: 0 }),
                (Case::new("self_rooted_refused", "The same when policy refuses self-issued.", sd1), Expect::Err("self_issued_not_allowed")),
                (Case::new("elevation_new_permission", "The child adds admin:delete.", elevated), Expect::Err("permission_elevation_in_chain")),
                (Case::new("elevation_loosened", "The child raises max_per_action_cost from 100 to 1000.", loosened), Expect::Err("permission_elevation_in_chain")),
                (Case::new("expiry_extension", "The child expires an hour after its parent.", extended), Expect::Err("expiry_extension_in_chain")),
                (Case::new("no_authority", "pp_d2 has no delegation authority, yet delegates.", no_auth), Expect::Err("delegation_authority_missing")),
                (Case::new("wrong_signer", "A link signed by a key other than its parent's cnf key.", wrong_signer), Expect::Err("signature_invalid")),
                (Case::new("depth5_ok", "Five ancestors is the limit.", deep5),
                    Expect::Ok { passport_id: "pp_raw", tier: "L1", root_issuer: "acme".into(), lineage: 5, warnings: 0 }),
                (Case::new("depth6", "Six ancestors is too deep.", deep).cfg(Cfg { max_token_bytes: Some(1 << 20), ..Cfg::default() }), Expect::Err("delegation_chain_too_deep")),
                (Case::new("aud_broadened", "The parent is for gate-7; the child claims gate-7 and gate-9.", aud_broadened), Expect::Err("permission_elevation_in_chain")),
                (Case::new("ancestor_revoked", "Revoking pp_d1 revokes pp_d2 delegated from it.", d2).cfg(Cfg { revocation: Some(rev), ..Cfg::default() }), Expect::Err("passport_revoked")),
            ],
        }
    }

    pub fn generate() -> Vec<(String, String)> {
        [passports(), attacks(), trust(), delegation()]
            .into_iter()
            .map(|f| {
                let doc = json!({
                    "version": 1,
                    "proves": f.proves,
                    "generator": "modei-core/tests/jwt.rs (fixed seeds; regenerate with `cargo test -p modei-core --test jwt -- --ignored regenerate`)",
                    "keys": {
                        "acme-2024": "seed 0x13 x32", "acme-2026": "seed 0x11 x32", "acme-2027": "seed 0x12 x32",
                        "globex-1": "seed 0x21 x32", "g7": "seed 0x31 x32",
                        "agent": "seed 0xa1 x32", "child": "seed 0xa2 x32", "grandchild": "seed 0xa3 x32", "attacker": "seed 0xee x32"
                    },
                    "trust_store": store_json(),
                    "cases": f.cases.iter().map(|(c, e)| c.to_json(e)).collect::<Vec<_>>(),
                });
                let mut s = serde_json::to_string_pretty(&doc).unwrap();
                s.push('\n');
                (f.name.to_owned(), s)
            })
            .collect()
    }
}

fn parent_claims(token: &str) -> Claims {
    let d = jwt::decode(token, &Default::default()).unwrap();
    Claims::from_map(d.claims).unwrap()
}

fn delegate_from(
    parent: &str,
    pkey: &SigningKey,
    ckey: &SigningKey,
    pid: &str,
    authority: bool,
    perms: Vec<Permission>,
) -> String {
    let mut i = JwtIssue::new(pid, "", ckey.public_key(), at(T0), at(T0 + 3600));
    i.permissions = perms;
    i.delegation_authority = authority;
    i.delegate(parent, pkey).unwrap()
}

fn vector_dir() -> std::path::PathBuf {
    common::testvectors_dir().join("jwt")
}

#[test]
fn vector_files_match_generator_and_verdicts() {
    // `MODEI_REGENERATE=1 cargo test -p modei-core --test jwt` rewrites the files first.
    if std::env::var_os("MODEI_REGENERATE").is_some() {
        std::fs::create_dir_all(vector_dir()).unwrap();
        for (name, text) in vectors::generate() {
            std::fs::write(vector_dir().join(name), text).unwrap();
        }
    }
    for (name, text) in vectors::generate() {
        let path = vector_dir().join(&name);
        let on_disk = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run the regenerator)", path.display()));
        assert!(
            on_disk == text,
            "{name}: the file differs from what the generator produces; code and vectors drifted"
        );
        let doc: Value = serde_json::from_str(&on_disk).unwrap();
        let cases = doc["cases"].as_array().unwrap();
        assert!(!cases.is_empty());
        for case in cases {
            check_case(case, &doc["trust_store"]);
        }
    }
}

fn find(f: vectors::File, id: &str) -> (Case, Expect) {
    f.cases.into_iter().find(|(c, _)| c.id == id).unwrap()
}

macro_rules! vector_tests {
    ($file:ident: $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let (c, e) = find(vectors::$file(), stringify!($name));
                run(&c, e);
            }
        )*
    };
}

// Every vector case is also a named test.
vector_tests!(passports: org_ok, platform_ok, gate_ok_with_pin, self_ok, self_refused_by_default,
    eddsa_name_ok, eddsa_name_refused, exp_within_leeway, exp_at_leeway_edge, exp_no_leeway,
    iat_future_within_leeway, iat_future_beyond_leeway, nbf_future, nbf_reached, aud_match,
    aud_mismatch, aud_absent_any_gate, tier_insufficient, tier_sufficient, unknown_claim, float_iat,
    missing_cnf, exp_before_iat, typ_missing, typ_other, typ_application_prefix);
vector_tests!(attacks: alg_none, hs256_public_key_secret, hs256_public_key_text_secret, alg_es256,
    alg_rs256, alg_lowercase, kid_other_issuer, iss_other_issuer_key_confusion, kid_path_injection,
    embedded_jwk, embedded_jku, embedded_x5c, self_made_claims_acme, self_made_claims_acme_kid_self,
    self_iss_not_bound_to_cnf, crit_header, b64_false, b64_false_without_crit, duplicate_claim,
    duplicate_header_alg, padded_signature, standard_alphabet, noncanonical_trailing_bits,
    two_segments, four_segments, oversized, over_configured_limit, tampered_claims);
vector_tests!(trust: rotation_old_key, rotation_new_key, key_not_yet_valid, key_expired,
    revoked_key_old_passport, issuer_unknown, kid_unknown, allowlist_refuses, allowlist_accepts,
    revoked_passport, revoked_agent, revoked_issuer_key_list, l2_fresh, l2_stale_warns, l3_fresh,
    l3_stale_denies, l3_no_source, stale_list_still_revokes);
vector_tests!(delegation: depth1_ok, depth2_ok, self_rooted_ok, self_rooted_refused,
    elevation_new_permission, elevation_loosened, expiry_extension, no_authority, wrong_signer,
    depth5_ok, depth6, aud_broadened, ancestor_revoked);

// ------------------------------------------------------------------------------------------
// Named tests beyond the vectors
// ------------------------------------------------------------------------------------------

fn acme_verifier() -> Verifier {
    Verifier::new(store(), Policy::new())
}

#[test]
fn jwt_round_trip_fields() {
    let t = acme_token();
    let p = acme_verifier().verify(&t, at(T0 + 60)).unwrap();
    assert_eq!(p.form, WireForm::Jwt);
    assert_eq!(p.passport_id, "pp_0001");
    assert_eq!(p.agent_id, "agent:email-assistant-001");
    assert_eq!(p.agent_name.as_deref(), Some("Email assistant"));
    assert_eq!(p.agent_public_key().unwrap(), agent().public_key());
    assert_eq!(&*p.issuer.id, "acme");
    assert_eq!(p.issuer.kind, IssuerKind::Organization);
    assert_eq!(&*p.issuer.key_id, "acme-2026");
    assert_eq!(p.root_issuer, p.issuer);
    assert_eq!(p.tier, Tier::L1);
    assert_eq!(p.permissions, base_perms());
    assert_eq!(p.issued_at, Timestamp::from_unix_millis(1_767_225_600_000));
    assert_eq!(p.expires_at, Timestamp::from_unix_millis(1_767_229_200_000));
    assert!(p.delegation_authority);
    assert!(p.lineage.is_empty());
    assert_eq!(
        p.digest().to_vec(),
        sha2::Sha256::digest(t.as_bytes()).to_vec()
    );
    assert_eq!(p.signed_bytes(), t.as_bytes());
    assert!(p.warnings.is_empty());
    // The header is exactly what the spec says, members sorted.
    let h = t.split('.').next().unwrap();
    assert_eq!(
        jwt::b64url_decode_strict(h.as_bytes(), "h").unwrap(),
        br#"{"alg":"Ed25519","kid":"acme-2026","typ":"modei-passport+jwt"}"#
    );
}

#[test]
fn bench_token_is_about_600_bytes() {
    let n = acme_token().len();
    assert!((550..=750).contains(&n), "{n}");
}

#[test]
fn delegation_lineage_is_root_first() {
    let (c, _) = find(vectors::delegation(), "depth2_ok");
    let p = acme_verifier().verify(&c.token, c.now_ts()).unwrap();
    let ids: Vec<&str> = p.lineage.iter().map(|a| a.passport_id.as_str()).collect();
    assert_eq!(ids, ["pp_0001", "pp_d1"]);
    assert_eq!(p.issuer.kind, IssuerKind::Delegate);
    assert_eq!(&*p.issuer.id, child().public_key().self_agent_id());
    assert_eq!(&*p.root_issuer.id, "acme");
    assert_eq!(p.agent_id, grandchild().public_key().self_agent_id());
    assert_eq!(
        p.permissions,
        vec![perm("api:read", json!({"max_per_action_cost": 10}))]
    );
}

#[test]
fn delegation_builder_refuses_what_verifier_refuses() {
    let root = acme_token();
    let mut i = JwtIssue::new("x", "", child().public_key(), at(T0), at(T0 + 60));
    i.permissions = vec![perm("admin:delete", json!({}))];
    assert_eq!(
        i.delegate(&root, &agent()).unwrap_err().code(),
        Code::PermissionElevationInChain
    );
    i.permissions = vec![];
    assert_eq!(
        i.delegate(&root, &attacker()).unwrap_err().code(),
        Code::DelegationBuilderInvalid
    );
    // Expiry is clamped to the parent's.
    i.expires_at = at(T0 + 999_999);
    let t = i.delegate(&root, &agent()).unwrap();
    assert_eq!(parent_claims(&t).exp, T0 + 3600);
}

#[test]
fn leeway_is_configurable() {
    let v = Verifier::new(store(), Policy::new()).with_options(VerifierOptions {
        leeway_ms: 120_000,
        ..Default::default()
    });
    assert!(v.verify(acme_token(), at(T0 + 3600 + 119)).is_ok());
    assert_eq!(
        v.verify(acme_token(), at(T0 + 3600 + 120))
            .unwrap_err()
            .code(),
        Code::PassportExpired
    );
}

#[test]
fn signature_segment_of_wrong_length() {
    let t = acme_token();
    let (input, _) = t.rsplit_once('.').unwrap();
    let short = format!("{input}.{}", b64(&[7u8; 63]));
    let e = acme_verifier().verify(short, at(T0 + 60)).unwrap_err();
    assert_eq!(e.code(), Code::SignatureMalformed);
}

#[test]
fn whitespace_around_token_is_ignored_inside_is_not() {
    let t = acme_token();
    assert!(acme_verifier()
        .verify(format!("  {t}\n"), at(T0 + 60))
        .is_ok());
    let mid = t.len() / 2;
    let broken = format!("{} {}", &t[..mid], &t[mid..]);
    assert_eq!(
        acme_verifier()
            .verify(broken, at(T0 + 60))
            .unwrap_err()
            .code(),
        Code::JwtMalformed
    );
}

#[test]
fn inspect_decodes_without_trusting() {
    let forged = forge(
        &std_header("acme-2026"),
        &base_claims("acme", "agent:evil", &attacker()).to_string(),
        &attacker(),
    );
    let u = inspect(forged.as_bytes()).unwrap();
    assert_eq!(u.form, WireForm::Jwt);
    assert_eq!(u.body["sub"], "agent:evil");
    assert_eq!(u.header.unwrap()["kid"], "acme-2026");
    // inspect is still strict about encoding.
    assert_eq!(
        inspect(format!("{forged}=").as_bytes()).unwrap_err().code(),
        Code::JwtMalformed
    );
}

#[test]
fn issuer_self_prefix_reserved_when_issuing() {
    let e = base_issue()
        .issue(&agent().public_key().self_issuer_id(), "self", &agent())
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[test]
fn revocation_list_from_store_entry_for_self_key() {
    // A store entry for a self issuer can revoke that agent's own key.
    let pk = agent().public_key();
    let mut s = store();
    s.insert(
        modei_core::trust::TrustedIssuer::new(pk.self_issuer_id(), IssuerKind::SelfIssued)
            .with_key(modei_core::trust::TrustedKey::new("self", pk).revoke(None)),
    )
    .unwrap();
    let v = Verifier::new(s, Policy::new().allow_self_issued(true));
    assert_eq!(
        v.verify(self_token(), at(T0 + 60)).unwrap_err().code(),
        Code::IssuerKeyRevoked
    );
}

#[test]
fn warning_carries_age() {
    let (c, _) = find(vectors::trust(), "l2_stale_warns");
    let v = verifier_from(&c.cfg.to_json(), &store_json());
    let p = v.verify(&c.token, c.now_ts()).unwrap();
    assert_eq!(
        p.warnings,
        vec![Warning::RevocationStale {
            age_ms: Some(330_000),
            max_age_ms: 300_000
        }]
    );
    assert_eq!(p.warnings[0].code(), Code::RevocationStale);
}

// ------------------------------------------------------------------------------------------
// Both wire forms, one model
// ------------------------------------------------------------------------------------------

fn wire(se: &modei_core::envelope::SignedEnvelope) -> String {
    se.to_wire().to_string()
}

#[test]
fn envelope_self_issued_verifies_into_the_same_model() {
    let se = SelfIssue {
        passport_id: "pp_self_env".into(),
        agent_name: Some("Email assistant".into()),
        permissions: base_perms(),
        issued_at: at(T0),
        expires_at: at(T0 + 3600),
        delegation_authority: false,
        verification_evidence: vec![],
    }
    .sign(&agent())
    .unwrap();
    let v = Verifier::new(store(), Policy::new().allow_self_issued(true));
    let p = v.verify(wire(&se), at(T0 + 60)).unwrap();
    assert_eq!(p.form, WireForm::V2Envelope);
    assert_eq!(p.tier, Tier::L0);
    assert_eq!(p.issuer.kind, IssuerKind::SelfIssued);
    assert_eq!(p.agent_id, agent().public_key().self_agent_id());
    assert_eq!(p.permissions, base_perms());
    // Refused by default policy, after the envelope itself verified.
    assert_eq!(
        acme_verifier()
            .verify(wire(&se), at(T0 + 60))
            .unwrap_err()
            .code(),
        Code::SelfIssuedNotAllowed
    );
    // Re-issue as a self JWT with the same key: the same passport, another form.
    let t = p.reissue_as_self_jwt(&agent()).unwrap();
    let q = v.verify(&t, at(T0 + 60)).unwrap();
    assert_eq!(q.form, WireForm::Jwt);
    for (a, b) in [(&p.passport_id, &q.passport_id), (&p.agent_id, &q.agent_id)] {
        assert_eq!(a, b);
    }
    assert_eq!(
        (
            p.tier,
            &p.permissions,
            p.issued_at,
            p.expires_at,
            p.agent_key
        ),
        (
            q.tier,
            &q.permissions,
            q.issued_at,
            q.expires_at,
            q.agent_key
        )
    );
    assert_eq!(p.root_issuer, q.root_issuer);
}

#[test]
fn jwt_reissued_as_gate_envelope_verifies_with_the_store() {
    let (c, _) = find(vectors::passports(), "gate_ok_with_pin");
    let v = Verifier::new(store(), Policy::new());
    let p = v.verify(&c.token, c.now_ts()).unwrap();
    let se = p
        .reissue_as_envelope(IssuerType::Gate, "gate-7", "g7", &gate7())
        .unwrap();
    let q = v.verify(wire(&se), c.now_ts()).unwrap();
    assert_eq!(q.form, WireForm::V2Envelope);
    assert_eq!(q.tier, Tier::L2);
    assert_eq!(&*q.root_issuer.id, "gate-7");
    assert_eq!(q.catalog, p.catalog);
    assert_eq!(q.permissions, p.permissions);
    assert_eq!(q.agent_key, p.agent_key);
    // Signed by anyone else, the same envelope does not verify: the key is the store's.
    let forged = p
        .reissue_as_envelope(IssuerType::Gate, "gate-7", "g7", &attacker())
        .unwrap();
    assert_eq!(
        v.verify(wire(&forged), c.now_ts()).unwrap_err().code(),
        Code::SignatureInvalid
    );
    // A gate passport presented at another gate.
    let other = Verifier::new(store(), Policy::new()).with_options(VerifierOptions {
        gate_id: Some("gate-8".into()),
        ..Default::default()
    });
    assert_eq!(
        other.verify(wire(&se), c.now_ts()).unwrap_err().code(),
        Code::AudienceMismatch
    );
    // The envelope's signed type must agree with the store: acme is an organization, not a gate.
    let wrong = p
        .reissue_as_envelope(IssuerType::Gate, "acme", "acme-2026", &acme_2026())
        .unwrap();
    assert_eq!(
        v.verify(wire(&wrong), c.now_ts()).unwrap_err().code(),
        Code::IssuerNotAllowed
    );
}

#[test]
fn conversion_refuses_to_drop_restrictions() {
    let (c, _) = find(vectors::passports(), "aud_match");
    let v = Verifier::new(store(), Policy::new());
    let p = v.verify(&c.token, at(T0 + 60)).unwrap();
    assert_eq!(
        p.reissue_as_envelope(IssuerType::Platform, "globex", "globex-1", &globex())
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    let (d, _) = find(vectors::delegation(), "depth1_ok");
    let p = v.verify(&d.token, at(T0 + 60)).unwrap();
    assert_eq!(
        p.reissue_as_jwt("acme", "acme-2026", &acme_2026())
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
}

#[test]
fn public_key_from_store_is_never_from_token() {
    // The same claims signed by the right key verify; the cnf key never acts as issuer key.
    let claims = base_claims("acme", "agent:x", &acme_2026()).to_string();
    let t = forge(&std_header("acme-2026"), &claims, &acme_2026());
    assert!(acme_verifier().verify(&t, at(T0 + 60)).is_ok());
    let _ = PublicKey::from_bytes(&[0u8; 32]);
}
