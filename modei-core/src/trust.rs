//! The issuer trust store and the verifier's issuer policy.
//!
//! A [`TrustStore`] says which issuers exist and which Ed25519 keys speak for them. It is the only
//! place a verification key for a platform, gate or organisation passport comes from: never the
//! passport itself (that is the hole in the Uniplex SDKs, where a self-made passport claiming
//! issuer `acme` verified against its own embedded key).
//!
//! - Issuers are looked up by id, then keys by key id (`kid`): two hash lookups.
//! - An issuer may hold several keys at once, so a new key can be published before the old one is
//!   retired (rotation without downtime).
//! - Each key has an optional window. `not_before`: the key signs nothing before it (the
//!   passport's issue time must be at or after it, and so must the verifier's clock).
//!   `not_after`: the last instant (exclusive) at which a verifier accepts anything signed by the
//!   key. To rotate, publish the new key, switch signing to it, and set the old key's `not_after`
//!   to its last use plus the longest passport lifetime.
//! - A `revoked` key is refused for every passport, including ones it signed before it was
//!   revoked (`issuer_key_revoked`): a compromised key can backdate.
//!
//! The file format is documented in `docs/trust-store.md`; [`TrustStore::from_json`] reads it
//! with the strict JSON reader and names the file and the JSON path of any fault, and
//! [`TrustStore::to_json`] writes it deterministically. The core does no I/O: the caller reads
//! and writes the bytes.

use crate::envelope::{IssuerKeyResolver, IssuerType, Tier};
use crate::error::{Code, Error, Result};
use crate::json;
use crate::keys::PublicKey;
use crate::time::Timestamp;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What kind of party an issuer is. Determines the default [`Tier`] of what it issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssuerKind {
    /// An agent's own key (`self:<hex sha256(pk)>`), tier L0.
    SelfIssued,
    /// A managed platform, tier L1.
    Platform,
    /// A gate, tier L2.
    Gate,
    /// An organisation's signing identity, tier L1 unless the store says otherwise.
    Organization,
    /// A delegating agent (a link of a delegation chain), tier L0 in the store; a delegated
    /// passport takes its chain root's tier.
    Delegate,
}

impl IssuerKind {
    /// The wire spelling: `self`, `platform`, `gate`, `organization`, `delegate`.
    pub fn as_str(self) -> &'static str {
        match self {
            IssuerKind::SelfIssued => "self",
            IssuerKind::Platform => "platform",
            IssuerKind::Gate => "gate",
            IssuerKind::Organization => "organization",
            IssuerKind::Delegate => "delegate",
        }
    }

    /// Parses the wire spelling (case-sensitive).
    pub fn parse(s: &str) -> Option<IssuerKind> {
        match s {
            "self" => Some(IssuerKind::SelfIssued),
            "platform" => Some(IssuerKind::Platform),
            "gate" => Some(IssuerKind::Gate),
            "organization" => Some(IssuerKind::Organization),
            "delegate" => Some(IssuerKind::Delegate),
            _ => None,
        }
    }

    /// The tier this kind confers when the store does not set one.
    pub fn default_tier(self) -> Tier {
        match self {
            IssuerKind::SelfIssued | IssuerKind::Delegate => Tier::L0,
            IssuerKind::Platform | IssuerKind::Organization => Tier::L1,
            IssuerKind::Gate => Tier::L2,
        }
    }

    /// The envelope issuer type this kind corresponds to.
    pub fn from_envelope(t: IssuerType) -> IssuerKind {
        match t {
            IssuerType::SelfIssued => IssuerKind::SelfIssued,
            IssuerType::Platform => IssuerKind::Platform,
            IssuerType::Gate => IssuerKind::Gate,
            IssuerType::Delegate => IssuerKind::Delegate,
        }
    }
}

/// The reserved prefix of self issuer ids (`self:` + 64 lowercase hex digits).
pub const SELF_ISSUER_PREFIX: &str = "self:";

