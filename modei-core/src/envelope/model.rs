//! The typed v2 envelope and its shape rules.
//!
//! Shape rules follow Modei's reference model (pydantic with `extra='forbid'`), minus its lax
//! type coercion: `"yes"` is not a boolean and `"3"` is not an integer here. The parsed envelope
//! keeps the JSON value it came from, because the signature covers the canonical form of exactly
//! that value.

use crate::error::{Code, Error, Result};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Who issued an envelope (`provenance.issuer.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssuerType {
    /// The agent's own key (tier L0).
    SelfIssued,
    /// A platform (tier L1).
    Platform,
    /// A gate (tier L2).
    Gate,
    /// A delegation: the tier of the chain's root.
    Delegate,
}

impl IssuerType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            IssuerType::SelfIssued => "self",
            IssuerType::Platform => "platform",
            IssuerType::Gate => "gate",
            IssuerType::Delegate => "delegate",
        }
    }

    /// Parses the wire spelling (case-sensitive, as the reference).
    pub fn parse(s: &str) -> Option<IssuerType> {
        match s {
            "self" => Some(IssuerType::SelfIssued),
            "platform" => Some(IssuerType::Platform),
            "gate" => Some(IssuerType::Gate),
            "delegate" => Some(IssuerType::Delegate),
            _ => None,
        }
    }
}

/// Trust tier, derived from the signed issuer type (never itself signed). Ordered by rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Self-issued.
    L0,
    /// Reserved: DNS-verified agent name.
    L0_5,
    /// Platform-issued.
    L1,
    /// Gate-issued.
    L2,
    /// Reserved: not derivable from the issuer type.
    L3,
}

impl Tier {
    /// The wire spelling (`"L0"`, `"L0.5"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::L0 => "L0",
            Tier::L0_5 => "L0.5",
            Tier::L1 => "L1",
            Tier::L2 => "L2",
            Tier::L3 => "L3",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Tier> {
        match s {
            "L0" => Some(Tier::L0),
            "L0.5" => Some(Tier::L0_5),
            "L1" => Some(Tier::L1),
            "L2" => Some(Tier::L2),
            "L3" => Some(Tier::L3),
            _ => None,
        }
    }

    /// The tier an issuer type confers directly (`None` for delegates, which inherit the root's).
    pub fn of_issuer(t: IssuerType) -> Option<Tier> {
        match t {
            IssuerType::SelfIssued => Some(Tier::L0),
            IssuerType::Platform => Some(Tier::L1),
            IssuerType::Gate => Some(Tier::L2),
            IssuerType::Delegate => None,
        }
    }
}

/// `provenance.issuer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// `type`.
    pub kind: IssuerType,
    /// `id` (non-empty).
    pub id: String,
    /// `key_id` (non-empty).
    pub key_id: String,
}

/// One granted permission with its constraints.
#[derive(Debug, Clone, PartialEq)]
pub struct Permission {
    /// The permission key, e.g. `api:read`.
    pub permission_key: String,
    /// Constraint map (may be empty). Shared: passports issued from one template carry the
    /// same constraints, and a verifier decodes each distinct constraint object once.
    pub constraints: Arc<Map<String, Value>>,
}

impl Permission {
    /// A permission with these constraints.
    pub fn new(permission_key: impl Into<String>, constraints: Map<String, Value>) -> Self {
        Permission {
            permission_key: permission_key.into(),
            constraints: Arc::new(constraints),
        }
    }
}

/// One link of `provenance.delegation_chain`: an ancestor envelope and its signature.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainLink {
    /// The ancestor (`passport_json`).
    pub envelope: Envelope,
    /// Its detached signature as written on the wire (standard base64).
    pub signature: String,
}

