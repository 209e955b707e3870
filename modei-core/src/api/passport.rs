//! Passports in both wire forms: verify, inspect, issue, delegate. See `docs/api.md` § Passports.

use super::trust::TrustStoreHandle;
use super::{
    invalid, member, now_from, obj, opt_bool, opt_i64, opt_str, opt_str_list, opt_time,
    permissions_from, permissions_json, req_str, req_time, time_json,
};
use crate::envelope::{
    self, DelegationBuilder, IssuerKeyResolver, SelfIssue, SignedEnvelope, VerifiedEnvelope,
    VerifyOptions,
};
use crate::error::Result;
use crate::jwt::CatalogPin;
use crate::keys::{PublicKey, SigningKey};
use crate::passport::{self as pp, JwtIssue, Passport, WireForm};
use crate::time::Timestamp;
use serde_json::{Map, Value};

fn form_str(f: WireForm) -> &'static str {
    match f {
        WireForm::V2Envelope => "v2_envelope",
        WireForm::Jwt => "jwt",
    }
}

fn opt_string(s: &Option<String>) -> Value {
    s.clone().map(Value::String).unwrap_or(Value::Null)
}

fn catalog_json(c: &Option<CatalogPin>) -> Value {
    match c {
        None => Value::Null,
        Some(c) => {
            let mut m = Map::new();
            m.insert("gate_id".into(), opt_string(&c.gate_id));
            m.insert(
                "version".into(),
                c.version.map(Value::from).unwrap_or(Value::Null),
            );
            m.insert("content_hash".into(), opt_string(&c.content_hash));
            Value::Object(m)
        }
    }
}

fn catalog_from(v: Option<&Value>) -> Result<Option<CatalogPin>> {
    let Some(v) = v.filter(|x| !x.is_null()) else {
        return Ok(None);
    };
    obj(v, "catalog")?;
    Ok(Some(CatalogPin {
        gate_id: opt_str(v, "gate_id")?.map(str::to_owned),
        version: opt_i64(v, "version")?,
        content_hash: opt_str(v, "content_hash")?.map(str::to_owned),
    }))
}

/// A verified passport as JSON (`docs/api.md` § Passport object). Built directly from the
/// core value; the hot path serialises nothing else.
pub fn passport_json(p: &Passport) -> Value {
    let issuer = |i: &pp::IssuerRef| {
        let mut m = Map::new();
        m.insert("id".into(), Value::String(String::from(&*i.id)));
        m.insert("type".into(), Value::String(i.kind.as_str().into()));
        m.insert("key_id".into(), Value::String(String::from(&*i.key_id)));
        Value::Object(m)
    };
    let mut m = Map::new();
    m.insert("valid".into(), Value::Bool(true));
    m.insert("form".into(), Value::String(form_str(p.form).into()));
    m.insert("passport_id".into(), Value::String(p.passport_id.clone()));
    m.insert("agent_id".into(), Value::String(p.agent_id.clone()));
    m.insert("agent_name".into(), opt_string(&p.agent_name));
    m.insert(
        "agent_key".into(),
        Value::String(crate::encoding::b64_std_encode(&p.agent_key)),
    );
    m.insert("issuer".into(), issuer(&p.issuer));
    m.insert("root_issuer".into(), issuer(&p.root_issuer));
    m.insert("tier".into(), Value::String(p.tier.as_str().into()));
    m.insert("permissions".into(), permissions_json(&p.permissions));
    m.insert("issued_at".into(), time_json(p.issued_at));
    m.insert(
        "not_before".into(),
        p.not_before.map(time_json).unwrap_or(Value::Null),
    );
    m.insert("expires_at".into(), time_json(p.expires_at));
    m.insert(
        "audience".into(),
        Value::Array(p.audience.iter().cloned().map(Value::String).collect()),
    );
    m.insert("catalog".into(), catalog_json(&p.catalog));
    m.insert(
        "delegation_authority".into(),
        Value::Bool(p.delegation_authority),
    );
    m.insert(
        "lineage".into(),
        Value::Array(
            p.lineage
                .iter()
                .map(|a| {
                    let mut l = Map::new();
                    l.insert("passport_id".into(), Value::String(a.passport_id.clone()));
                    l.insert("agent_id".into(), Value::String(a.agent_id.clone()));
                    l.insert("issuer_id".into(), Value::String(a.issuer_id.clone()));
                    Value::Object(l)
                })
                .collect(),
        ),
    );
    m.insert(
        "warnings".into(),
        Value::Array(
            p.warnings
                .iter()
                .map(|w| {
                    let mut x = Map::new();
                    x.insert("code".into(), Value::String(w.code().as_str().into()));
                    match w {
                        crate::revocation::Warning::RevocationStale { age_ms, max_age_ms } => {
                            x.insert(
                                "age_ms".into(),
                                age_ms.map(Value::from).unwrap_or(Value::Null),
                            );
                            x.insert("max_age_ms".into(), (*max_age_ms).into());
                        }
                    }
                    Value::Object(x)
                })
                .collect(),
        ),
    );
    Value::Object(m)
}