/// Whether `iss` has the shape of a self issuer id (`self:` + 64 lowercase hex digits).
pub fn is_self_issuer_id(iss: &str) -> bool {
    iss.strip_prefix(SELF_ISSUER_PREFIX).is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// One issuer key with its window.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustedKey {
    /// Key id, unique within the issuer (the JWT `kid`, the envelope `key_id`).
    pub kid: String,
    /// The key.
    pub key: PublicKey,
    /// Start of the window (inclusive); `None`: no start.
    pub not_before: Option<Timestamp>,
    /// End of the window (exclusive); `None`: no end.
    pub not_after: Option<Timestamp>,
    /// Revoked keys are refused for every passport, whenever it was signed.
    pub revoked: bool,
    /// When it was revoked (informational).
    pub revoked_at: Option<Timestamp>,
}

impl TrustedKey {
    /// A key with no window, not revoked.
    pub fn new(kid: impl Into<String>, key: PublicKey) -> Self {
        TrustedKey {
            kid: kid.into(),
            key,
            not_before: None,
            not_after: None,
            revoked: false,
            revoked_at: None,
        }
    }

    /// Sets the window.
    pub fn window(mut self, not_before: Option<Timestamp>, not_after: Option<Timestamp>) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    /// Marks the key revoked.
    pub fn revoke(mut self, at: Option<Timestamp>) -> Self {
        self.revoked = true;
        self.revoked_at = at;
        self
    }

