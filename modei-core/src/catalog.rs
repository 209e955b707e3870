//! Permission catalogs: a gate's signed, versioned, immutable list of the permissions it
//! offers, with their constraints and recorded commerce terms; diffs between versions; and the
//! pin check that stops bait-and-switch. Format: `docs/catalogs.md`.
//!
//! - content hash: lowercase hex SHA-256 of the RFC 8785 bytes of the *content object* (the
//!   catalog without `content_hash`, `key_id` and `signature`): Modei's `compute_content_hash`;
//! - signature: Ed25519 by the gate key over the same RFC 8785 bytes, with the key's id.
//!
//! Commerce terms live in each permission's `constraints` under Modei's 12 recorded term keys
//! (`core:pricing:*`, `core:sla:*`, `core:platform_fee:*`); [`Permission::pricing`],
//! [`Permission::sla`] and [`Permission::platform_fee`] read them typed.

use crate::attestation::{check_id, push_json_str, push_u64, Attestor, GateKeys, MAX_SEQUENCE};
use crate::canonical;
use crate::error::{Code, Error, Result};
use crate::json::{self, JsonLimits, NonFinite, ParseOptions};
use crate::keys::Signature;
use crate::time::Timestamp;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The `format` member of a catalog's content (signed: a catalog signature can never be read as
/// an attestation's, a checkpoint's or a receipt's).
pub const CATALOG_FORMAT: &str = "modei.catalog.v1";
/// The largest catalog read, in bytes.
pub const MAX_CATALOG_BYTES: usize = 1 << 20;
/// The most permissions one catalog holds.
pub const MAX_PERMISSIONS: usize = 1024;
const MAX_ID: usize = 256;
const MAX_TEXT: usize = 4096;

/// The catalog a passport pins: gate, version and (optionally) the content hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CatalogPin {
    /// The gate whose catalog is pinned.
    pub gate_id: String,
    /// The pinned version.
    pub version: u64,
    /// The pinned content hash (64 lowercase hex), or `None` when the pin names a version only.
    pub content_hash: Option<String>,
}

impl CatalogPin {
    /// Checks the field rules: ids bounded, version 1..=2^53-1, hash 64 lowercase hex.
    /// Failure: `invalid_argument`.
    pub fn validate(&self) -> Result<()> {
        check_id(
            Code::InvalidArgument,
            "catalog.gate_id",
            &self.gate_id,
            MAX_ID,
        )?;
        if self.version == 0 || self.version > MAX_SEQUENCE {
            return Err(Error::new(
                Code::InvalidArgument,
                format!("catalog.version {} is outside 1..=2^53-1", self.version),
            ));
        }
        if let Some(h) = &self.content_hash {
            if !crate::attestation::is_hex64(h) {
                return Err(Error::new(
                    Code::InvalidArgument,
                    "catalog.content_hash is not 64 lowercase hex digits",
                ));
            }
        }
        Ok(())
    }

    /// `{"content_hash":..,"gate_id":..,"version":..}`.
    pub fn to_value(&self) -> Value {
        json!({
            "content_hash": self.content_hash,
            "gate_id": self.gate_id,
            "version": self.version,
        })
    }

    /// Reads `{"content_hash": string|null, "gate_id": string, "version": int}` (exactly those
    /// members). Failure: `invalid_argument`.
    pub fn from_value(v: &Value) -> Result<CatalogPin> {
        let bad = |d: &str| Error::new(Code::InvalidArgument, d.to_owned());
        let obj = v
            .as_object()
            .ok_or_else(|| bad("catalog pin is not an object"))?;
        if obj.len() != 3 {
            return Err(bad(
                "catalog pin must have exactly content_hash, gate_id and version",
            ));
        }
        let gate_id = obj
            .get("gate_id")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("catalog pin gate_id is not a string"))?;
        let version = obj
            .get("version")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("catalog pin version is not an integer"))?;
        let content_hash = match obj.get("content_hash") {
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            _ => return Err(bad("catalog pin content_hash is not a string or null")),
        };
        let pin = CatalogPin {
            gate_id: gate_id.to_owned(),
            version,
            content_hash,
        };
        pin.validate()?;
        Ok(pin)
    }

    pub(crate) fn write_canonical(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"content_hash\":");
        match &self.content_hash {
            Some(h) => push_json_str(out, h),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"gate_id\":");
        push_json_str(out, &self.gate_id);
        out.extend_from_slice(b",\"version\":");
        push_u64(out, self.version);
        out.push(b'}');
    }
}

/// How risky a permission is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RiskLevel {
    /// `low`
    Low,
    /// `medium`
    Medium,
    /// `high`
    High,
    /// `critical`
    Critical,
}

impl RiskLevel {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
            RiskLevel::Critical => "critical",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<RiskLevel> {
        Some(match s {
            "low" => RiskLevel::Low,
            "medium" => RiskLevel::Medium,
            "high" => RiskLevel::High,
            "critical" => RiskLevel::Critical,
            _ => return None,
        })
    }
}

/// One permission a gate offers.
#[derive(Debug, Clone, PartialEq)]
pub struct Permission {
    /// The key agents request (e.g. `flights:search`).
    pub permission_key: String,
    /// Human name.
    pub display_name: String,
    /// Human description (may be empty).
    pub description: String,
    /// Risk level.
    pub risk_level: RiskLevel,
    /// The minimum passport trust level, 1..=3.
    pub min_trust_level: u8,
    /// `core:*` constraints: limits the gate enforces and the recorded terms (pricing, SLA,
    /// platform fee) that receipts are computed from.
    pub constraints: Map<String, Value>,
}

