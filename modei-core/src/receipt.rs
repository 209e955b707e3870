//! Consumption receipts: the signed record of one billable call, carrying the agent's proof of
//! possession, with cost and platform fee computed from the pinned catalog in integer cents;
//! and settlement summaries over verified receipts. Format: `docs/receipts.md`.
//!
//! - cost: by the permission's pricing model (see [`compute_charge`]); `error` and `timeout`
//!   cost 0; `success` and `partial` are billed for the `quantity` delivered;
//! - platform fee: `ceil(cost_cents × basis_points / 10000)` in integer arithmetic;
//! - agent proof of possession: Ed25519 by the agent key over RFC 8785 of
//!   `{format:"modei.pop.v1", action, catalog_content_hash, gate_id, nonce, passport_id,
//!   payload_hash, timestamp}` (timestamp in Unix milliseconds);
//! - gate signature: Ed25519 by the gate key over RFC 8785 of the receipt without `signature`.

use crate::attestation::{check_id, is_hex64, Attestor, GateKeys, MAX_SEQUENCE};
use crate::canonical;
use crate::catalog::{Catalog, CatalogPin, CatalogSet, Permission, PricingModel};
use crate::error::{Code, Error, Result};
use crate::json::{self, JsonLimits, NonFinite, ParseOptions};
use crate::keys::{PublicKey, Signature, SigningKey};
use crate::time::Timestamp;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashSet};

/// The `format` of a receipt (signed; domain separation from other gate-signed objects).
pub const RECEIPT_FORMAT: &str = "modei.receipt.v1";
/// The `format` of an agent proof of possession (signed by the agent key).
pub const POP_FORMAT: &str = "modei.pop.v1";
/// Default largest distance between the PoP timestamp and the receipt's `issued_at`: 300 s.
pub const DEFAULT_POP_WINDOW_MS: i64 = 300_000;
const MAX_RECEIPT_BYTES: usize = 16 * 1024;
const MAX_ID: usize = 256;

fn invalid(d: impl Into<String>) -> Error {
    Error::new(Code::ReceiptInvalid, d)
}

/// How a billable call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Delivered: billed in full for `quantity`.
    Success,
    /// Failed on the gate's side: not billed.
    Error,
    /// Timed out (SLA): not billed.
    Timeout,
    /// Partly delivered: billed for the `quantity` actually delivered.
    Partial,
}

impl Outcome {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Error => "error",
            Outcome::Timeout => "timeout",
            Outcome::Partial => "partial",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "success" => Outcome::Success,
            "error" => Outcome::Error,
            "timeout" => Outcome::Timeout,
            "partial" => Outcome::Partial,
            _ => return None,
        })
    }

    /// Whether this outcome is billed.
    pub fn is_billable(self) -> bool {
        matches!(self, Outcome::Success | Outcome::Partial)
    }
}

/// `ceil(cost_cents × basis_points / 10000)`, exactly (no floats). Failure: `invalid_argument`
/// for basis points above 10000.
pub fn platform_fee_cents(cost_cents: u64, basis_points: u64) -> Result<u64> {
    if basis_points > 10_000 {
        return Err(Error::new(
            Code::InvalidArgument,
            format!("platform fee {basis_points} basis points is above 10000"),
        ));
    }
    let n = u128::from(cost_cents) * u128::from(basis_points);
    // n ≤ cost_cents × 10000, so the quotient ≤ cost_cents fits u64.
    Ok(u64::try_from(n.div_ceil(10_000)).unwrap_or(u64::MAX))
}

/// Minutes billed for a duration under `per_minute` pricing: started minutes, `ceil(ms / 60000)`.
pub fn billable_minutes(duration_ms: u64) -> u64 {
    duration_ms.div_ceil(60_000)
}

/// The money side of one receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The pricing model applied.
    pub model: PricingModel,
    /// Price per unit (call or minute) in cents.
    pub unit_price_cents: u64,
    /// Units covered by the free tier (per-call pricing only).
    pub free_units: u64,
    /// `unit_price_cents × (quantity − free_units)` for billable outcomes, else 0.
    pub cost_cents: u64,
    /// The platform fee rate.
    pub platform_fee_basis_points: u64,
    /// `ceil(cost_cents × basis_points / 10000)`.
    pub platform_fee_cents: u64,
    /// ISO 4217 currency.
    pub currency: String,
}