    /// Checks revocation and the window for a passport issued at `issued_at` and verified at
    /// `now`. No leeway: windows are set by the operator, not by skewed clocks.
    pub fn check(&self, issuer_id: &str, issued_at: Timestamp, now: Timestamp) -> Result<()> {
        if self.revoked {
            return Err(Error::new(
                Code::IssuerKeyRevoked,
                format!("issuer {issuer_id:?} key {:?} is revoked", self.kid),
            ));
        }
        if let Some(nb) = self.not_before {
            if now < nb || issued_at < nb {
                return Err(Error::new(
                    Code::KeyNotYetValid,
                    format!(
                        "issuer {issuer_id:?} key {:?} is valid from {} ms; passport issued at {} ms, now {} ms",
                        self.kid,
                        nb.unix_millis(),
                        issued_at.unix_millis(),
                        now.unix_millis()
                    ),
                ));
            }
        }
        if let Some(na) = self.not_after {
            if now >= na || issued_at >= na {
                return Err(Error::new(
                    Code::KeyExpired,
                    format!(
                        "issuer {issuer_id:?} key {:?} expired at {} ms; now {} ms",
                        self.kid,
                        na.unix_millis(),
                        now.unix_millis()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// One issuer: id, kind, display name, tier and keys.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustedIssuer {
    /// Issuer id (the JWT `iss`, the envelope `provenance.issuer.id`).
    pub id: String,
    /// Kind.
    pub kind: IssuerKind,
    /// Display name.
    pub name: Option<String>,
    /// Tier of what it issues (defaults to the kind's).
    pub tier: Tier,
    /// By kid (see [`StoreText`]).
    keys: HashMap<StoreText, TrustedKey>,
}

impl TrustedIssuer {
    /// An issuer with no keys, tier from its kind.
    pub fn new(id: impl Into<String>, kind: IssuerKind) -> Self {
        TrustedIssuer {
            id: id.into(),
            kind,
            name: None,
            tier: kind.default_tier(),
            keys: HashMap::new(),
        }
    }

    /// Sets the display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the tier (a `self` issuer stays L0).
    pub fn with_tier(mut self, tier: Tier) -> Self {
        if self.kind != IssuerKind::SelfIssued {
            self.tier = tier;
        }
        self
    }

    /// Adds a key (replacing any key with the same kid).
    pub fn with_key(mut self, key: TrustedKey) -> Self {
        self.keys.insert(StoreText::from(key.kid.as_str()), key);
        self
    }

    /// The key with this kid.
    pub fn key(&self, kid: &str) -> Option<&TrustedKey> {
        self.keys.get(kid)
    }

    /// Mutable access to a key (to revoke or re-window it).
    pub fn key_mut(&mut self, kid: &str) -> Option<&mut TrustedKey> {
        self.keys.get_mut(kid)
    }

    /// All keys, sorted by kid.
    pub fn keys(&self) -> Vec<&TrustedKey> {
        let mut v: Vec<&TrustedKey> = self.keys.values().collect();
        v.sort_by(|a, b| a.kid.cmp(&b.kid));
        v
    }
}

/// Issuers by id. Cheap to query: a lookup is two `HashMap` probes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrustStore {
    /// By id (see [`StoreText`]).
    issuers: HashMap<StoreText, TrustedIssuer>,
}

/// How the store keeps issuer ids and kids (its map keys). Natively an `Arc<str>`, which the
/// passports it verifies share instead of copying; in WebAssembly a `String` (maps keyed by
/// `Arc<str>` would be a second copy of the hash-map code, 5 KB of the size budget).
#[cfg(not(target_family = "wasm"))]
type StoreText = Arc<str>;
#[cfg(target_family = "wasm")]
type StoreText = String;

/// An issuer and one of its keys, found in a [`TrustStore`]; natively with the store's own
/// (shared) id and kid.
pub(crate) struct Entry<'a> {
    #[cfg(not(target_family = "wasm"))]
    id: &'a Arc<str>,
    #[cfg(not(target_family = "wasm"))]
    kid: &'a Arc<str>,
    pub(crate) issuer: &'a TrustedIssuer,
    pub(crate) key: &'a TrustedKey,
}

#[cfg(not(target_family = "wasm"))]
impl Entry<'_> {
    /// The issuer id for a passport that named it: the store's shared copy.
    pub(crate) fn shared_id(&self, _named: &str) -> Arc<str> {
        self.id.clone()
    }

    /// The kid for a passport that named it: the store's shared copy.
    pub(crate) fn shared_kid(&self, _named: &str) -> Arc<str> {
        self.kid.clone()
    }
}

#[cfg(target_family = "wasm")]
impl Entry<'_> {
    /// The issuer id for a passport that named it (equal to the store's key).
    pub(crate) fn shared_id(&self, named: &str) -> Arc<str> {
        Arc::from(named)
    }

    /// The kid for a passport that named it (equal to the store's key).
    pub(crate) fn shared_kid(&self, named: &str) -> Arc<str> {
        Arc::from(named)
    }
}

fn unknown_issuer(issuer_id: &str) -> Error {
    Error::new(
        Code::IssuerUnknown,
        format!("issuer {:?} is not in the trust store", shown(issuer_id)),
    )
}

fn unknown_key(issuer_id: &str, kid: &str) -> Error {
    Error::new(
        Code::KeyUnknown,
        format!(
            "issuer {:?} has no key {:?} in the trust store",
            shown(issuer_id),
            shown(kid)
        ),
    )
}

/// Version number of the trust store file format.
pub const TRUST_STORE_VERSION: u64 = 1;

impl TrustStore {
    /// An empty store (trusts no one).
    pub fn new() -> Self {
        TrustStore::default()
    }

    /// Adds or replaces an issuer, after checking it is well formed (see
    /// [`TrustStore::from_json`] for the rules). Failure: `trust_store_invalid`.
    pub fn insert(&mut self, issuer: TrustedIssuer) -> Result<()> {
        validate_issuer(&issuer, "issuer")?;
        self.issuers
            .insert(StoreText::from(issuer.id.as_str()), issuer);
        Ok(())
    }

    /// Builder form of [`TrustStore::insert`].
    pub fn with(mut self, issuer: TrustedIssuer) -> Result<Self> {
        self.insert(issuer)?;
        Ok(self)
    }

    /// Removes an issuer.
    pub fn remove(&mut self, id: &str) -> Option<TrustedIssuer> {
        self.issuers.remove(id)
    }

    /// The issuer with this id.
    pub fn issuer(&self, id: &str) -> Option<&TrustedIssuer> {
        self.issuers.get(id)
    }

    /// Mutable access to an issuer (to revoke or add keys). The caller keeps it well formed.
    pub fn issuer_mut(&mut self, id: &str) -> Option<&mut TrustedIssuer> {
        self.issuers.get_mut(id)
    }

    /// Number of issuers.
    pub fn len(&self) -> usize {
        self.issuers.len()
    }

    /// Whether the store holds no issuer.
    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty()
    }

    /// Finds issuer and key, with no window check: `issuer_unknown`, `key_unknown`.
    pub fn lookup(&self, issuer_id: &str, kid: &str) -> Result<(&TrustedIssuer, &TrustedKey)> {
        // One implementation per build: natively the lookup that also yields the store's
        // shared id and kid; in WebAssembly (no shared texts) a plain one.
        #[cfg(not(target_family = "wasm"))]
        return self.entry(issuer_id, kid).map(|e| (e.issuer, e.key));
        #[cfg(target_family = "wasm")]
        {
            let issuer = self
                .issuers
                .get(issuer_id)
                .ok_or_else(|| unknown_issuer(issuer_id))?;
            let key = issuer
                .keys
                .get(kid)
                .ok_or_else(|| unknown_key(issuer_id, kid))?;
            Ok((issuer, key))
        }
    }

    /// [`TrustStore::lookup`], with the store's shared id and kid (see [`Entry`]).
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn entry(&self, issuer_id: &str, kid: &str) -> Result<Entry<'_>> {
        let (id, issuer) = self
            .issuers
            .get_key_value(issuer_id)
            .ok_or_else(|| unknown_issuer(issuer_id))?;
        let (kid, key) = issuer
            .keys
            .get_key_value(kid)
            .ok_or_else(|| unknown_key(issuer_id, kid))?;
        Ok(Entry {
            id,
            kid,
            issuer,
            key,
        })
    }