/// A pricing model, in integer cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PricingModel {
    /// No price terms: nothing is billed.
    Free,
    /// `per_call_cents` per billable call; the first `free_tier_calls` calls are free.
    PerCall,
    /// `per_minute_cents` per started minute (quantity = minutes, rounded up).
    PerMinute,
    /// `subscription_cents` per billing period; individual calls cost 0 on receipts.
    Subscription,
}

impl PricingModel {
    /// The wire spelling (`core:pricing:model`).
    pub fn as_str(self) -> &'static str {
        match self {
            PricingModel::Free => "free",
            PricingModel::PerCall => "per_call",
            PricingModel::PerMinute => "per_minute",
            PricingModel::Subscription => "subscription",
        }
    }

    fn parse(s: &str) -> Option<PricingModel> {
        Some(match s {
            "free" => PricingModel::Free,
            "per_call" => PricingModel::PerCall,
            "per_minute" => PricingModel::PerMinute,
            "subscription" => PricingModel::Subscription,
            _ => return None,
        })
    }
}

/// The pricing terms of a permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pricing {
    /// The model.
    pub model: PricingModel,
    /// Cents per unit of the model (call or minute); 0 for free and subscription.
    pub unit_price_cents: u64,
    /// `core:pricing:subscription_cents`, if set.
    pub subscription_cents: Option<u64>,
    /// `core:pricing:free_tier_calls` (0 when absent).
    pub free_tier_calls: u64,
    /// ISO 4217 currency (default `USD`).
    pub currency: String,
}

/// The platform fee terms of a permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformFee {
    /// Basis points of the service cost, 0..=10000.
    pub basis_points: u64,
    /// Who receives the fee.
    pub recipient: Option<String>,
}

/// The SLA terms of a permission (each optional).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sla {
    /// `core:sla:uptime_basis_points` (0..=10000).
    pub uptime_basis_points: Option<u64>,
    /// `core:sla:response_time_ms`.
    pub response_time_ms: Option<u64>,
    /// `core:sla:p99_response_ms`.
    pub p99_response_ms: Option<u64>,
    /// `core:sla:guaranteed_response_ms`.
    pub guaranteed_response_ms: Option<u64>,
}

/// The recorded-term keys whose value is a non-negative integer.
const INT_TERMS: &[&str] = &[
    "core:pricing:per_call_cents",
    "core:pricing:per_minute_cents",
    "core:pricing:subscription_cents",
    "core:pricing:free_tier_calls",
    "core:sla:uptime_basis_points",
    "core:sla:response_time_ms",
    "core:sla:p99_response_ms",
    "core:sla:guaranteed_response_ms",
    "core:platform_fee:basis_points",
];

fn term_u64(c: &Map<String, Value>, key: &str) -> Option<u64> {
    c.get(key).and_then(Value::as_u64)
}

impl Permission {
    /// The pricing terms. The model is `core:pricing:model` when set, else `per_call` if
    /// `per_call_cents` is set, else `per_minute` if `per_minute_cents` is set, else free.
    pub fn pricing(&self) -> Pricing {
        let c = &self.constraints;
        let per_call = term_u64(c, "core:pricing:per_call_cents");
        let per_minute = term_u64(c, "core:pricing:per_minute_cents");
        let model = match c.get("core:pricing:model").and_then(Value::as_str) {
            Some(m) => PricingModel::parse(m).unwrap_or(PricingModel::Free),
            None if per_call.is_some() => PricingModel::PerCall,
            None if per_minute.is_some() => PricingModel::PerMinute,
            None => PricingModel::Free,
        };
        let unit_price_cents = match model {
            PricingModel::PerCall => per_call.unwrap_or(0),
            PricingModel::PerMinute => per_minute.unwrap_or(0),
            PricingModel::Free | PricingModel::Subscription => 0,
        };
        Pricing {
            model,
            unit_price_cents,
            subscription_cents: term_u64(c, "core:pricing:subscription_cents"),
            free_tier_calls: term_u64(c, "core:pricing:free_tier_calls").unwrap_or(0),
            currency: c
                .get("core:pricing:currency")
                .and_then(Value::as_str)
                .unwrap_or("USD")
                .to_owned(),
        }
    }