/// Decodes a passport of either form WITHOUT verifying anything:
/// `{"verified": false, "form", "header" (JWT only, else null), "body"}`.
pub fn inspect(input: &[u8]) -> Result<Value> {
    let u = pp::inspect(input)?;
    let mut m = Map::new();
    m.insert("verified".into(), Value::Bool(false));
    m.insert("form".into(), Value::String(form_str(u.form).into()));
    m.insert("header".into(), u.header.unwrap_or(Value::Null));
    m.insert("body".into(), u.body);
    Ok(Value::Object(m))
}

// ------------------------------------------------------------------------------------------
// v2 envelopes (the reference SDK's verification, with an optional trust store)
// ------------------------------------------------------------------------------------------

fn envelope_opts<'a>(
    options: &Value,
    trust: Option<&'a TrustStoreHandle>,
) -> Result<VerifyOptions<'a>> {
    let mut o = VerifyOptions::at(now_from(options)?);
    if let Some(l) = opt_i64(options, "leeway_ms")? {
        o.leeway_ms = l;
    }
    if let Some(t) = trust {
        o = o.with_resolver(t.store() as &dyn IssuerKeyResolver);
    }
    Ok(o)
}

/// A verified envelope as JSON (`docs/api.md` § Envelope verification result).
pub fn verified_envelope_json(v: &VerifiedEnvelope) -> Value {
    let e = &v.signed.envelope;
    let mut m = Map::new();
    m.insert("valid".into(), Value::Bool(true));
    m.insert("form".into(), Value::String("v2_envelope".into()));
    m.insert("tier".into(), Value::String(v.tier.as_str().into()));
    m.insert("passport_id".into(), Value::String(e.passport_id.clone()));
    m.insert("agent_id".into(), Value::String(e.agent_id.clone()));
    m.insert("agent_name".into(), opt_string(&e.agent_name));
    let mut iss = Map::new();
    iss.insert("type".into(), Value::String(e.issuer.kind.as_str().into()));
    iss.insert("id".into(), Value::String(e.issuer.id.clone()));
    iss.insert("key_id".into(), Value::String(e.issuer.key_id.clone()));
    m.insert("issuer".into(), Value::Object(iss));
    m.insert("signer".into(), Value::String(v.signer.to_base64()));
    m.insert("agent_key".into(), Value::String(v.agent_key.to_base64()));
    m.insert("issued_at".into(), time_json(v.issued_at));
    m.insert("expires_at".into(), time_json(v.expires_at));
    m.insert("permissions".into(), permissions_json(&e.permissions));
    m.insert(
        "delegation_authority".into(),
        Value::Bool(e.delegation_authority),
    );
    m.insert(
        "delegation_depth".into(),
        e.delegation_chain.as_ref().map_or(0, Vec::len).into(),
    );
    m.insert(
        "signing_input_sha256".into(),
        Value::String(sha256_hex(&v.signing_input)),
    );
    m.insert("envelope".into(), e.json.clone());
    m.insert(
        "signature".into(),
        Value::String(v.signed.signature.clone()),
    );
    Value::Object(m)
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    crate::encoding::hex_encode(&Sha256::digest(b))
}