    /// [`TrustStore::lookup`] (see [`Entry`]).
    #[cfg(target_family = "wasm")]
    pub(crate) fn entry(&self, issuer_id: &str, kid: &str) -> Result<Entry<'_>> {
        self.lookup(issuer_id, kid)
            .map(|(issuer, key)| Entry { issuer, key })
    }

    /// Finds the key and checks it may verify a passport issued at `issued_at`, at `now`:
    /// `issuer_unknown`, `key_unknown`, `issuer_key_revoked`, `key_not_yet_valid`, `key_expired`.
    pub fn key_for(
        &self,
        issuer_id: &str,
        kid: &str,
        issued_at: Timestamp,
        now: Timestamp,
    ) -> Result<(&TrustedIssuer, &TrustedKey)> {
        self.entry_for(issuer_id, kid, issued_at, now)
            .map(|e| (e.issuer, e.key))
    }

    /// [`TrustStore::key_for`], as an [`Entry`].
    pub(crate) fn entry_for(
        &self,
        issuer_id: &str,
        kid: &str,
        issued_at: Timestamp,
        now: Timestamp,
    ) -> Result<Entry<'_>> {
        let e = self.entry(issuer_id, kid)?;
        e.key.check(issuer_id, issued_at, now)?;
        Ok(e)
    }

    /// Reads the JSON file format (see `docs/trust-store.md`). `origin` (usually the file path)
    /// prefixes every error detail, with the JSON path of the fault:
    /// `trust_store_invalid: /etc/modei/trust.json: issuers[1].keys[0].not_after: ...`.
    pub fn from_json(bytes: &[u8], origin: &str) -> Result<TrustStore> {
        let v = json::parse_strict(bytes).map_err(|e| {
            Error::new(
                Code::TrustStoreInvalid,
                format!("{origin}: {}: {}", e.code(), e.detail()),
            )
        })?;
        parse_store(&v).map_err(|e| e.at(origin))
    }

    /// Writes the JSON file format: issuers sorted by id, keys by kid, members sorted, two-space
    /// indentation, trailing newline. The same store always gives the same bytes.
    pub fn to_json(&self) -> Result<String> {
        let mut ids: Vec<&StoreText> = self.issuers.keys().collect();
        ids.sort();
        let mut issuers = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(iss) = self.issuers.get(id) else {
                continue;
            };
            let mut keys = Vec::new();
            for k in iss.keys() {
                let mut m = Map::new();
                m.insert("kid".into(), json!(k.kid));
                m.insert(
                    "jwk".into(),
                    json!({"kty": "OKP", "crv": "Ed25519", "x": k.key.to_base64url()}),
                );
                if let Some(t) = k.not_before {
                    m.insert("not_before".into(), json!(t.to_rfc3339_millis()?));
                }
                if let Some(t) = k.not_after {
                    m.insert("not_after".into(), json!(t.to_rfc3339_millis()?));
                }
                if k.revoked {
                    m.insert("revoked".into(), json!(true));
                }
                if let Some(t) = k.revoked_at {
                    m.insert("revoked_at".into(), json!(t.to_rfc3339_millis()?));
                }
                keys.push(Value::Object(m));
            }
            let mut m = Map::new();
            m.insert("id".into(), json!(iss.id));
            m.insert("type".into(), json!(iss.kind.as_str()));
            if let Some(n) = &iss.name {
                m.insert("name".into(), json!(n));
            }
            if iss.tier != iss.kind.default_tier() {
                m.insert("tier".into(), json!(iss.tier.as_str()));
            }
            m.insert("keys".into(), Value::Array(keys));
            issuers.push(Value::Object(m));
        }
        let doc = json!({"version": TRUST_STORE_VERSION, "issuers": issuers});
        let mut s = serde_json::to_string_pretty(&doc)
            .map_err(|e| Error::new(Code::InvalidArgument, e.to_string()))?;
        s.push('\n');
        Ok(s)
    }
}