/// Computes the charge for `quantity` units (calls, or started minutes for `per_minute`) of
/// `permission` with `outcome`, when the passport has already used `calls_before` calls of the
/// free tier in the billing period. Subscription and free permissions cost 0 per call
/// (subscriptions are billed per period, outside receipts). Failure: `limit_exceeded` when the
/// cost would exceed 2^53 − 1 cents.
pub fn compute_charge(
    permission: &Permission,
    outcome: Outcome,
    quantity: u64,
    calls_before: u64,
) -> Result<Charge> {
    let pricing = permission.pricing();
    let fee = permission.platform_fee();
    let free_units = if outcome.is_billable() && pricing.model == PricingModel::PerCall {
        quantity.min(pricing.free_tier_calls.saturating_sub(calls_before))
    } else {
        0
    };
    let cost_cents = if outcome.is_billable() {
        charge_cost(pricing.unit_price_cents, quantity, free_units)?
    } else {
        0
    };
    Ok(Charge {
        model: pricing.model,
        unit_price_cents: pricing.unit_price_cents,
        free_units,
        cost_cents,
        platform_fee_basis_points: fee.basis_points,
        platform_fee_cents: platform_fee_cents(cost_cents, fee.basis_points)?,
        currency: pricing.currency,
    })
}

fn charge_cost(unit: u64, quantity: u64, free_units: u64) -> Result<u64> {
    unit.checked_mul(quantity.saturating_sub(free_units))
        .filter(|c| *c <= MAX_SEQUENCE)
        .ok_or_else(|| Error::new(Code::LimitExceeded, "cost exceeds 2^53 - 1 cents"))
}

// ------------------------------------------------------------------------------------------
// Proof of possession

/// The agent's proof of possession for a billable call: it proves the passport's key holder
/// made this request, against this catalog, at this time, once (the nonce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPop {
    /// The agent's public key (must be the passport's key; the verifier checks that).
    pub public_key: PublicKey,
    /// The gate called.
    pub gate_id: String,
    /// The passport used.
    pub passport_id: String,
    /// The action (permission key) requested.
    pub action: String,
    /// When the agent signed (Unix ms on the wire).
    pub timestamp: Timestamp,
    /// A one-time value chosen by the agent (1..=128 bytes, no control characters).
    pub nonce: String,
    /// The content hash of the catalog the agent's passport pins.
    pub catalog_content_hash: String,
    /// Hex SHA-256 of the request payload.
    pub payload_hash: String,
    /// Ed25519 by the agent key over [`AgentPop::signing_input`].
    pub signature: Signature,
}