    /// The platform fee (0 basis points when absent).
    pub fn platform_fee(&self) -> PlatformFee {
        PlatformFee {
            basis_points: term_u64(&self.constraints, "core:platform_fee:basis_points")
                .unwrap_or(0),
            recipient: self
                .constraints
                .get("core:platform_fee:recipient")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }

    /// The SLA terms.
    pub fn sla(&self) -> Sla {
        let c = &self.constraints;
        Sla {
            uptime_basis_points: term_u64(c, "core:sla:uptime_basis_points"),
            response_time_ms: term_u64(c, "core:sla:response_time_ms"),
            p99_response_ms: term_u64(c, "core:sla:p99_response_ms"),
            guaranteed_response_ms: term_u64(c, "core:sla:guaranteed_response_ms"),
        }
    }

    fn validate(&self, at: &str) -> Result<()> {
        let m = |d: String| Error::new(Code::CatalogMalformed, format!("{at}: {d}"));
        check_id(
            Code::CatalogMalformed,
            "permission_key",
            &self.permission_key,
            MAX_ID,
        )
        .map_err(|e| m(e.detail().to_owned()))?;
        check_id(
            Code::CatalogMalformed,
            "display_name",
            &self.display_name,
            MAX_ID,
        )
        .map_err(|e| m(e.detail().to_owned()))?;
        if self.description.len() > MAX_TEXT {
            return Err(m(format!("description exceeds {MAX_TEXT} bytes")));
        }
        if !(1..=3).contains(&self.min_trust_level) {
            return Err(m(format!(
                "min_trust_level {} is not 1, 2 or 3",
                self.min_trust_level
            )));
        }
        let c = &self.constraints;
        for key in INT_TERMS {
            if let Some(v) = c.get(*key) {
                match v.as_u64() {
                    Some(n) if n <= MAX_SEQUENCE => {}
                    _ => return Err(m(format!("{key} is not a non-negative integer"))),
                }
            }
        }
        for key in [
            "core:sla:uptime_basis_points",
            "core:platform_fee:basis_points",
        ] {
            if term_u64(c, key).is_some_and(|n| n > 10_000) {
                return Err(m(format!("{key} is above 10000 basis points")));
            }
        }
        if let Some(v) = c.get("core:pricing:model") {
            let ok = v.as_str().and_then(PricingModel::parse);
            match ok {
                Some(PricingModel::PerCall) if !c.contains_key("core:pricing:per_call_cents") => {
                    return Err(m("model per_call needs core:pricing:per_call_cents".into()))
                }
                Some(PricingModel::PerMinute)
                    if !c.contains_key("core:pricing:per_minute_cents") =>
                {
                    return Err(m(
                        "model per_minute needs core:pricing:per_minute_cents".into()
                    ))
                }
                Some(PricingModel::Subscription)
                    if !c.contains_key("core:pricing:subscription_cents") =>
                {
                    return Err(m(
                        "model subscription needs core:pricing:subscription_cents".into(),
                    ))
                }
                Some(_) => {}
                None => {
                    return Err(m(
                        "core:pricing:model is not free, per_call, per_minute or subscription"
                            .into(),
                    ))
                }
            }
        }
        if let Some(v) = c.get("core:pricing:currency") {
            let ok = v
                .as_str()
                .is_some_and(|s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()));
            if !ok {
                return Err(m("core:pricing:currency is not an ISO 4217 code".into()));
            }
        }
        if let Some(v) = c.get("core:platform_fee:recipient") {
            if !v
                .as_str()
                .is_some_and(|s| !s.is_empty() && s.len() <= MAX_ID)
            {
                return Err(m("core:platform_fee:recipient is not a short string".into()));
            }
        }
        Ok(())
    }

    fn to_value(&self) -> Value {
        json!({
            "permission_key": self.permission_key,
            "display_name": self.display_name,
            "description": self.description,
            "risk_level": self.risk_level.as_str(),
            "min_trust_level": self.min_trust_level,
            "constraints": Value::Object(self.constraints.clone()),
        })
    }

    fn from_value(v: &Value, at: &str) -> Result<Permission> {
        let m = |d: &str| Error::new(Code::CatalogMalformed, format!("{at}: {d}"));
        let obj = v.as_object().ok_or_else(|| m("not an object"))?;
        const KEYS: &[&str] = &[
            "constraints",
            "description",
            "display_name",
            "min_trust_level",
            "permission_key",
            "risk_level",
        ];
        if obj.len() != KEYS.len() || !KEYS.iter().all(|k| obj.contains_key(*k)) {
            return Err(m(
                "a permission has exactly constraints, description, display_name, \
                 min_trust_level, permission_key and risk_level",
            ));
        }
        let s = |k: &str| {
            obj.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| m(&format!("{k} is not a string")))
        };
        let risk = s("risk_level")?;
        let p = Permission {
            permission_key: s("permission_key")?,
            display_name: s("display_name")?,
            description: s("description")?,
            risk_level: RiskLevel::parse(&risk)
                .ok_or_else(|| m("risk_level is not low, medium, high or critical"))?,
            min_trust_level: obj
                .get("min_trust_level")
                .and_then(Value::as_u64)
                .and_then(|n| u8::try_from(n).ok())
                .ok_or_else(|| m("min_trust_level is not 1, 2 or 3"))?,
            constraints: obj
                .get("constraints")
                .and_then(Value::as_object)
                .cloned()
                .ok_or_else(|| m("constraints is not an object"))?,
        };
        p.validate(at)?;
        Ok(p)
    }
}

/// What a gate fills in before publishing a catalog version.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogDraft {
    /// The gate.
    pub gate_id: String,
    /// The version number (1..=2^53-1; each publication must increase it).
    pub version: u64,
    /// The oldest version passports may still pin (1..=version).
    pub min_compatible_version: u64,
    /// When it is published.
    pub published_at: Timestamp,
    /// When it takes effect (not before `published_at`).
    pub effective_at: Timestamp,
    /// A human summary of the change.
    pub change_summary: Option<String>,
    /// The permissions (any order; published sorted by key; keys unique).
    pub permissions: Vec<Permission>,
}

/// A published catalog version: immutable, hashed and signed.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    draft: CatalogDraft,
    content_bytes: Vec<u8>,
    content_hash: String,
    key_id: String,
    signature: Signature,
}

fn ts(t: Timestamp, what: &str) -> Result<String> {
    t.to_rfc3339_millis()
        .map_err(|e| Error::new(Code::CatalogMalformed, format!("{what}: {}", e.detail())))
}