fn shown(s: &str) -> String {
    s.chars().take(96).collect()
}

fn bad(path: &str, what: impl std::fmt::Display) -> Error {
    Error::new(Code::TrustStoreInvalid, format!("{path}: {what}"))
}

fn obj<'v>(v: &'v Value, path: &str) -> Result<&'v Map<String, Value>> {
    v.as_object().ok_or_else(|| bad(path, "expected an object"))
}

fn only_keys(o: &Map<String, Value>, allowed: &[&str], path: &str) -> Result<()> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(bad(path, format_args!("unknown member {:?}", shown(k)))),
        None => Ok(()),
    }
}

fn req_str<'v>(o: &'v Map<String, Value>, k: &str, path: &str) -> Result<&'v str> {
    match o.get(k) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 512 => Ok(s),
        Some(Value::String(_)) => Err(bad(
            &format!("{path}.{k}"),
            "must be a non-empty string of at most 512 bytes",
        )),
        Some(_) => Err(bad(&format!("{path}.{k}"), "expected a string")),
        None => Err(bad(path, format_args!("missing required member {k:?}"))),
    }
}

fn opt_ts(o: &Map<String, Value>, k: &str, path: &str) -> Result<Option<Timestamp>> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Timestamp::parse_rfc3339(s)
            .map(Some)
            .map_err(|e| bad(&format!("{path}.{k}"), e.detail())),
        Some(_) => Err(bad(
            &format!("{path}.{k}"),
            "expected an RFC 3339 timestamp string",
        )),
    }
}