impl AgentPop {
    /// Signs a proof of possession with the agent key.
    /// Failure: `invalid_argument` (a field breaks the rules).
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        agent_key: &SigningKey,
        gate_id: &str,
        passport_id: &str,
        action: &str,
        timestamp: Timestamp,
        nonce: &str,
        catalog_content_hash: &str,
        payload_hash: &str,
    ) -> Result<AgentPop> {
        let mut pop = AgentPop {
            public_key: agent_key.public_key(),
            gate_id: gate_id.to_owned(),
            passport_id: passport_id.to_owned(),
            action: action.to_owned(),
            timestamp,
            nonce: nonce.to_owned(),
            catalog_content_hash: catalog_content_hash.to_owned(),
            payload_hash: payload_hash.to_owned(),
            signature: Signature::from([0u8; 64]),
        };
        pop.validate(Code::InvalidArgument)?;
        pop.signature = agent_key.sign(&pop.signing_input());
        Ok(pop)
    }

    fn validate(&self, code: Code) -> Result<()> {
        check_id(code, "agent_pop.gate_id", &self.gate_id, MAX_ID)?;
        check_id(code, "agent_pop.passport_id", &self.passport_id, MAX_ID)?;
        check_id(code, "agent_pop.action", &self.action, MAX_ID)?;
        check_id(code, "agent_pop.nonce", &self.nonce, 128)?;
        for (n, h) in [
            ("agent_pop.catalog_content_hash", &self.catalog_content_hash),
            ("agent_pop.payload_hash", &self.payload_hash),
        ] {
            if !is_hex64(h) {
                return Err(Error::new(
                    code,
                    format!("{n} is not 64 lowercase hex digits"),
                ));
            }
        }
        if !(0..=MAX_SEQUENCE as i64).contains(&self.timestamp.unix_millis()) {
            return Err(Error::new(code, "agent_pop.timestamp is out of range"));
        }
        Ok(())
    }

    /// The signed bytes: RFC 8785 of `{action, catalog_content_hash, format: "modei.pop.v1",
    /// gate_id, nonce, passport_id, payload_hash, timestamp}`.
    pub fn signing_input(&self) -> Vec<u8> {
        canonical::canonicalize(&json!({
            "format": POP_FORMAT,
            "action": self.action,
            "catalog_content_hash": self.catalog_content_hash,
            "gate_id": self.gate_id,
            "nonce": self.nonce,
            "passport_id": self.passport_id,
            "payload_hash": self.payload_hash,
            "timestamp": self.timestamp.unix_millis(),
        }))
    }

    /// Verifies the signature against the embedded public key. Failure: `receipt_invalid`.
    pub fn verify(&self) -> Result<()> {
        self.public_key
            .verify_strict(&self.signing_input(), &self.signature)
            .map_err(|e| invalid(format!("agent_pop signature: {}", e.detail())))
    }

    /// As JSON (the signing-input members plus `public_key` and `signature`, base64url).
    pub fn to_value(&self) -> Value {
        let mut v = json!({
            "format": POP_FORMAT,
            "action": self.action,
            "catalog_content_hash": self.catalog_content_hash,
            "gate_id": self.gate_id,
            "nonce": self.nonce,
            "passport_id": self.passport_id,
            "payload_hash": self.payload_hash,
            "timestamp": self.timestamp.unix_millis(),
        });
        if let Value::Object(o) = &mut v {
            o.insert("public_key".into(), json!(self.public_key.to_base64url()));
            o.insert("signature".into(), json!(self.signature.to_base64url()));
        }
        v
    }

    /// Reads the JSON form. Failure: `receipt_invalid`.
    pub fn from_value(v: &Value) -> Result<AgentPop> {
        const KEYS: &[&str] = &[
            "action",
            "catalog_content_hash",
            "format",
            "gate_id",
            "nonce",
            "passport_id",
            "payload_hash",
            "public_key",
            "signature",
            "timestamp",
        ];
        let o = v
            .as_object()
            .ok_or_else(|| invalid("agent_pop is not an object"))?;
        if o.len() != KEYS.len() || !KEYS.iter().all(|k| o.contains_key(*k)) {
            return Err(invalid(format!(
                "agent_pop members must be exactly {KEYS:?}"
            )));
        }
        let s = |k: &str| {
            o.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("agent_pop.{k} is not a string")))
        };
        if s("format")? != POP_FORMAT {
            return Err(invalid(format!("agent_pop.format is not {POP_FORMAT:?}")));
        }
        let pop = AgentPop {
            public_key: PublicKey::from_base64url(s("public_key")?)
                .map_err(|e| invalid(format!("agent_pop.public_key: {}", e.detail())))?,
            gate_id: s("gate_id")?.to_owned(),
            passport_id: s("passport_id")?.to_owned(),
            action: s("action")?.to_owned(),
            timestamp: o
                .get("timestamp")
                .and_then(Value::as_i64)
                .map(Timestamp::from_unix_millis)
                .ok_or_else(|| invalid("agent_pop.timestamp is not an integer (Unix ms)"))?,
            nonce: s("nonce")?.to_owned(),
            catalog_content_hash: s("catalog_content_hash")?.to_owned(),
            payload_hash: s("payload_hash")?.to_owned(),
            signature: Signature::from_base64url(s("signature")?)
                .map_err(|e| invalid(format!("agent_pop.signature: {}", e.detail())))?,
        };
        pop.validate(Code::ReceiptInvalid)?;
        Ok(pop)
    }
}

// ------------------------------------------------------------------------------------------
// Receipts

/// What the gate knows about one billable call.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptDraft<'a> {
    /// The passport.
    pub passport_id: &'a str,
    /// The agent.
    pub agent_id: &'a str,
    /// The permission used.
    pub permission_key: &'a str,
    /// The `allow` attestation this call ran under, if any.
    pub attestation_id: Option<&'a str>,
    /// The outcome.
    pub outcome: Outcome,
    /// Units delivered: calls, or started minutes under `per_minute`.
    pub quantity: u64,
    /// Free-tier calls the passport already used in the period.
    pub calls_before: u64,
    /// Hex SHA-256 of the request payload (must equal the PoP's `payload_hash`).
    pub request_payload_hash: &'a str,
    /// Hex SHA-256 of the response payload, if any.
    pub response_payload_hash: Option<&'a str>,
    /// When the gate issues the receipt.
    pub issued_at: Timestamp,
    /// An explicit receipt id; `None` derives `rcpt_` + 32 hex from `(gate_id, passport_id,
    /// nonce)`.
    pub receipt_id: Option<&'a str>,
}