fn content_value(d: &CatalogDraft) -> Result<Value> {
    Ok(json!({
        "format": CATALOG_FORMAT,
        "gate_id": d.gate_id,
        "version": d.version,
        "min_compatible_version": d.min_compatible_version,
        "published_at": ts(d.published_at, "published_at")?,
        "effective_at": ts(d.effective_at, "effective_at")?,
        "change_summary": d.change_summary,
        "permissions": d.permissions.iter().map(Permission::to_value).collect::<Vec<_>>(),
    }))
}

fn validate_draft(d: &CatalogDraft) -> Result<()> {
    let m = |s: String| Error::new(Code::CatalogMalformed, s);
    check_id(Code::CatalogMalformed, "gate_id", &d.gate_id, MAX_ID)?;
    if d.version == 0 || d.version > MAX_SEQUENCE {
        return Err(Error::new(
            Code::CatalogVersionInvalid,
            format!("version {} is outside 1..=2^53-1", d.version),
        ));
    }
    if d.min_compatible_version == 0 || d.min_compatible_version > d.version {
        return Err(Error::new(
            Code::CatalogVersionInvalid,
            format!(
                "min_compatible_version {} is outside 1..={}",
                d.min_compatible_version, d.version
            ),
        ));
    }
    if d.effective_at < d.published_at {
        return Err(m("effective_at is before published_at".into()));
    }
    if let Some(s) = &d.change_summary {
        if s.len() > MAX_TEXT {
            return Err(m(format!("change_summary exceeds {MAX_TEXT} bytes")));
        }
    }
    if d.permissions.len() > MAX_PERMISSIONS {
        return Err(m(format!("more than {MAX_PERMISSIONS} permissions")));
    }
    let mut seen = BTreeSet::new();
    for (i, p) in d.permissions.iter().enumerate() {
        p.validate(&format!("permissions[{i}]"))?;
        if !seen.insert(p.permission_key.as_str()) {
            return Err(m(format!(
                "permission_key {:?} appears twice",
                p.permission_key
            )));
        }
    }
    Ok(())
}

impl Catalog {
    /// Publishes `draft`: validates it, sorts the permissions by key, hashes the RFC 8785
    /// content and signs the same bytes with the gate key. The result cannot be changed.
    /// Failures: `catalog_malformed`, `catalog_version_invalid`, `invalid_argument` (the
    /// signer is another gate's).
    pub fn publish(mut draft: CatalogDraft, signer: &Attestor) -> Result<Catalog> {
        if draft.gate_id != signer.gate_id() {
            return Err(Error::new(
                Code::InvalidArgument,
                format!(
                    "catalog gate {:?} is signed by gate {:?}",
                    draft.gate_id,
                    signer.gate_id()
                ),
            ));
        }
        draft
            .permissions
            .sort_by(|a, b| canonical::utf16_cmp(&a.permission_key, &b.permission_key));
        validate_draft(&draft)?;
        let content_bytes = canonical::canonicalize(&content_value(&draft)?);
        if content_bytes.len() > MAX_CATALOG_BYTES - 512 {
            return Err(Error::new(
                Code::CatalogMalformed,
                format!("catalog exceeds {MAX_CATALOG_BYTES} bytes"),
            ));
        }
        let content_hash = sha256_hex(&content_bytes);
        let signature = signer.sign_raw(&content_bytes);
        Ok(Catalog {
            draft,
            content_bytes,
            content_hash,
            key_id: signer.key_id().to_owned(),
            signature,
        })
    }

    /// Reads a published catalog (strict JSON) and checks that `content_hash` matches the
    /// content. The signature is checked by [`Catalog::verify`]. Failures:
    /// `catalog_malformed`, `catalog_hash_mismatch`.
    pub fn from_json(bytes: &[u8]) -> Result<Catalog> {
        let opts = ParseOptions {
            limits: JsonLimits {
                max_bytes: MAX_CATALOG_BYTES,
                max_depth: 32,
            },
            reject_duplicates: true,
            non_finite: NonFinite::Reject,
        };
        let v = json::parse_with(bytes, &opts)
            .map_err(|e| {
                Error::new(
                    Code::CatalogMalformed,
                    format!("{}: {}", e.code(), e.detail()),
                )
            })?
            .value;
        Catalog::from_value(v)
    }