fn parse_store(v: &Value) -> Result<TrustStore> {
    let top = obj(v, "$")?;
    only_keys(top, &["version", "issuers"], "$")?;
    match top.get("version") {
        Some(n) if n.as_u64() == Some(TRUST_STORE_VERSION) => {}
        Some(n) => {
            return Err(bad(
                "version",
                format_args!("unsupported version {n}; expected {TRUST_STORE_VERSION}"),
            ))
        }
        None => return Err(bad("$", "missing required member \"version\"")),
    }
    let list = match top.get("issuers") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(bad("issuers", "expected an array")),
        None => return Err(bad("$", "missing required member \"issuers\"")),
    };
    let mut store = TrustStore::new();
    for (i, iv) in list.iter().enumerate() {
        let path = format!("issuers[{i}]");
        let io = obj(iv, &path)?;
        only_keys(io, &["id", "type", "name", "tier", "keys"], &path)?;
        let id = req_str(io, "id", &path)?;
        let kind_s = req_str(io, "type", &path)?;
        let kind = IssuerKind::parse(kind_s).ok_or_else(|| {
            bad(
                &format!("{path}.type"),
                format_args!(
                    "{:?} is not one of self|platform|gate|organization|delegate",
                    shown(kind_s)
                ),
            )
        })?;
        let mut issuer = TrustedIssuer::new(id, kind);
        match io.get("name") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => issuer.name = Some(s.clone()),
            Some(_) => return Err(bad(&format!("{path}.name"), "expected a string")),
        }
        match io.get("tier") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                let t = Tier::parse(s).ok_or_else(|| {
                    bad(&format!("{path}.tier"), "expected one of L0|L0.5|L1|L2|L3")
                })?;
                if kind == IssuerKind::SelfIssued && t != Tier::L0 {
                    return Err(bad(&format!("{path}.tier"), "a self issuer is always L0"));
                }
                issuer.tier = t;
            }
            Some(_) => return Err(bad(&format!("{path}.tier"), "expected a string")),
        }
        let keys = match io.get("keys") {
            Some(Value::Array(a)) => a,
            Some(_) => return Err(bad(&format!("{path}.keys"), "expected an array")),
            None => return Err(bad(&path, "missing required member \"keys\"")),
        };
        for (j, kv) in keys.iter().enumerate() {
            let kpath = format!("{path}.keys[{j}]");
            let ko = obj(kv, &kpath)?;
            only_keys(
                ko,
                &[
                    "kid",
                    "jwk",
                    "public_key",
                    "not_before",
                    "not_after",
                    "revoked",
                    "revoked_at",
                ],
                &kpath,
            )?;
            let kid = req_str(ko, "kid", &kpath)?;
            let key = match (ko.get("jwk"), ko.get("public_key")) {
                (Some(j), None) => crate::jwt::parse_okp_jwk(j)
                    .and_then(|b| PublicKey::from_bytes(&b))
                    .map_err(|e| bad(&format!("{kpath}.jwk"), e.detail()))?,
                (None, Some(Value::String(s))) => {
                    crate::encoding::decode_b64_std_fixed::<32>(s, "public_key", Code::KeyMalformed)
                        .and_then(|b| PublicKey::from_bytes(&b))
                        .map_err(|e| bad(&format!("{kpath}.public_key"), e.detail()))?
                }
                _ => {
                    return Err(bad(
                        &kpath,
                        "exactly one of \"jwk\" (RFC 8037 OKP/Ed25519) or \"public_key\" (standard base64) is required",
                    ))
                }
            };
            let revoked = match ko.get("revoked") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(bad(&format!("{kpath}.revoked"), "expected a boolean")),
            };
            let tk = TrustedKey {
                kid: kid.to_owned(),
                key,
                not_before: opt_ts(ko, "not_before", &kpath)?,
                not_after: opt_ts(ko, "not_after", &kpath)?,
                revoked,
                revoked_at: opt_ts(ko, "revoked_at", &kpath)?,
            };
            if issuer.keys.contains_key(kid) {
                return Err(bad(
                    &format!("{kpath}.kid"),
                    format_args!("kid {:?} appears twice for this issuer", shown(kid)),
                ));
            }
            issuer.keys.insert(StoreText::from(kid), tk);
        }
        validate_issuer(&issuer, &path)?;
        if store.issuers.contains_key(id) {
            return Err(bad(
                &format!("{path}.id"),
                format_args!("issuer {:?} appears twice", shown(id)),
            ));
        }
        store.issuers.insert(StoreText::from(id), issuer);
    }
    Ok(store)
}

fn validate_issuer(issuer: &TrustedIssuer, path: &str) -> Result<()> {
    if issuer.id.is_empty() || issuer.id.len() > 512 {
        return Err(bad(
            &format!("{path}.id"),
            "must be a non-empty string of at most 512 bytes",
        ));
    }
    let self_shaped = issuer.id.starts_with(SELF_ISSUER_PREFIX);
    if issuer.kind == IssuerKind::SelfIssued {
        // A self entry annotates one agent's own key (name, revocation); its id must be that
        // key's self issuer id and its only key the kid "self".
        for k in issuer.keys.values() {
            if k.kid != "self" || k.key.self_issuer_id() != issuer.id {
                return Err(bad(
                    path,
                    "a self issuer holds exactly one key, kid \"self\", whose self issuer id is the issuer id",
                ));
            }
        }
    } else if self_shaped || issuer.id.starts_with("delegate:") {
        return Err(bad(
            &format!("{path}.id"),
            "ids starting with \"self:\" or \"delegate:\" are reserved for self and delegated passports",
        ));
    }
    for k in issuer.keys.values() {
        if k.kid.is_empty() || k.kid.len() > 512 {
            return Err(bad(
                path,
                "a kid must be a non-empty string of at most 512 bytes",
            ));
        }
        if let (Some(a), Some(b)) = (k.not_before, k.not_after) {
            if b <= a {
                return Err(bad(
                    path,
                    format_args!("key {:?}: not_after is not after not_before", shown(&k.kid)),
                ));
            }
        }
    }
    Ok(())
}