/// A signed consumption receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// Receipt id.
    pub receipt_id: String,
    /// The gate.
    pub gate_id: String,
    /// The gate key that signed.
    pub key_id: String,
    /// The passport.
    pub passport_id: String,
    /// The agent.
    pub agent_id: String,
    /// The permission used.
    pub permission_key: String,
    /// The attestation of the decision, if any.
    pub attestation_id: Option<String>,
    /// The pinned catalog (content hash always present).
    pub catalog: CatalogPin,
    /// The outcome.
    pub outcome: Outcome,
    /// Units delivered.
    pub quantity: u64,
    /// The charge.
    pub charge: Charge,
    /// Hex SHA-256 of the request payload.
    pub request_payload_hash: String,
    /// Hex SHA-256 of the response payload.
    pub response_payload_hash: Option<String>,
    /// When issued.
    pub issued_at: Timestamp,
    /// The agent's proof of possession.
    pub agent_pop: AgentPop,
    /// Ed25519 by the gate key over [`Receipt::signed_bytes`].
    pub signature: Signature,
}

const RECEIPT_KEYS: &[&str] = &[
    "agent_id",
    "agent_pop",
    "attestation_id",
    "catalog",
    "cost_cents",
    "currency",
    "format",
    "free_units",
    "gate_id",
    "issued_at",
    "key_id",
    "outcome",
    "passport_id",
    "permission_key",
    "platform_fee_basis_points",
    "platform_fee_cents",
    "pricing_model",
    "quantity",
    "receipt_id",
    "request_payload_hash",
    "response_payload_hash",
    "signature",
    "unit_price_cents",
];

impl Receipt {
    /// Issues a receipt: checks the PoP (signature, context, catalog hash, payload hash, and
    /// that its timestamp is within `pop_window_ms` of `issued_at`), computes the charge from
    /// `catalog` and signs. The caller has already checked the PoP key is the passport's and
    /// the nonce is fresh (its replay store). Failures: `receipt_invalid` (the PoP),
    /// `catalog_pin_unknown` (no such permission), `invalid_argument`, `limit_exceeded`.
    pub fn issue(
        draft: &ReceiptDraft<'_>,
        catalog: &Catalog,
        pop: AgentPop,
        signer: &Attestor,
        pop_window_ms: i64,
    ) -> Result<Receipt> {
        if catalog.gate_id() != signer.gate_id() {
            return Err(Error::new(
                Code::InvalidArgument,
                "the catalog belongs to another gate than the signer",
            ));
        }
        let permission = catalog.permission(draft.permission_key).ok_or_else(|| {
            Error::new(
                Code::CatalogPinUnknown,
                format!(
                    "catalog version {} has no permission {:?}",
                    catalog.version(),
                    draft.permission_key
                ),
            )
        })?;
        let charge = compute_charge(
            permission,
            draft.outcome,
            draft.quantity,
            draft.calls_before,
        )?;
        let receipt_id = match draft.receipt_id {
            Some(id) => id.to_owned(),
            None => default_receipt_id(signer.gate_id(), draft.passport_id, &pop.nonce),
        };
        let mut r = Receipt {
            receipt_id,
            gate_id: signer.gate_id().to_owned(),
            key_id: signer.key_id().to_owned(),
            passport_id: draft.passport_id.to_owned(),
            agent_id: draft.agent_id.to_owned(),
            permission_key: draft.permission_key.to_owned(),
            attestation_id: draft.attestation_id.map(str::to_owned),
            catalog: catalog.pin(),
            outcome: draft.outcome,
            quantity: draft.quantity,
            charge,
            request_payload_hash: draft.request_payload_hash.to_owned(),
            response_payload_hash: draft.response_payload_hash.map(str::to_owned),
            issued_at: draft.issued_at,
            agent_pop: pop,
            signature: Signature::from([0u8; 64]),
        };
        r.validate(Code::InvalidArgument)?;
        r.check_pop(pop_window_ms)?;
        r.signature = signer.sign_raw(&r.signed_bytes()?);
        Ok(r)
    }

    fn validate(&self, code: Code) -> Result<()> {
        check_id(code, "receipt_id", &self.receipt_id, MAX_ID)?;
        check_id(code, "gate_id", &self.gate_id, MAX_ID)?;
        check_id(code, "key_id", &self.key_id, MAX_ID)?;
        check_id(code, "passport_id", &self.passport_id, MAX_ID)?;
        check_id(code, "agent_id", &self.agent_id, MAX_ID)?;
        check_id(code, "permission_key", &self.permission_key, MAX_ID)?;
        if let Some(a) = &self.attestation_id {
            check_id(code, "attestation_id", a, MAX_ID)?;
        }
        if !is_hex64(&self.request_payload_hash) {
            return Err(Error::new(
                code,
                "request_payload_hash is not 64 lowercase hex digits",
            ));
        }
        if let Some(h) = &self.response_payload_hash {
            if !is_hex64(h) {
                return Err(Error::new(
                    code,
                    "response_payload_hash is not 64 lowercase hex digits",
                ));
            }
        }
        if self.catalog.content_hash.is_none() {
            return Err(Error::new(
                code,
                "catalog.content_hash is required on receipts",
            ));
        }
        if self.quantity > MAX_SEQUENCE {
            return Err(Error::new(code, "quantity exceeds 2^53 - 1"));
        }
        if self.charge.free_units > self.quantity {
            return Err(Error::new(code, "free_units exceeds quantity"));
        }
        self.issued_at
            .to_rfc3339_millis()
            .map_err(|e| Error::new(code, format!("issued_at: {}", e.detail())))?;
        Ok(())
    }