    /// [`Catalog::from_json`] from a parsed value.
    pub fn from_value(v: Value) -> Result<Catalog> {
        let m = |d: &str| Error::new(Code::CatalogMalformed, d.to_owned());
        let Value::Object(mut obj) = v else {
            return Err(m("catalog is not an object"));
        };
        const KEYS: &[&str] = &[
            "change_summary",
            "content_hash",
            "effective_at",
            "format",
            "gate_id",
            "key_id",
            "min_compatible_version",
            "permissions",
            "published_at",
            "signature",
            "version",
        ];
        for k in obj.keys() {
            if !KEYS.contains(&k.as_str()) {
                return Err(m(&format!("unknown member {k:?}")));
            }
        }
        for k in KEYS {
            if !obj.contains_key(*k) {
                return Err(m(&format!("missing member {k:?}")));
            }
        }
        let take_s = |obj: &mut Map<String, Value>, k: &str| match obj.remove(k) {
            Some(Value::String(s)) => Ok(s),
            _ => Err(m(&format!("{k} is not a string"))),
        };
        let content_hash = take_s(&mut obj, "content_hash")?;
        let key_id = take_s(&mut obj, "key_id")?;
        let sig = take_s(&mut obj, "signature")?;
        let signature = Signature::from_base64url(&sig)
            .map_err(|e| m(&format!("signature: {}", e.detail())))?;
        check_id(Code::CatalogMalformed, "key_id", &key_id, MAX_ID)?;
        let content = Value::Object(obj);
        let o = content
            .as_object()
            .ok_or_else(|| m("catalog is not an object"))?;
        if o.get("format").and_then(Value::as_str) != Some(CATALOG_FORMAT) {
            return Err(m(&format!("format is not {CATALOG_FORMAT:?}")));
        }
        let time = |k: &str| -> Result<Timestamp> {
            let s = o
                .get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| m(&format!("{k} is not a string")))?;
            let t = Timestamp::parse_rfc3339(s).map_err(|e| m(&format!("{k}: {}", e.detail())))?;
            if t.to_rfc3339_millis().ok().as_deref() != Some(s) {
                return Err(m(&format!("{k} is not YYYY-MM-DDTHH:MM:SS.mmmZ")));
            }
            Ok(t)
        };
        let uint = |k: &str| {
            o.get(k)
                .and_then(Value::as_u64)
                .ok_or_else(|| m(&format!("{k} is not a non-negative integer")))
        };
        let perms = o
            .get("permissions")
            .and_then(Value::as_array)
            .ok_or_else(|| m("permissions is not an array"))?;
        if perms.len() > MAX_PERMISSIONS {
            return Err(m(&format!("more than {MAX_PERMISSIONS} permissions")));
        }
        let permissions = perms
            .iter()
            .enumerate()
            .map(|(i, p)| Permission::from_value(p, &format!("permissions[{i}]")))
            .collect::<Result<Vec<_>>>()?;
        if !permissions.windows(2).all(|w| {
            canonical::utf16_cmp(&w[0].permission_key, &w[1].permission_key)
                == std::cmp::Ordering::Less
        }) {
            return Err(m(
                "permissions are not sorted by permission_key without repeats",
            ));
        }
        let draft = CatalogDraft {
            gate_id: o
                .get("gate_id")
                .and_then(Value::as_str)
                .ok_or_else(|| m("gate_id is not a string"))?
                .to_owned(),
            version: uint("version")?,
            min_compatible_version: uint("min_compatible_version")?,
            published_at: time("published_at")?,
            effective_at: time("effective_at")?,
            change_summary: match o.get("change_summary") {
                Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                _ => return Err(m("change_summary is not a string or null")),
            },
            permissions,
        };
        validate_draft(&draft)?;
        let content_bytes = canonical::canonicalize(&content);
        let actual = sha256_hex(&content_bytes);
        if actual != content_hash {
            return Err(Error::new(
                Code::CatalogHashMismatch,
                format!("content_hash {content_hash:?} but the content hashes to {actual:?}"),
            ));
        }
        Ok(Catalog {
            draft,
            content_bytes,
            content_hash,
            key_id,
            signature,
        })
    }

    /// Reads and verifies in one step: [`Catalog::from_json`] then [`Catalog::verify`].
    pub fn verify_json(bytes: &[u8], keys: &(impl GateKeys + ?Sized)) -> Result<Catalog> {
        let c = Catalog::from_json(bytes)?;
        c.verify(keys)?;
        Ok(c)
    }

    /// Verifies the signature against the caller's trusted key for `(gate_id, key_id)`.
    /// Failures: `key_unknown`, `catalog_signature_invalid`.
    pub fn verify(&self, keys: &(impl GateKeys + ?Sized)) -> Result<()> {
        let key = keys
            .gate_key(&self.draft.gate_id, &self.key_id)
            .ok_or_else(|| {
                Error::new(
                    Code::KeyUnknown,
                    format!(
                        "no trusted key {:?} for gate {:?}",
                        self.key_id, self.draft.gate_id
                    ),
                )
            })?;
        key.verify_strict(&self.content_bytes, &self.signature)
            .map_err(|e| {
                Error::new(
                    Code::CatalogSignatureInvalid,
                    format!("catalog version {}: {}", self.draft.version, e.detail()),
                )
            })
    }

    /// The published catalog as canonical JSON (content plus `content_hash`, `key_id`,
    /// `signature`).
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = json::parse_strict(&self.content_bytes).unwrap_or(Value::Null);
        if let Value::Object(o) = &mut v {
            o.insert(
                "content_hash".into(),
                Value::String(self.content_hash.clone()),
            );
            o.insert("key_id".into(), Value::String(self.key_id.clone()));
            o.insert(
                "signature".into(),
                Value::String(self.signature.to_base64url()),
            );
        }
        canonical::canonicalize(&v)
    }

    /// The gate.
    pub fn gate_id(&self) -> &str {
        &self.draft.gate_id
    }
    /// The version.
    pub fn version(&self) -> u64 {
        self.draft.version
    }
    /// The oldest version passports may still pin.
    pub fn min_compatible_version(&self) -> u64 {
        self.draft.min_compatible_version
    }
    /// When published.
    pub fn published_at(&self) -> Timestamp {
        self.draft.published_at
    }
    /// When effective.
    pub fn effective_at(&self) -> Timestamp {
        self.draft.effective_at
    }
    /// The change summary.
    pub fn change_summary(&self) -> Option<&str> {
        self.draft.change_summary.as_deref()
    }
    /// The permissions, sorted by key.
    pub fn permissions(&self) -> &[Permission] {
        &self.draft.permissions
    }
    /// One permission by key.
    pub fn permission(&self, key: &str) -> Option<&Permission> {
        self.draft
            .permissions
            .binary_search_by(|p| canonical::utf16_cmp(&p.permission_key, key))
            .ok()
            .and_then(|i| self.draft.permissions.get(i))
    }
    /// The content hash (64 lowercase hex SHA-256 of the RFC 8785 content).
    pub fn content_hash(&self) -> &str {
        &self.content_hash
    }
    /// The RFC 8785 content bytes (what is hashed and signed).
    pub fn content_bytes(&self) -> &[u8] {
        &self.content_bytes
    }
    /// The signing key's id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }
    /// The pin a passport issued against this version carries.
    pub fn pin(&self) -> CatalogPin {
        CatalogPin {
            gate_id: self.draft.gate_id.clone(),
            version: self.draft.version,
            content_hash: Some(self.content_hash.clone()),
        }
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(bytes);
    let mut out = [0u8; 64];
    crate::attestation::hex_into(&d, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

// ------------------------------------------------------------------------------------------
// Catalog sets and pins

/// The catalog versions a gate holds, for pin checks.
#[derive(Debug, Clone)]
pub struct CatalogSet {
    gate_id: String,
    versions: BTreeMap<u64, Catalog>,
}

impl CatalogSet {
    /// An empty set for `gate_id`.
    pub fn new(gate_id: &str) -> CatalogSet {
        CatalogSet {
            gate_id: gate_id.to_owned(),
            versions: BTreeMap::new(),
        }
    }

    /// Adds a catalog already verified by the caller (e.g. loaded from storage). Failures:
    /// `catalog_pin_unknown` is never returned here; `invalid_argument` for another gate's
    /// catalog; `catalog_version_invalid` when a different catalog already holds this version.
    pub fn insert(&mut self, catalog: Catalog) -> Result<()> {
        if catalog.gate_id() != self.gate_id {
            return Err(Error::new(
                Code::InvalidArgument,
                format!(
                    "catalog of gate {:?} added to the set of gate {:?}",
                    catalog.gate_id(),
                    self.gate_id
                ),
            ));
        }
        if let Some(held) = self.versions.get(&catalog.version()) {
            if held.content_hash() != catalog.content_hash() {
                return Err(Error::new(
                    Code::CatalogVersionInvalid,
                    format!(
                        "version {} is already held with another content hash (published catalogs are immutable)",
                        catalog.version()
                    ),
                ));
            }
            return Ok(());
        }
        self.versions.insert(catalog.version(), catalog);
        Ok(())
    }

    /// Publishes the next version: it must be above the current version and not published
    /// earlier than it. Returns the catalog and its diff against the current one (empty for the
    /// first version). Failures: those of [`Catalog::publish`], `catalog_version_invalid`.
    pub fn publish(
        &mut self,
        draft: CatalogDraft,
        signer: &Attestor,
    ) -> Result<(&Catalog, CatalogDiff)> {
        if let Some(cur) = self.current() {
            if draft.version <= cur.version() {
                return Err(Error::new(
                    Code::CatalogVersionInvalid,
                    format!(
                        "version {} does not increase on the current version {}",
                        draft.version,
                        cur.version()
                    ),
                ));
            }
            if draft.published_at < cur.published_at() {
                return Err(Error::new(
                    Code::CatalogVersionInvalid,
                    "published_at is earlier than the current version's",
                ));
            }
        }
        let catalog = Catalog::publish(draft, signer)?;
        let diff = match self.current() {
            Some(cur) => diff(cur, &catalog),
            None => CatalogDiff {
                from_version: 0,
                to_version: catalog.version(),
                changes: Vec::new(),
            },
        };
        let v = catalog.version();
        self.insert(catalog)?;
        let c = self
            .versions
            .get(&v)
            .ok_or_else(|| Error::new(Code::CatalogVersionInvalid, "version vanished"))?;
        Ok((c, diff))
    }

    /// The highest version held.
    pub fn current(&self) -> Option<&Catalog> {
        self.versions.values().next_back()
    }

    /// The highest version in effect at `now`.
    pub fn current_at(&self, now: Timestamp) -> Option<&Catalog> {
        self.versions
            .values()
            .rev()
            .find(|c| c.effective_at() <= now)
    }

    /// A version by number.
    pub fn get(&self, version: u64) -> Option<&Catalog> {
        self.versions.get(&version)
    }

    /// Checks a passport's pin against the highest version held. Never falls back to the
    /// current catalog. Order: another gate, or a version this set does not hold, or a content
    /// hash that differs from the one held → `catalog_pin_unknown`; a version below the current
    /// `min_compatible_version` → `catalog_pin_incompatible` (checked before "not held", so a
    /// retired version reports as incompatible). A `None` hash checks the version only.
    pub fn check_pin(
        &self,
        gate_id: &str,
        version: u64,
        content_hash: Option<&str>,
    ) -> Result<&Catalog> {
        self.check_pin_against(self.current(), gate_id, version, content_hash)
    }

    /// [`CatalogSet::check_pin`] against the version in effect at `now`.
    pub fn check_pin_at(
        &self,
        now: Timestamp,
        gate_id: &str,
        version: u64,
        content_hash: Option<&str>,
    ) -> Result<&Catalog> {
        self.check_pin_against(self.current_at(now), gate_id, version, content_hash)
    }

    fn check_pin_against(
        &self,
        current: Option<&Catalog>,
        gate_id: &str,
        version: u64,
        content_hash: Option<&str>,
    ) -> Result<&Catalog> {
        let unknown = |d: String| Error::new(Code::CatalogPinUnknown, d);
        if gate_id != self.gate_id {
            return Err(unknown(format!(
                "the pin names gate {gate_id:?}; this is gate {:?}",
                self.gate_id
            )));
        }
        if let Some(cur) = current {
            if version < cur.min_compatible_version() {
                return Err(Error::new(
                    Code::CatalogPinIncompatible,
                    format!(
                        "pinned version {version} is below min_compatible_version {} of version {}; reissue the passport",
                        cur.min_compatible_version(),
                        cur.version()
                    ),
                ));
            }
        }
        let held = self
            .versions
            .get(&version)
            .ok_or_else(|| unknown(format!("this gate holds no catalog version {version}")))?;
        if let Some(h) = content_hash {
            if h != held.content_hash() {
                return Err(unknown(format!(
                    "pinned content hash {h:?} differs from version {version}'s {:?}",
                    held.content_hash()
                )));
            }
        }
        Ok(held)
    }
}

// ------------------------------------------------------------------------------------------
// Diffs

/// What changed between two catalog versions.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogDiff {
    /// The older version (0 for "none").
    pub from_version: u64,
    /// The newer version.
    pub to_version: u64,
    /// Every change, permission by permission (sorted by key), catalog-level first.
    pub changes: Vec<CatalogChange>,
}

impl CatalogDiff {
    /// Whether any change is breaking.
    pub fn has_breaking_changes(&self) -> bool {
        self.changes.iter().any(|c| c.breaking)
    }

    /// `{"from_version","to_version","has_breaking_changes","changes":[...]}`.
    pub fn to_value(&self) -> Value {
        json!({
            "from_version": self.from_version,
            "to_version": self.to_version,
            "has_breaking_changes": self.has_breaking_changes(),
            "changes": self.changes.iter().map(CatalogChange::to_value).collect::<Vec<_>>(),
        })
    }
}

/// One change. `breaking` means an agent holding a passport pinned to the old version could
/// pay more, get less, or be refused where it was not (see `docs/catalogs.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogChange {
    /// The kind (snake_case, e.g. `price_increase`).
    pub kind: &'static str,
    /// The permission concerned (`None` for catalog-level changes).
    pub permission_key: Option<String>,
    /// The constraint or field concerned.
    pub field: Option<String>,
    /// The old value (`null` when added).
    pub from: Value,
    /// The new value (`null` when removed).
    pub to: Value,
    /// Whether it is breaking.
    pub breaking: bool,
}