/// Verifies the wire pair `{"envelope"|"passport_json": {...}, "signature": "..."}` given as
/// JSON text. `options`: `{"now"?, "leeway_ms"?}`; `trust`: the store for platform/gate issuers.
pub fn envelope_verify_wire(
    wire: &[u8],
    options: &Value,
    trust: Option<&TrustStoreHandle>,
) -> Result<Value> {
    let o = envelope_opts(options, trust)?;
    Ok(verified_envelope_json(&envelope::verify_wire(wire, &o)?))
}

/// Verifies envelope JSON text (parsed exactly as given) and its detached signature.
pub fn envelope_verify_text(
    envelope_text: &[u8],
    signature: Option<&str>,
    options: &Value,
    trust: Option<&TrustStoreHandle>,
) -> Result<Value> {
    let o = envelope_opts(options, trust)?;
    Ok(verified_envelope_json(&envelope::verify_text(
        envelope_text,
        signature,
        &o,
    )?))
}

/// Verifies an envelope JSON value and its detached signature.
pub fn envelope_verify_value(
    envelope_value: &Value,
    signature: Option<&str>,
    options: &Value,
    trust: Option<&TrustStoreHandle>,
) -> Result<Value> {
    let o = envelope_opts(options, trust)?;
    Ok(verified_envelope_json(&envelope::verify_value(
        envelope_value,
        signature,
        &o,
    )?))
}

fn passport_id_of(params: &Value, prefix: &str) -> Result<String> {
    match opt_str(params, "passport_id")? {
        Some(s) => Ok(s.to_owned()),
        None => new_id(prefix),
    }
}

#[cfg(feature = "os-rng")]
fn new_id(prefix: &str) -> Result<String> {
    envelope::issue::new_passport_id(prefix)
}

#[cfg(not(feature = "os-rng"))]
fn new_id(_prefix: &str) -> Result<String> {
    Err(invalid("passport_id: required (no OS RNG in this build)"))
}

/// `issued_at` (default: `now`/the clock) and `expires_at` (or `ttl_seconds` after issued_at).
fn window(params: &Value) -> Result<(Timestamp, Option<Timestamp>)> {
    let issued_at = match opt_time(params, "issued_at")? {
        Some(t) => t,
        None => now_from(params)?,
    };
    let expires_at = match opt_time(params, "expires_at")? {
        Some(t) => Some(t),
        None => {
            opt_i64(params, "ttl_seconds")?.map(|s| issued_at.plus_millis(s.saturating_mul(1000)))
        }
    };
    Ok((issued_at, expires_at))
}

fn evidence(params: &Value) -> Result<Vec<Value>> {
    match member(params, "verification_evidence") {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => Ok(a.clone()),
        Some(_) => Err(invalid("verification_evidence: expected a list")),
    }
}

/// Self-issues a v2 envelope signed by the agent's own key. `params`: `{"passport_id"?,
/// "agent_name"?, "permissions", "issued_at"?, "expires_at" | "ttl_seconds",
/// "delegation_authority"?, "verification_evidence"?}`. Returns the wire pair
/// `{"envelope": {...}, "signature": "..."}`.
pub fn envelope_self_issue(key: &SigningKey, params: &Value) -> Result<Value> {
    obj(params, "params")?;
    let (issued_at, expires_at) = window(params)?;
    let expires_at = expires_at.ok_or_else(|| invalid("expires_at (or ttl_seconds): required"))?;
    let s = SelfIssue {
        passport_id: passport_id_of(params, "pp_self_")?,
        agent_name: opt_str(params, "agent_name")?.map(str::to_owned),
        permissions: permissions_from(params.get("permissions"))?,
        issued_at,
        expires_at,
        delegation_authority: opt_bool(params, "delegation_authority")?.unwrap_or(false),
        verification_evidence: evidence(params)?,
    };
    Ok(s.sign(key)?.to_wire())
}

/// A wire pair (value) as a signed envelope.
pub fn signed_envelope_from_wire(wire: &Value) -> Result<SignedEnvelope> {
    let (env, sig) = envelope::verify::split_wire(wire)?;
    Ok(SignedEnvelope {
        envelope: envelope::Envelope::from_value(env)?,
        signature: sig.unwrap_or_default().to_owned(),
    })
}