/// A parsed v2 envelope. Not yet verified: see [`super::verify`].
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// `passport_id`.
    pub passport_id: String,
    /// `identity.agent_id`.
    pub agent_id: String,
    /// `identity.agent_name` (nullable).
    pub agent_name: Option<String>,
    /// `identity.public_key`, standard base64 as on the wire.
    pub public_key: String,
    /// `permissions` in signed order.
    pub permissions: Vec<Permission>,
    /// `provenance.issuer`.
    pub issuer: Issuer,
    /// `provenance.gate_id`.
    pub gate_id: Option<String>,
    /// `provenance.catalog_content_hash`.
    pub catalog_content_hash: Option<String>,
    /// `provenance.catalog_version`.
    pub catalog_version: Option<i64>,
    /// `provenance.delegation_chain` (`None` is JSON `null`).
    pub delegation_chain: Option<Vec<ChainLink>>,
    /// `provenance.issued_at`, as written.
    pub issued_at: String,
    /// `provenance.expires_at`, as written.
    pub expires_at: String,
    /// `delegation_authority`.
    pub delegation_authority: bool,
    /// `verification_evidence` (reserved; SDKs write `[]`).
    pub verification_evidence: Vec<Value>,
    /// The JSON this envelope was read from; its RFC 8785 form is the signing input.
    pub json: Value,
}

/// An envelope with its detached signature: the SDK's `SignedPassport`.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedEnvelope {
    /// The envelope.
    pub envelope: Envelope,
    /// Standard base64 (padded) of the 64-byte Ed25519 signature.
    pub signature: String,
}

impl SignedEnvelope {
    /// The wire pair `{"envelope": ..., "signature": ...}` (what `modei passport verify` reads).
    pub fn to_wire(&self) -> Value {
        let mut m = Map::new();
        m.insert("envelope".into(), self.envelope.json.clone());
        m.insert("signature".into(), Value::String(self.signature.clone()));
        Value::Object(m)
    }

    /// The chain-entry / register-body form `{"passport_json": ..., "signature": ...}`.
    pub fn to_passport_json_pair(&self) -> Value {
        let mut m = Map::new();
        m.insert("passport_json".into(), self.envelope.json.clone());
        m.insert("signature".into(), Value::String(self.signature.clone()));
        Value::Object(m)
    }
}

/// Longest identifier we accept (passport ids, agent ids, issuer ids, key ids, permission keys).
pub const MAX_ID_LEN: usize = 512;

/// Where in the document a value sits, formatted only when an error needs it (the happy path
/// allocates no path strings).
#[derive(Clone, Copy)]
enum Loc<'a> {
    Root(&'a str),
    Key(&'a Loc<'a>, &'a str),
    Index(&'a Loc<'a>, usize),
}

impl std::fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Loc::Root(s) => f.write_str(s),
            Loc::Key(p, k) => write!(f, "{p}.{k}"),
            Loc::Index(p, i) => write!(f, "{p}[{i}]"),
        }
    }
}

impl<'a> Loc<'a> {
    fn key(&'a self, k: &'a str) -> Loc<'a> {
        Loc::Key(self, k)
    }
    fn index(&'a self, i: usize) -> Loc<'a> {
        Loc::Index(self, i)
    }
}

fn shape(path: &Loc<'_>, what: impl std::fmt::Display) -> Error {
    Error::new(Code::InvalidEnvelopeShape, format!("{path}: {what}"))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks that `obj` has exactly the keys `keys` (all required, no others).
fn exact_keys(obj: &Map<String, Value>, keys: &[&str], path: &Loc<'_>) -> Result<()> {
    for k in keys {
        if !obj.contains_key(*k) {
            return Err(shape(path, format_args!("missing required key {k:?}")));
        }
    }
    if obj.len() != keys.len() {
        if let Some(extra) = obj.keys().find(|k| !keys.contains(&k.as_str())) {
            let shown: String = extra.chars().take(64).collect();
            return Err(shape(path, format_args!("unknown key {shown:?}")));
        }
    }
    Ok(())
}

fn object<'v>(v: &'v Value, path: &Loc<'_>) -> Result<&'v Map<String, Value>> {
    v.as_object().ok_or_else(|| {
        shape(
            path,
            format_args!("expected an object, got {}", type_name(v)),
        )
    })
}

fn get<'v>(obj: &'v Map<String, Value>, key: &str) -> &'v Value {
    // `exact_keys` ran first, so the key is present; `Null` is a safe fallback regardless.
    obj.get(key).unwrap_or(&Value::Null)
}