/// The store as a key resolver for v2 envelopes. Unknown issuer or kid, a revoked key, a key
/// outside its window at `at`, or an issuer whose kind in the store does not match the
/// envelope's signed issuer type are errors (never `Ok(None)`): the verifier reports them as is.
/// An `organization` issuer may sign envelopes as `platform` (envelopes have no organization
/// type).
impl IssuerKeyResolver for TrustStore {
    fn resolve(
        &self,
        kind: IssuerType,
        issuer_id: &str,
        key_id: &str,
        at: Timestamp,
    ) -> Result<Option<PublicKey>> {
        let (issuer, key) = self.lookup(issuer_id, key_id)?;
        check_kind(issuer, kind)?;
        key.check(issuer_id, at, at)?;
        Ok(Some(key.key.clone()))
    }
}

/// Checks that an envelope's signed issuer type agrees with the store.
pub(crate) fn check_kind(issuer: &TrustedIssuer, kind: IssuerType) -> Result<()> {
    let ok = matches!(
        (kind, issuer.kind),
        (
            IssuerType::Platform,
            IssuerKind::Platform | IssuerKind::Organization
        ) | (IssuerType::Gate, IssuerKind::Gate)
    );
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            Code::IssuerNotAllowed,
            format!(
                "the envelope says issuer {:?} is a {}, the trust store says {}",
                shown(&issuer.id),
                kind.as_str(),
                issuer.kind.as_str()
            ),
        ))
    }
}

/// The verifier's issuer policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Accept self-issued passports (and delegations rooted in one). Default: `false`.
    pub allow_self_issued: bool,
    /// Minimum tier. Default: L0 (no minimum beyond the other rules).
    pub min_tier: Tier,
    /// When set, only these root issuer ids are accepted (self issuer ids included).
    /// Default: `None` (every issuer in the trust store).
    pub allowed_issuers: Option<HashSet<String>>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            allow_self_issued: false,
            min_tier: Tier::L0,
            allowed_issuers: None,
        }
    }
}

impl Policy {
    /// Default policy: no self-issued passports, no tier minimum, every trusted issuer.
    pub fn new() -> Self {
        Policy::default()
    }

    /// Accepts self-issued passports.
    pub fn allow_self_issued(mut self, yes: bool) -> Self {
        self.allow_self_issued = yes;
        self
    }

    /// Requires at least this tier.
    pub fn min_tier(mut self, tier: Tier) -> Self {
        self.min_tier = tier;
        self
    }

    /// Accepts only these root issuers.
    pub fn allow_only<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        self.allowed_issuers = Some(ids.into_iter().map(Into::into).collect());
        self
    }

    /// `issuer_not_allowed` unless the allowlist (if any) names `issuer_id`.
    pub fn check_allowed(&self, issuer_id: &str) -> Result<()> {
        match &self.allowed_issuers {
            Some(set) if !set.contains(issuer_id) => Err(Error::new(
                Code::IssuerNotAllowed,
                format!(
                    "issuer {:?} is not in the verifier's allowlist",
                    shown(issuer_id)
                ),
            )),
            _ => Ok(()),
        }
    }

    /// `self_issued_not_allowed` unless self-issued passports are accepted.
    pub fn check_self_allowed(&self) -> Result<()> {
        if self.allow_self_issued {
            Ok(())
        } else {
            Err(Error::new(
                Code::SelfIssuedNotAllowed,
                "the passport is self-issued (or rooted in a self-issued passport) and policy does not accept self-issued passports",
            ))
        }
    }

    /// `trust_tier_insufficient` when `tier` is below the minimum.
    pub fn check_tier(&self, tier: Tier) -> Result<()> {
        if tier < self.min_tier {
            Err(Error::new(
                Code::TrustTierInsufficient,
                format!(
                    "passport tier {} is below the required {}",
                    tier.as_str(),
                    self.min_tier.as_str()
                ),
            ))
        } else {
            Ok(())
        }
    }
}