/// Delegates from `parent_wire` (a wire pair value) to `child_key`, signed with `parent_key`.
/// `params`: as [`envelope_self_issue`] (`expires_at` defaults to the parent's). `trust`: needed
/// when the chain root is a platform/gate issuer. Returns the child's wire pair.
pub fn envelope_delegate(
    parent_wire: &Value,
    parent_key: &SigningKey,
    child_key: &PublicKey,
    params: &Value,
    trust: Option<&TrustStoreHandle>,
) -> Result<Value> {
    obj(params, "params")?;
    let parent = signed_envelope_from_wire(parent_wire)?;
    let (issued_at, expires_at) = window(params)?;
    let mut b = DelegationBuilder::new(
        &parent,
        child_key.clone(),
        passport_id_of(params, "pp_delegate_")?,
        issued_at,
    )
    .permissions(permissions_from(params.get("permissions"))?)
    .agent_name(opt_str(params, "agent_name")?.map(str::to_owned))
    .delegation_authority(opt_bool(params, "delegation_authority")?.unwrap_or(false))
    .verification_evidence(evidence(params)?);
    if let Some(t) = expires_at {
        b = b.expires_at(t);
    }
    if let Some(t) = trust {
        b = b.trust(t.store() as &dyn IssuerKeyResolver);
    }
    Ok(b.sign(parent_key)?.to_wire())
}

// ------------------------------------------------------------------------------------------
// JWT passports
// ------------------------------------------------------------------------------------------

fn jwt_issue_from(params: &Value, agent_key: PublicKey, agent_id: String) -> Result<JwtIssue> {
    obj(params, "params")?;
    let (issued_at, expires_at) = window(params)?;
    let expires_at = expires_at.ok_or_else(|| invalid("expires_at (or ttl_seconds): required"))?;
    let mut j = JwtIssue::new(
        passport_id_of(params, "pp_")?,
        agent_id,
        agent_key,
        issued_at,
        expires_at,
    );
    j.agent_name = opt_str(params, "agent_name")?.map(str::to_owned);
    j.permissions = permissions_from(params.get("permissions"))?;
    j.not_before = opt_time(params, "not_before")?;
    j.audience = opt_str_list(params, "audience")?;
    j.catalog = catalog_from(params.get("catalog"))?;
    j.delegation_authority = opt_bool(params, "delegation_authority")?.unwrap_or(false);
    Ok(j)
}

fn agent_key_param(params: &Value) -> Result<PublicKey> {
    PublicKey::parse_any(req_str(params, "agent_key")?)
}

/// Issues a passport JWT as trust store issuer `issuer_id` with key `kid`. `params`:
/// `{"agent_key" (any public key text), "agent_id"? (default: the key's self agent id),
/// "passport_id"?, "agent_name"?, "permissions", "issued_at"?, "not_before"?, "expires_at" |
/// "ttl_seconds", "audience"?, "catalog"?, "delegation_authority"?}`. The compact token.
pub fn jwt_issue(key: &SigningKey, issuer_id: &str, kid: &str, params: &Value) -> Result<String> {
    let agent_key = agent_key_param(params)?;
    let agent_id = match opt_str(params, "agent_id")? {
        Some(s) => s.to_owned(),
        None => agent_key.self_agent_id(),
    };
    jwt_issue_from(params, agent_key, agent_id)?.issue(issuer_id, kid, key)
}

/// Self-issues a passport JWT (`iss` = the key's self issuer id, `kid` = `self`). `params` as
/// [`jwt_issue`] without `agent_key` / `agent_id`.
pub fn jwt_self_issue(key: &SigningKey, params: &Value) -> Result<String> {
    let pk = key.public_key();
    let id = pk.self_agent_id();
    jwt_issue_from(params, pk, id)?.self_issue(key)
}

/// Delegates from `parent_token` (whose `cnf` key is `parent_key`) to `params.agent_key`.
pub fn jwt_delegate(parent_token: &str, parent_key: &SigningKey, params: &Value) -> Result<String> {
    let agent_key = agent_key_param(params)?;
    let id = agent_key.self_agent_id();
    jwt_issue_from(params, agent_key, id)?.delegate(parent_token.trim(), parent_key)
}

/// Required time helper re-exported for bindings: RFC 3339 or Unix ms → timestamp.
pub fn time_param(v: &Value, key: &str) -> Result<Timestamp> {
    req_time(v, key)
}