fn string(v: &Value, path: &Loc<'_>, min_len: usize) -> Result<String> {
    let s = v.as_str().ok_or_else(|| {
        shape(
            path,
            format_args!("expected a string, got {}", type_name(v)),
        )
    })?;
    if s.chars().count() < min_len {
        return Err(shape(path, "must not be empty"));
    }
    Ok(s.to_owned())
}

fn id(v: &Value, path: &Loc<'_>) -> Result<String> {
    let s = string(v, path, 1)?;
    if s.len() > MAX_ID_LEN {
        return Err(shape(path, format_args!("longer than {MAX_ID_LEN} bytes")));
    }
    Ok(s)
}

fn opt_string(v: &Value, path: &Loc<'_>) -> Result<Option<String>> {
    match v {
        Value::Null => Ok(None),
        _ => string(v, path, 0).map(Some),
    }
}

fn integer(v: &Value, path: &Loc<'_>) -> Result<i64> {
    // Strict: a JSON integer literal. `3.0`, `"3"` and `true` are not integers.
    v.as_i64().ok_or_else(|| {
        shape(
            path,
            format_args!("expected an integer, got {}", type_name(v)),
        )
    })
}

impl Envelope {
    /// Reads an envelope from JSON with the exact shape rules. Checks `schema_version` first:
    /// an integer other than 2 is `unsupported_schema_version` (the reference's order).
    pub fn from_value(v: &Value) -> Result<Envelope> {
        Self::from_owned(v.clone())
    }

    /// As [`Envelope::from_value`], taking ownership of the JSON (no copy of the top level).
    pub fn from_owned(v: Value) -> Result<Envelope> {
        Self::check_schema_version(&v)?;
        Self::parse_at(v, &Loc::Root("envelope"))
    }