    /// The PoP must verify and belong to this call.
    fn check_pop(&self, window_ms: i64) -> Result<()> {
        let p = &self.agent_pop;
        p.verify()?;
        let mismatch = |what: &str| invalid(format!("agent_pop.{what} does not match the receipt"));
        if p.gate_id != self.gate_id {
            return Err(mismatch("gate_id"));
        }
        if p.passport_id != self.passport_id {
            return Err(mismatch("passport_id"));
        }
        if p.action != self.permission_key {
            return Err(mismatch("action"));
        }
        if Some(&p.catalog_content_hash) != self.catalog.content_hash.as_ref() {
            return Err(mismatch("catalog_content_hash"));
        }
        if p.payload_hash != self.request_payload_hash {
            return Err(mismatch("payload_hash"));
        }
        let skew = p
            .timestamp
            .unix_millis()
            .abs_diff(self.issued_at.unix_millis());
        if skew > window_ms.unsigned_abs() {
            return Err(invalid(format!(
                "agent_pop.timestamp is {skew} ms from issued_at; the window is {window_ms} ms"
            )));
        }
        Ok(())
    }

    fn to_value_inner(&self, with_signature: bool) -> Result<Value> {
        let c = &self.charge;
        let mut v = json!({
            "format": RECEIPT_FORMAT,
            "receipt_id": self.receipt_id,
            "gate_id": self.gate_id,
            "key_id": self.key_id,
            "passport_id": self.passport_id,
            "agent_id": self.agent_id,
            "permission_key": self.permission_key,
            "attestation_id": self.attestation_id,
            "catalog": self.catalog.to_value(),
            "outcome": self.outcome.as_str(),
            "quantity": self.quantity,
            "pricing_model": c.model.as_str(),
            "unit_price_cents": c.unit_price_cents,
            "free_units": c.free_units,
            "cost_cents": c.cost_cents,
            "platform_fee_basis_points": c.platform_fee_basis_points,
            "platform_fee_cents": c.platform_fee_cents,
            "currency": c.currency,
            "request_payload_hash": self.request_payload_hash,
            "response_payload_hash": self.response_payload_hash,
            "issued_at": self.issued_at.to_rfc3339_millis().map_err(|e| invalid(e.detail().to_owned()))?,
            "agent_pop": self.agent_pop.to_value(),
        });
        if with_signature {
            if let Value::Object(o) = &mut v {
                o.insert("signature".into(), json!(self.signature.to_base64url()));
            }
        }
        Ok(v)
    }

    /// RFC 8785 of the receipt without `signature` (what the gate signs).
    pub fn signed_bytes(&self) -> Result<Vec<u8>> {
        Ok(canonical::canonicalize(&self.to_value_inner(false)?))
    }