impl CatalogChange {
    /// As JSON.
    pub fn to_value(&self) -> Value {
        json!({
            "kind": self.kind,
            "permission_key": self.permission_key,
            "field": self.field,
            "from": self.from,
            "to": self.to,
            "breaking": self.breaking,
        })
    }
}

/// How a constraint's value orders from loose to tight.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// A smaller number is tighter (`max_*`, thresholds).
    LowerTighter,
    /// A larger number is tighter (`min_*`).
    HigherTighter,
    /// `true` is tighter (switches that add a check).
    TrueTighter,
    /// A subset is tighter (allowlists).
    SubsetTighter,
    /// A superset is tighter (blocklists, approval lists, blackout windows).
    SupersetTighter,
    /// Unknown: any change may tighten.
    Unknown,
}

fn direction(key: &str) -> Direction {
    match key {
        "core:cost:approval_threshold" => return Direction::LowerTighter,
        "core:safety:fail_closed"
        | "core:safety:anomaly_suspend"
        | "core:data:read_only"
        | "core:data:no_pii_export"
        | "core:approval:required" => return Direction::TrueTighter,
        "core:approval:for_actions" | "core:time:blackout_windows" => {
            return Direction::SupersetTighter
        }
        _ => {}
    }
    let last = key.rsplit(':').next().unwrap_or(key);
    if last.starts_with("max") {
        Direction::LowerTighter
    } else if last.starts_with("min") {
        Direction::HigherTighter
    } else if last.ends_with("allowlist") {
        Direction::SubsetTighter
    } else if last.ends_with("blocklist") {
        Direction::SupersetTighter
    } else {
        Direction::Unknown
    }
}