    /// `unsupported_schema_version` for an integer `schema_version` other than 2 (checked before
    /// the shape, as the reference does); anything else is left to the shape rules.
    pub fn check_schema_version(v: &Value) -> Result<()> {
        if let Some(sv) = v.as_object().and_then(|o| o.get("schema_version")) {
            if let Some(n) = sv
                .as_u64()
                .map(i128::from)
                .or_else(|| sv.as_i64().map(i128::from))
            {
                if n != i128::from(super::SCHEMA_VERSION) {
                    return Err(Error::new(
                        Code::UnsupportedSchemaVersion,
                        format!(
                            "schema_version is {n}; only {} is supported",
                            super::SCHEMA_VERSION
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn parse_at(v: Value, path: &Loc<'_>) -> Result<Envelope> {
        let top = object(&v, path)?;
        exact_keys(
            top,
            &[
                "schema_version",
                "passport_id",
                "identity",
                "permissions",
                "provenance",
                "delegation_authority",
                "verification_evidence",
            ],
            path,
        )?;
        let sv = get(top, "schema_version");
        if sv.as_u64() != Some(super::SCHEMA_VERSION) {
            return Err(shape(
                &path.key("schema_version"),
                format_args!("expected the integer 2, got {sv}"),
            ));
        }
        let passport_id = id(get(top, "passport_id"), &path.key("passport_id"))?;

        let ipath = path.key("identity");
        let identity = object(get(top, "identity"), &ipath)?;
        exact_keys(identity, &["agent_id", "agent_name", "public_key"], &ipath)?;
        let agent_id = string(get(identity, "agent_id"), &ipath.key("agent_id"), 0)?;
        let agent_name = opt_string(get(identity, "agent_name"), &ipath.key("agent_name"))?;
        let public_key = string(get(identity, "public_key"), &ipath.key("public_key"), 0)?;

        let ppath = path.key("permissions");
        let perms_v = get(top, "permissions");
        let perms = perms_v.as_array().ok_or_else(|| {
            shape(
                &ppath,
                format_args!("expected an array, got {}", type_name(perms_v)),
            )
        })?;
        let mut permissions = Vec::with_capacity(perms.len());
        for (i, p) in perms.iter().enumerate() {
            let pp = ppath.index(i);
            let po = object(p, &pp)?;
            exact_keys(po, &["permission_key", "constraints"], &pp)?;
            let permission_key = string(get(po, "permission_key"), &pp.key("permission_key"), 0)?;
            let constraints = object(get(po, "constraints"), &pp.key("constraints"))?.clone();
            if permissions
                .iter()
                .any(|q: &Permission| q.permission_key == permission_key)
            {
                // The reference accepts this (the last entry wins in its subset check, the gate
                // cannot know which constraints apply). Ambiguity in a credential fails closed.
                return Err(shape(
                    &pp,
                    format_args!("permission_key {permission_key:?} appears twice"),
                ));
            }
            permissions.push(Permission {
                permission_key,
                constraints: constraints.into(),
            });
        }

        let prpath = path.key("provenance");
        let prov = object(get(top, "provenance"), &prpath)?;
        exact_keys(
            prov,
            &[
                "issuer",
                "gate_id",
                "catalog_content_hash",
                "catalog_version",
                "delegation_chain",
                "issued_at",
                "expires_at",
            ],
            &prpath,
        )?;
        let ispath = prpath.key("issuer");
        let iss = object(get(prov, "issuer"), &ispath)?;
        exact_keys(iss, &["type", "id", "key_id"], &ispath)?;
        let tv = get(iss, "type");
        let kind = tv.as_str().and_then(IssuerType::parse).ok_or_else(|| {
            shape(
                &ispath.key("type"),
                format_args!("expected one of self|platform|gate|delegate, got {tv}"),
            )
        })?;
        let issuer = Issuer {
            kind,
            id: id(get(iss, "id"), &ispath.key("id"))?,
            key_id: id(get(iss, "key_id"), &ispath.key("key_id"))?,
        };
        let gate_id = opt_string(get(prov, "gate_id"), &prpath.key("gate_id"))?;
        let catalog_content_hash = opt_string(
            get(prov, "catalog_content_hash"),
            &prpath.key("catalog_content_hash"),
        )?;
        let cv = get(prov, "catalog_version");
        let catalog_version = if cv.is_null() {
            None
        } else {
            Some(integer(cv, &prpath.key("catalog_version"))?)
        };

        let cpath = prpath.key("delegation_chain");
        let delegation_chain = match get(prov, "delegation_chain") {
            Value::Null => None,
            Value::Array(items) => {
                let mut links = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let lp = cpath.index(i);
                    let lo = object(item, &lp)?;
                    exact_keys(lo, &["passport_json", "signature"], &lp)?;
                    let envelope = Envelope::parse_at(
                        get(lo, "passport_json").clone(),
                        &lp.key("passport_json"),
                    )?;
                    let signature = string(get(lo, "signature"), &lp.key("signature"), 1)?;
                    links.push(ChainLink {
                        envelope,
                        signature,
                    });
                }
                Some(links)
            }
            other => {
                return Err(shape(
                    &cpath,
                    format_args!("expected an array or null, got {}", type_name(other)),
                ))
            }
        };
        let issued_at = string(get(prov, "issued_at"), &prpath.key("issued_at"), 0)?;
        let expires_at = string(get(prov, "expires_at"), &prpath.key("expires_at"), 0)?;

        let da = get(top, "delegation_authority");
        let delegation_authority = da.as_bool().ok_or_else(|| {
            shape(
                &path.key("delegation_authority"),
                format_args!("expected a boolean, got {}", type_name(da)),
            )
        })?;
        let ev = get(top, "verification_evidence");
        let verification_evidence = ev
            .as_array()
            .ok_or_else(|| {
                shape(
                    &path.key("verification_evidence"),
                    format_args!("expected an array, got {}", type_name(ev)),
                )
            })?
            .clone();

        Ok(Envelope {
            passport_id,
            agent_id,
            agent_name,
            public_key,
            permissions,
            issuer,
            gate_id,
            catalog_content_hash,
            catalog_version,
            delegation_chain,
            issued_at,
            expires_at,
            delegation_authority,
            verification_evidence,
            json: v,
        })
    }

    /// The chain's root (`delegation_chain[0]`), if any.
    pub fn chain_root(&self) -> Option<&Envelope> {
        self.delegation_chain
            .as_ref()
            .and_then(|c| c.first())
            .map(|l| &l.envelope)
    }

    /// The permission with this exact key, if granted.
    pub fn permission(&self, key: &str) -> Option<&Permission> {
        self.permissions.iter().find(|p| p.permission_key == key)
    }
}