    /// The receipt as canonical JSON.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        Ok(canonical::canonicalize(&self.to_value_inner(true)?))
    }

    /// Reads a receipt (strict JSON, exact members). Signatures and money are checked by
    /// [`Receipt::verify`]. Failure: `receipt_invalid`.
    pub fn from_json(bytes: &[u8]) -> Result<Receipt> {
        let opts = ParseOptions {
            limits: JsonLimits {
                max_bytes: MAX_RECEIPT_BYTES,
                max_depth: 8,
            },
            reject_duplicates: true,
            non_finite: NonFinite::Reject,
        };
        let v = json::parse_with(bytes, &opts)
            .map_err(|e| invalid(format!("{}: {}", e.code(), e.detail())))?
            .value;
        let o: &Map<String, Value> = v.as_object().ok_or_else(|| invalid("not a JSON object"))?;
        if o.len() != RECEIPT_KEYS.len() || !RECEIPT_KEYS.iter().all(|k| o.contains_key(*k)) {
            return Err(invalid(format!("members must be exactly {RECEIPT_KEYS:?}")));
        }
        let s = |k: &str| {
            o.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| invalid(format!("{k} is not a string")))
        };
        let os = |k: &str| match o.get(k) {
            Some(Value::Null) => Ok(None),
            Some(Value::String(x)) => Ok(Some(x.clone())),
            _ => Err(invalid(format!("{k} is not a string or null"))),
        };
        let n = |k: &str| {
            o.get(k)
                .and_then(Value::as_u64)
                .filter(|x| *x <= MAX_SEQUENCE)
                .ok_or_else(|| invalid(format!("{k} is not an integer in 0..=2^53-1")))
        };
        if s("format")? != RECEIPT_FORMAT {
            return Err(invalid(format!("format is not {RECEIPT_FORMAT:?}")));
        }
        let issued_text = s("issued_at")?;
        let issued_at = Timestamp::parse_rfc3339(&issued_text)
            .map_err(|e| invalid(format!("issued_at: {}", e.detail())))?;
        if issued_at.to_rfc3339_millis().ok().as_deref() != Some(issued_text.as_str()) {
            return Err(invalid("issued_at is not YYYY-MM-DDTHH:MM:SS.mmmZ"));
        }
        let model = match s("pricing_model")?.as_str() {
            "free" => PricingModel::Free,
            "per_call" => PricingModel::PerCall,
            "per_minute" => PricingModel::PerMinute,
            "subscription" => PricingModel::Subscription,
            other => return Err(invalid(format!("pricing_model {other:?} is not known"))),
        };
        let r = Receipt {
            receipt_id: s("receipt_id")?,
            gate_id: s("gate_id")?,
            key_id: s("key_id")?,
            passport_id: s("passport_id")?,
            agent_id: s("agent_id")?,
            permission_key: s("permission_key")?,
            attestation_id: os("attestation_id")?,
            catalog: CatalogPin::from_value(o.get("catalog").unwrap_or(&Value::Null))
                .map_err(|e| invalid(format!("catalog: {}", e.detail())))?,
            outcome: Outcome::parse(&s("outcome")?)
                .ok_or_else(|| invalid("outcome is not success, error, timeout or partial"))?,
            quantity: n("quantity")?,
            charge: Charge {
                model,
                unit_price_cents: n("unit_price_cents")?,
                free_units: n("free_units")?,
                cost_cents: n("cost_cents")?,
                platform_fee_basis_points: n("platform_fee_basis_points")?,
                platform_fee_cents: n("platform_fee_cents")?,
                currency: s("currency")?,
            },
            request_payload_hash: s("request_payload_hash")?,
            response_payload_hash: os("response_payload_hash")?,
            issued_at,
            agent_pop: AgentPop::from_value(o.get("agent_pop").unwrap_or(&Value::Null))?,
            signature: Signature::from_base64url(&s("signature")?)
                .map_err(|e| invalid(format!("signature: {}", e.detail())))?,
        };
        r.validate(Code::ReceiptInvalid)?;
        Ok(r)
    }

    /// Verifies everything a counterparty can: the gate signature (trusted key for
    /// `(gate_id, key_id)`), the PoP (signature, that its key is `agent_key` — the passport's
    /// key, context, catalog and payload hashes, time window), that the catalog pinned is the
    /// one `catalog` holds, and that the charge recomputes exactly from it (model, unit price,
    /// currency, free units within the free tier, cost, fee rate, fee). Failures:
    /// `receipt_invalid`, `key_unknown`.
    pub fn verify(
        &self,
        gate_keys: &(impl GateKeys + ?Sized),
        agent_key: &PublicKey,
        catalog: &Catalog,
        pop_window_ms: i64,
    ) -> Result<()> {
        let key = gate_keys
            .gate_key(&self.gate_id, &self.key_id)
            .ok_or_else(|| {
                Error::new(
                    Code::KeyUnknown,
                    format!(
                        "no trusted key {:?} for gate {:?}",
                        self.key_id, self.gate_id
                    ),
                )
            })?;
        key.verify_strict(&self.signed_bytes()?, &self.signature)
            .map_err(|e| invalid(format!("gate signature: {}", e.detail())))?;
        if &self.agent_pop.public_key != agent_key {
            return Err(invalid("agent_pop.public_key is not the passport's key"));
        }
        self.check_pop(pop_window_ms)?;
        if catalog.pin() != self.catalog {
            return Err(invalid(format!(
                "the receipt pins catalog version {} / {:?}; the catalog given is version {} / {}",
                self.catalog.version,
                self.catalog.content_hash,
                catalog.version(),
                catalog.content_hash()
            )));
        }
        let perm = catalog.permission(&self.permission_key).ok_or_else(|| {
            invalid(format!(
                "catalog version {} has no permission {:?}",
                catalog.version(),
                self.permission_key
            ))
        })?;
        let pricing = perm.pricing();
        let fee = perm.platform_fee();
        let c = &self.charge;
        let bad =
            |what: &str| invalid(format!("{what} does not recompute from the pinned catalog"));
        if c.model != pricing.model {
            return Err(bad("pricing_model"));
        }
        if c.unit_price_cents != pricing.unit_price_cents {
            return Err(bad("unit_price_cents"));
        }
        if c.currency != pricing.currency {
            return Err(bad("currency"));
        }
        if c.platform_fee_basis_points != fee.basis_points {
            return Err(bad("platform_fee_basis_points"));
        }
        let free_ok = if self.outcome.is_billable() && pricing.model == PricingModel::PerCall {
            c.free_units <= pricing.free_tier_calls.min(self.quantity)
        } else {
            c.free_units == 0
        };
        if !free_ok {
            return Err(bad("free_units"));
        }
        let cost = if self.outcome.is_billable() {
            charge_cost(pricing.unit_price_cents, self.quantity, c.free_units)
                .map_err(|e| invalid(e.detail().to_owned()))?
        } else {
            0
        };
        if c.cost_cents != cost {
            return Err(bad("cost_cents"));
        }
        if c.platform_fee_cents != platform_fee_cents(cost, fee.basis_points)? {
            return Err(bad("platform_fee_cents"));
        }
        Ok(())
    }
}