/// `Some(true)` tightened, `Some(false)` loosened, `None` unknown or unordered.
fn tightened(dir: Direction, from: &Value, to: &Value) -> Option<bool> {
    match dir {
        Direction::LowerTighter | Direction::HigherTighter => {
            let (a, b) = (from.as_f64()?, to.as_f64()?);
            let lower = b < a;
            Some(if dir == Direction::LowerTighter {
                lower
            } else {
                !lower
            })
        }
        Direction::TrueTighter => Some(to.as_bool()? && !from.as_bool()?),
        Direction::SubsetTighter | Direction::SupersetTighter => {
            let a = from.as_array()?;
            let b = to.as_array()?;
            let a_in_b = a.iter().all(|x| b.contains(x));
            let b_in_a = b.iter().all(|x| a.contains(x));
            match (dir, a_in_b, b_in_a) {
                (Direction::SubsetTighter, true, false) => Some(false),
                (Direction::SubsetTighter, false, true) => Some(true),
                (Direction::SupersetTighter, true, false) => Some(true),
                (Direction::SupersetTighter, false, true) => Some(false),
                _ => None,
            }
        }
        Direction::Unknown => None,
    }
}

fn change(
    kind: &'static str,
    key: &str,
    field: Option<&str>,
    from: Value,
    to: Value,
    breaking: bool,
) -> CatalogChange {
    CatalogChange {
        kind,
        permission_key: Some(key.to_owned()),
        field: field.map(str::to_owned),
        from,
        to,
        breaking,
    }
}