fn default_receipt_id(gate_id: &str, passport_id: &str, nonce: &str) -> String {
    let mut buf = b"modei-receipt-id:".to_vec();
    buf.extend_from_slice(&canonical::canonicalize(&json!([
        gate_id,
        passport_id,
        nonce
    ])));
    let h = blake3::hash(&buf);
    let mut hex = [0u8; 32];
    crate::attestation::hex_into(&h.as_bytes()[..16], &mut hex);
    format!("rcpt_{}", String::from_utf8_lossy(&hex))
}

// ------------------------------------------------------------------------------------------
// Settlement

/// Totals for one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Verified receipts counted.
    pub receipts: u64,
    /// Units delivered (all outcomes).
    pub units: u64,
    /// Free-tier units.
    pub free_units: u64,
    /// Service cost in cents.
    pub cost_cents: u64,
    /// Platform fees in cents.
    pub platform_fee_cents: u64,
}

/// A settlement summary for one gate and period.
#[derive(Debug, Clone, PartialEq)]
pub struct SettlementSummary {
    /// The gate.
    pub gate_id: String,
    /// Period start (inclusive).
    pub period_start: Timestamp,
    /// Period end (exclusive).
    pub period_end: Timestamp,
    /// Receipts offered.
    pub receipts_seen: u64,
    /// Receipts outside the period (skipped, not invalid).
    pub out_of_period: u64,
    /// Receipts that failed verification (excluded).
    pub invalid: u64,
    /// The first few invalid receipts: index and error (at most 100 kept).
    pub invalid_samples: Vec<(u64, Error)>,
    /// Receipts counted, by outcome.
    pub by_outcome: BTreeMap<&'static str, u64>,
    /// Totals by currency.
    pub totals: BTreeMap<String, Totals>,
}

impl SettlementSummary {
    /// As JSON.
    pub fn to_value(&self) -> Result<Value> {
        let ts = |t: Timestamp| {
            t.to_rfc3339_millis()
                .map_err(|e| invalid(e.detail().to_owned()))
        };
        Ok(json!({
            "gate_id": self.gate_id,
            "period_start": ts(self.period_start)?,
            "period_end": ts(self.period_end)?,
            "receipts_seen": self.receipts_seen,
            "out_of_period": self.out_of_period,
            "invalid": self.invalid,
            "invalid_samples": self.invalid_samples.iter().map(|(i, e)| json!({
                "index": i, "code": e.code().as_str(), "detail": e.detail()
            })).collect::<Vec<_>>(),
            "by_outcome": self.by_outcome,
            "totals": self.totals.iter().map(|(c, t)| (c.clone(), json!({
                "receipts": t.receipts, "units": t.units, "free_units": t.free_units,
                "cost_cents": t.cost_cents, "platform_fee_cents": t.platform_fee_cents,
            }))).collect::<Map<String, Value>>(),
        }))
    }
}

/// Aggregates verified receipts of one gate over `[period_start, period_end)` (by `issued_at`).
/// Each receipt is verified in full ([`Receipt::verify`] against the catalog version it pins,
/// taken from `catalogs`, and the agent key `agent_keys` gives for its passport); invalid ones
/// — including another gate's, an unparsable one, a repeated receipt id, or a repeated
/// `(passport_id, nonce)` (replay) — are excluded and counted. Memory: the totals plus the
/// seen ids and nonces of the period.
pub struct Settlement<'a, G: GateKeys + ?Sized, A: Fn(&str) -> Option<PublicKey>> {
    catalogs: &'a CatalogSet,
    gate_keys: &'a G,
    agent_keys: A,
    pop_window_ms: i64,
    ids: HashSet<String>,
    nonces: HashSet<(String, String)>,
    summary: SettlementSummary,
}

impl<'a, G: GateKeys + ?Sized, A: Fn(&str) -> Option<PublicKey>> Settlement<'a, G, A> {
    /// Starts a settlement for `gate_id` over `[period_start, period_end)`.
    pub fn new(
        gate_id: &str,
        period_start: Timestamp,
        period_end: Timestamp,
        catalogs: &'a CatalogSet,
        gate_keys: &'a G,
        agent_keys: A,
    ) -> Self {
        Settlement {
            catalogs,
            gate_keys,
            agent_keys,
            pop_window_ms: DEFAULT_POP_WINDOW_MS,
            ids: HashSet::new(),
            nonces: HashSet::new(),
            summary: SettlementSummary {
                gate_id: gate_id.to_owned(),
                period_start,
                period_end,
                receipts_seen: 0,
                out_of_period: 0,
                invalid: 0,
                invalid_samples: Vec::new(),
                by_outcome: BTreeMap::new(),
                totals: BTreeMap::new(),
            },
        }
    }

    /// Sets the PoP window (default 300 s).
    pub fn pop_window_ms(mut self, ms: i64) -> Self {
        self.pop_window_ms = ms;
        self
    }

    fn reject(&mut self, index: u64, e: Error) {
        self.summary.invalid += 1;
        if self.summary.invalid_samples.len() < 100 {
            self.summary.invalid_samples.push((index, e));
        }
    }

    /// Adds one receipt given as JSON.
    pub fn add_json(&mut self, bytes: &[u8]) {
        match Receipt::from_json(bytes) {
            Ok(r) => self.add(&r),
            Err(e) => {
                let i = self.summary.receipts_seen;
                self.summary.receipts_seen += 1;
                self.reject(i, e);
            }
        }
    }

    /// Adds one receipt.
    pub fn add(&mut self, r: &Receipt) {
        let index = self.summary.receipts_seen;
        self.summary.receipts_seen += 1;
        if let Err(e) = self.check(r) {
            self.reject(index, e);
            return;
        }
        if r.issued_at < self.summary.period_start || r.issued_at >= self.summary.period_end {
            self.summary.out_of_period += 1;
            return;
        }
        if !self.ids.insert(r.receipt_id.clone()) {
            self.reject(
                index,
                invalid(format!("receipt_id {:?} repeats", r.receipt_id)),
            );
            return;
        }
        if !self
            .nonces
            .insert((r.passport_id.clone(), r.agent_pop.nonce.clone()))
        {
            self.reject(
                index,
                invalid(format!(
                    "passport {:?} reuses PoP nonce {:?} (replay)",
                    r.passport_id, r.agent_pop.nonce
                )),
            );
            return;
        }
        let t = self
            .summary
            .totals
            .entry(r.charge.currency.clone())
            .or_default();
        let sums = (|| {
            Some(Totals {
                receipts: t.receipts.checked_add(1)?,
                units: t.units.checked_add(r.quantity)?,
                free_units: t.free_units.checked_add(r.charge.free_units)?,
                cost_cents: t.cost_cents.checked_add(r.charge.cost_cents)?,
                platform_fee_cents: t
                    .platform_fee_cents
                    .checked_add(r.charge.platform_fee_cents)?,
            })
        })();
        match sums {
            Some(s) => *t = s,
            None => {
                self.reject(
                    index,
                    Error::new(Code::LimitExceeded, "totals overflow u64"),
                );
                return;
            }
        }
        *self
            .summary
            .by_outcome
            .entry(r.outcome.as_str())
            .or_default() += 1;
    }

    fn check(&self, r: &Receipt) -> Result<()> {
        if r.gate_id != self.summary.gate_id {
            return Err(invalid(format!("receipt of gate {:?}", r.gate_id)));
        }
        let catalog = self
            .catalogs
            .get(r.catalog.version)
            .ok_or_else(|| invalid(format!("catalog version {} is not held", r.catalog.version)))?;
        let agent = (self.agent_keys)(&r.passport_id)
            .ok_or_else(|| invalid(format!("no agent key for passport {:?}", r.passport_id)))?;
        r.verify(self.gate_keys, &agent, catalog, self.pop_window_ms)
    }

    /// The summary.
    pub fn finish(self) -> SettlementSummary {
        self.summary
    }
}