/// The changes from `old` to `new` (any two versions of one gate). Breaking changes: a
/// permission removed; a price up (including free → priced); the pricing model or currency
/// changed; the free tier reduced; an SLA term worse or removed; the platform fee up; a limit
/// constraint tightened or added; a constraint changed in a direction that cannot be ordered;
/// min_trust_level raised; min_compatible_version raised. See `docs/catalogs.md`.
pub fn diff(old: &Catalog, new: &Catalog) -> CatalogDiff {
    let mut changes = Vec::new();
    if new.min_compatible_version() > old.min_compatible_version() {
        changes.push(CatalogChange {
            kind: "min_compatible_version_raised",
            permission_key: None,
            field: Some("min_compatible_version".into()),
            from: json!(old.min_compatible_version()),
            to: json!(new.min_compatible_version()),
            breaking: true,
        });
    }
    let mut keys: Vec<&str> = old
        .permissions()
        .iter()
        .chain(new.permissions())
        .map(|p| p.permission_key.as_str())
        .collect();
    keys.sort_by(|a, b| canonical::utf16_cmp(a, b));
    keys.dedup();
    for key in keys {
        match (old.permission(key), new.permission(key)) {
            (Some(_), None) => changes.push(change(
                "permission_removed",
                key,
                None,
                Value::Null,
                Value::Null,
                true,
            )),
            (None, Some(_)) => changes.push(change(
                "permission_added",
                key,
                None,
                Value::Null,
                Value::Null,
                false,
            )),
            (Some(a), Some(b)) => diff_permission(a, b, &mut changes),
            (None, None) => {}
        }
    }
    CatalogDiff {
        from_version: old.version(),
        to_version: new.version(),
        changes,
    }
}

fn diff_permission(a: &Permission, b: &Permission, out: &mut Vec<CatalogChange>) {
    let key = a.permission_key.as_str();
    for (field, x, y) in [
        ("display_name", &a.display_name, &b.display_name),
        ("description", &a.description, &b.description),
    ] {
        if x != y {
            out.push(change(
                "metadata_changed",
                key,
                Some(field),
                json!(x),
                json!(y),
                false,
            ));
        }
    }
    if a.risk_level != b.risk_level {
        out.push(change(
            "risk_level_changed",
            key,
            Some("risk_level"),
            json!(a.risk_level.as_str()),
            json!(b.risk_level.as_str()),
            false,
        ));
    }
    if a.min_trust_level != b.min_trust_level {
        let up = b.min_trust_level > a.min_trust_level;
        out.push(change(
            if up {
                "min_trust_level_raised"
            } else {
                "min_trust_level_lowered"
            },
            key,
            Some("min_trust_level"),
            json!(a.min_trust_level),
            json!(b.min_trust_level),
            up,
        ));
    }
    let mut ckeys: Vec<&String> = a.constraints.keys().chain(b.constraints.keys()).collect();
    ckeys.sort();
    ckeys.dedup();
    for ck in ckeys {
        let x = a.constraints.get(ck).cloned().unwrap_or(Value::Null);
        let y = b.constraints.get(ck).cloned().unwrap_or(Value::Null);
        if x == y {
            continue;
        }
        let (kind, breaking) = classify(ck, &x, &y);
        out.push(change(kind, key, Some(ck), x, y, breaking));
    }
}

/// Classifies one constraint change: `(kind, breaking)`.
fn classify(ck: &str, x: &Value, y: &Value) -> (&'static str, bool) {
    let num = |v: &Value| v.as_u64();
    match ck {
        "core:pricing:per_call_cents"
        | "core:pricing:per_minute_cents"
        | "core:pricing:subscription_cents" => {
            // Absent = free (0).
            let (a, b) = (num(x).unwrap_or(0), num(y).unwrap_or(0));
            if b > a {
                ("price_increase", true)
            } else {
                ("price_decrease", false)
            }
        }
        "core:pricing:model" => ("pricing_model_changed", true),
        "core:pricing:currency" => ("currency_changed", true),
        "core:pricing:free_tier_calls" => {
            if num(y).unwrap_or(0) < num(x).unwrap_or(0) {
                ("free_tier_reduced", true)
            } else {
                ("free_tier_increased", false)
            }
        }
        "core:sla:uptime_basis_points" => match (num(x), num(y)) {
            (Some(a), Some(b)) if b > a => ("sla_upgrade", false),
            (None, Some(_)) => ("sla_upgrade", false),
            _ => ("sla_downgrade", true),
        },
        "core:sla:response_time_ms"
        | "core:sla:p99_response_ms"
        | "core:sla:guaranteed_response_ms" => match (num(x), num(y)) {
            (Some(a), Some(b)) if b < a => ("sla_upgrade", false),
            (None, Some(_)) => ("sla_upgrade", false),
            _ => ("sla_downgrade", true),
        },
        "core:platform_fee:basis_points" => {
            if num(y).unwrap_or(0) > num(x).unwrap_or(0) {
                ("platform_fee_increase", true)
            } else {
                ("platform_fee_decrease", false)
            }
        }
        "core:platform_fee:recipient" => ("platform_fee_recipient_changed", false),
        _ => {
            if y.is_null() {
                ("constraint_removed", false)
            } else if x.is_null() {
                ("constraint_added", true)
            } else {
                match tightened(direction(ck), x, y) {
                    Some(true) => ("constraint_tightened", true),
                    Some(false) => ("constraint_loosened", false),
                    None => ("constraint_changed", true),
                }
            }
        }
    }
}
