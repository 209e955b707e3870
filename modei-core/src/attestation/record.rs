//! The attestation record: draft, signing, canonical bytes, parsing.

use super::{
    check_id, hex_into, is_hex64, push_json_str, push_u64, ChainHead, ChainKey, Decision, GateKeys,
    LinkHash, ATTESTATION_FORMAT, MAX_ID_BYTES, MAX_RECORD_BYTES, MAX_SEQUENCE, MAX_TARGET_BYTES,
    MAX_TERMS_BYTES,
};
use crate::canonical;
use crate::catalog::CatalogPin;
use crate::error::{Code, Error, Result};
use crate::json::{self, JsonLimits, NonFinite, ParseOptions};
use crate::keys::{PublicKey, Signature, SigningKey};
use crate::time::Timestamp;
use serde_json::{Map, Value};

/// What the gate knows about one decision; [`Attestor::attest`] turns it into a signed,
/// linked record. Borrowed, so building one costs nothing.
#[derive(Debug, Clone, Copy)]
pub struct AttestationDraft<'a> {
    /// The passport the decision is about (selects the chain).
    pub passport_id: &'a str,
    /// The agent holding the passport.
    pub agent_id: &'a str,
    /// The action requested (e.g. `flights:search`).
    pub action: &'a str,
    /// The decision.
    pub decision: Decision,
    /// When the gate decided.
    pub timestamp: Timestamp,
    /// The canonical target (e.g. `https://api.example.com/v1/search`), if any.
    pub target: Option<&'a str>,
    /// The reason code, if any (e.g. `rate_limit_exceeded`).
    pub reason: Option<&'a str>,
    /// Hex SHA-256 of the RFC 8785 constraint evaluations (see [`evaluations_digest`]).
    pub evaluations_digest: Option<&'a str>,
    /// Hex SHA-256 of the RFC 8785 request (see [`crate::canonical::content_hash`]).
    pub request_digest: Option<&'a str>,
    /// The catalog the passport pins, if any.
    pub catalog: Option<&'a CatalogPin>,
    /// Recorded commerce terms (the `core:pricing:*`, `core:sla:*`, `core:platform_fee:*`
    /// terms in force); must be a JSON object. `None` records `{}`.
    pub terms: Option<&'a Value>,
    /// An explicit attestation id; `None` derives one (see [`Attestor::attest`]).
    pub attestation_id: Option<&'a str>,
}

impl<'a> AttestationDraft<'a> {
    /// A draft with the required fields; the optional ones are `None`.
    pub fn new(
        passport_id: &'a str,
        agent_id: &'a str,
        action: &'a str,
        decision: Decision,
        timestamp: Timestamp,
    ) -> Self {
        AttestationDraft {
            passport_id,
            agent_id,
            action,
            decision,
            timestamp,
            target: None,
            reason: None,
            evaluations_digest: None,
            request_digest: None,
            catalog: None,
            terms: None,
            attestation_id: None,
        }
    }

    /// Sets the canonical target.
    pub fn target(mut self, target: &'a str) -> Self {
        self.target = Some(target);
        self
    }

    /// Sets the reason code.
    pub fn reason(mut self, reason: &'a str) -> Self {
        self.reason = Some(reason);
        self
    }

    /// Sets the evaluations digest (64 lowercase hex).
    pub fn evaluations_digest(mut self, digest: &'a str) -> Self {
        self.evaluations_digest = Some(digest);
        self
    }

    /// Sets the request digest (64 lowercase hex).
    pub fn request_digest(mut self, digest: &'a str) -> Self {
        self.request_digest = Some(digest);
        self
    }

    /// Sets the catalog pin.
    pub fn catalog(mut self, pin: &'a CatalogPin) -> Self {
        self.catalog = Some(pin);
        self
    }

    /// Sets the recorded terms (a JSON object).
    pub fn terms(mut self, terms: &'a Value) -> Self {
        self.terms = Some(terms);
        self
    }

    /// Sets an explicit attestation id.
    pub fn attestation_id(mut self, id: &'a str) -> Self {
        self.attestation_id = Some(id);
        self
    }
}

/// The digest recorded as `evaluations_digest`: hex SHA-256 of the RFC 8785 form of the
/// gate's constraint evaluations (whatever JSON the gate's evaluator reports).
pub fn evaluations_digest(evaluations: &Value) -> String {
    canonical::content_hash(evaluations)
}

/// The signed content of a record (everything but the signature), owned.
#[derive(Debug, Clone, PartialEq)]
pub struct AttestationBody {
    /// Unique id (`att_` + 32 hex by default).
    pub attestation_id: String,
    /// The gate that decided and signed.
    pub gate_id: String,
    /// The id of the gate key that signed.
    pub key_id: String,
    /// The passport the decision is about.
    pub passport_id: String,
    /// The agent holding the passport.
    pub agent_id: String,
    /// Position in the `(gate_id, passport_id)` chain, from 1.
    pub sequence: u64,
    /// Link hash of the previous record of the chain (the genesis value for sequence 1).
    pub prev_hash: LinkHash,
    /// The action requested.
    pub action: String,
    /// The canonical target.
    pub target: Option<String>,
    /// The decision (canonical; legacy spellings are mapped when reading).
    pub decision: Decision,
    /// The reason code.
    pub reason: Option<String>,
    /// Hex SHA-256 of the RFC 8785 evaluations.
    pub evaluations_digest: Option<String>,
    /// Hex SHA-256 of the RFC 8785 request.
    pub request_digest: Option<String>,
    /// The pinned catalog.
    pub catalog: Option<CatalogPin>,
    /// When the gate decided (written `YYYY-MM-DDTHH:MM:SS.mmmZ`).
    pub timestamp: Timestamp,
    /// Recorded terms: always a JSON object.
    pub terms: Value,
}

/// A sealed, signed attestation record. Immutable: its canonical bytes, link hash and
/// signature are computed once and always agree with its body.
#[derive(Debug, Clone, PartialEq)]
pub struct Attestation {
    body: AttestationBody,
    /// The decision spelling the signature covers (canonical, or legacy when read back).
    decision_wire: &'static str,
    signature: Signature,
    signed: Vec<u8>,
    sig_at: usize,
    hash: LinkHash,
}

impl Attestation {
    /// The signed content.
    pub fn body(&self) -> &AttestationBody {
        &self.body
    }

    /// The signature (Ed25519 by the gate key over [`Attestation::signed_bytes`]).
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The RFC 8785 bytes of the record without `signature`: what is signed and hashed.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.signed
    }

    /// BLAKE3 of the signed bytes: what the next record's `prev_hash` must be.
    pub fn link_hash(&self) -> LinkHash {
        self.hash
    }

    /// The chain head this record establishes.
    pub fn head(&self) -> ChainHead {
        ChainHead {
            sequence: self.body.sequence,
            hash: self.hash,
        }
    }

    /// The chain this record belongs to.
    pub fn chain_key(&self) -> ChainKey {
        ChainKey::new(&self.body.gate_id, &self.body.passport_id)
    }

    /// The decision spelling as signed (`allow`, ... or a legacy one for old records).
    pub fn decision_as_signed(&self) -> &'static str {
        self.decision_wire
    }

    /// The record as one JSON line (no trailing newline). It is itself RFC 8785 canonical
    /// (the `signature` member sits in its sorted place), and re-reading it gives back an equal
    /// record.
    pub fn to_json_line(&self) -> Vec<u8> {
        let sig = self.signature.to_base64url();
        let mut out = Vec::with_capacity(self.signed.len() + sig.len() + 16);
        self.write_json_line(&mut out, &sig);
        out
    }

    fn write_json_line(&self, out: &mut Vec<u8>, sig_b64url: &str) {
        let (head, tail) = self.signed.split_at(self.sig_at.min(self.signed.len()));
        out.extend_from_slice(head);
        out.extend_from_slice(b",\"signature\":\"");
        out.extend_from_slice(sig_b64url.as_bytes());
        out.push(b'"');
        out.extend_from_slice(tail);
    }

    /// Appends the JSON line and a newline to `out` (for writers).
    pub fn append_json_line(&self, out: &mut Vec<u8>) {
        let sig = self.signature.to_base64url();
        self.write_json_line(out, &sig);
        out.push(b'\n');
    }

    /// The record as a JSON value (with `signature`).
    pub fn to_value(&self) -> Value {
        // The line is produced by this module and always parses; fall back to Null defensively.
        json::parse_with(&self.to_json_line(), &record_parse_options())
            .map(|p| p.value)
            .unwrap_or(Value::Null)
    }

    /// Verifies the signature against the key the caller trusts for `(gate_id, key_id)`.
    /// Failures: `key_unknown` (no such trusted key), `attestation_signature_invalid`.
    pub fn verify(&self, keys: &(impl GateKeys + ?Sized)) -> Result<()> {
        let key = keys
            .gate_key(&self.body.gate_id, &self.body.key_id)
            .ok_or_else(|| {
                Error::new(
                    Code::KeyUnknown,
                    format!(
                        "no trusted key {:?} for gate {:?}",
                        self.body.key_id, self.body.gate_id
                    ),
                )
            })?;
        self.verify_with(&key)
    }

    /// Verifies the signature against `key`. Failure: `attestation_signature_invalid`.
    pub fn verify_with(&self, key: &PublicKey) -> Result<()> {
        key.verify_strict(&self.signed, &self.signature)
            .map_err(|e| {
                Error::new(
                    Code::AttestationSignatureInvalid,
                    format!(
                        "attestation {:?} (sequence {}): {}",
                        self.body.attestation_id,
                        self.body.sequence,
                        e.detail()
                    ),
                )
            })
    }

    /// Reads one record (a JSON object, whitespace allowed) with the strict reader.
    /// Legacy decision spellings are accepted and mapped. Failure: `attestation_malformed`.
    /// The signature is not checked here (see [`Attestation::verify`]).
    pub fn from_json(bytes: &[u8]) -> Result<Attestation> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(malformed(format!(
                "record is {} bytes; the limit is {MAX_RECORD_BYTES}",
                bytes.len()
            )));
        }
        let parsed = json::parse_with(bytes, &record_parse_options())
            .map_err(|e| malformed(format!("{}: {}", e.code(), e.detail())))?;
        Attestation::from_value(parsed.value)
    }

    /// Reads one record from a parsed JSON value. See [`Attestation::from_json`].
    pub fn from_value(value: Value) -> Result<Attestation> {
        let Value::Object(mut obj) = value else {
            return Err(malformed("record is not a JSON object".into()));
        };
        for k in obj.keys() {
            if !FIELDS.contains(&k.as_str()) {
                return Err(malformed(format!("unknown member {k:?}")));
            }
        }
        for f in FIELDS {
            if !obj.contains_key(*f) {
                return Err(malformed(format!("missing member {f:?}")));
            }
        }
        let format = take_str(&mut obj, "format")?;
        if format != ATTESTATION_FORMAT {
            return Err(malformed(format!(
                "format is {format:?}, expected {ATTESTATION_FORMAT:?}"
            )));
        }
        let decision_text = take_str(&mut obj, "decision")?;
        let (decision, decision_wire) = Decision::parse_wire(&decision_text)
            .ok_or_else(|| malformed(format!("decision {decision_text:?} is not known")))?;
        let prev_text = take_str(&mut obj, "prev_hash")?;
        let prev_hash = LinkHash::from_hex(&prev_text)
            .ok_or_else(|| malformed("prev_hash is not 64 lowercase hex digits".into()))?;
        let sequence = take_u64(&mut obj, "sequence")?;
        let ts_text = take_str(&mut obj, "timestamp")?;
        let timestamp = Timestamp::parse_rfc3339(&ts_text)
            .map_err(|e| malformed(format!("timestamp: {}", e.detail())))?;
        if timestamp.to_rfc3339_millis().ok().as_deref() != Some(ts_text.as_str()) {
            return Err(malformed(format!(
                "timestamp {ts_text:?} is not in the form YYYY-MM-DDTHH:MM:SS.mmmZ"
            )));
        }
        let sig_text = take_str(&mut obj, "signature")?;
        let signature = Signature::from_base64url(&sig_text)
            .map_err(|e| malformed(format!("signature: {}", e.detail())))?;
        let catalog = match obj.remove("catalog") {
            Some(Value::Null) | None => None,
            Some(v) => Some(
                CatalogPin::from_value(&v)
                    .map_err(|e| malformed(format!("catalog: {}", e.detail())))?,
            ),
        };
        let terms = match obj.remove("terms") {
            Some(v @ Value::Object(_)) => v,
            _ => return Err(malformed("terms is not a JSON object".into())),
        };
        let body = AttestationBody {
            attestation_id: take_str(&mut obj, "attestation_id")?,
            gate_id: take_str(&mut obj, "gate_id")?,
            key_id: take_str(&mut obj, "key_id")?,
            passport_id: take_str(&mut obj, "passport_id")?,
            agent_id: take_str(&mut obj, "agent_id")?,
            sequence,
            prev_hash,
            action: take_str(&mut obj, "action")?,
            target: take_opt_str(&mut obj, "target")?,
            decision,
            reason: take_opt_str(&mut obj, "reason")?,
            evaluations_digest: take_opt_str(&mut obj, "evaluations_digest")?,
            request_digest: take_opt_str(&mut obj, "request_digest")?,
            catalog,
            timestamp,
            terms,
        };
        validate_body(&body).map_err(|e| malformed(e.detail().to_owned()))?;
        let mut signed = Vec::with_capacity(512);
        let sig_at = write_signed(&body, decision_wire, &mut signed);
        let hash = LinkHash::of(&signed);
        Ok(Attestation {
            body,
            decision_wire,
            signature,
            signed,
            sig_at,
            hash,
        })
    }
}

/// Every member of a record, sorted as RFC 8785 sorts them.
const FIELDS: &[&str] = &[
    "action",
    "agent_id",
    "attestation_id",
    "catalog",
    "decision",
    "evaluations_digest",
    "format",
    "gate_id",
    "key_id",
    "passport_id",
    "prev_hash",
    "reason",
    "request_digest",
    "sequence",
    "signature",
    "target",
    "terms",
    "timestamp",
];

pub(crate) fn record_parse_options() -> ParseOptions {
    ParseOptions {
        limits: JsonLimits {
            max_bytes: MAX_RECORD_BYTES,
            max_depth: 32,
        },
        reject_duplicates: true,
        non_finite: NonFinite::Reject,
    }
}

fn malformed(detail: String) -> Error {
    Error::new(Code::AttestationMalformed, detail)
}

fn take_str(obj: &mut Map<String, Value>, name: &str) -> Result<String> {
    match obj.remove(name) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(malformed(format!("{name} is not a string"))),
    }
}

fn take_opt_str(obj: &mut Map<String, Value>, name: &str) -> Result<Option<String>> {
    match obj.remove(name) {
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Null) => Ok(None),
        _ => Err(malformed(format!("{name} is not a string or null"))),
    }
}

fn take_u64(obj: &mut Map<String, Value>, name: &str) -> Result<u64> {
    match obj.remove(name).as_ref().and_then(Value::as_u64) {
        Some(n) => Ok(n),
        None => Err(malformed(format!("{name} is not a non-negative integer"))),
    }
}

/// The field rules shared by creation and reading (creation reports `invalid_argument`,
/// reading `attestation_malformed`).
fn validate_body(b: &AttestationBody) -> Result<()> {
    let c = Code::InvalidArgument;
    check_id(c, "attestation_id", &b.attestation_id, MAX_ID_BYTES)?;
    check_id(c, "gate_id", &b.gate_id, MAX_ID_BYTES)?;
    check_id(c, "key_id", &b.key_id, MAX_ID_BYTES)?;
    check_id(c, "passport_id", &b.passport_id, MAX_ID_BYTES)?;
    check_id(c, "agent_id", &b.agent_id, MAX_ID_BYTES)?;
    check_id(c, "action", &b.action, MAX_ID_BYTES)?;
    if let Some(t) = &b.target {
        check_id(c, "target", t, MAX_TARGET_BYTES)?;
    }
    if let Some(r) = &b.reason {
        check_id(c, "reason", r, MAX_ID_BYTES)?;
    }
    for (name, d) in [
        ("evaluations_digest", &b.evaluations_digest),
        ("request_digest", &b.request_digest),
    ] {
        if let Some(d) = d {
            if !is_hex64(d) {
                return Err(Error::new(
                    c,
                    format!("{name} is not 64 lowercase hex digits (SHA-256)"),
                ));
            }
        }
    }
    if b.sequence == 0 || b.sequence > MAX_SEQUENCE {
        return Err(Error::new(
            c,
            format!("sequence {} is outside 1..=2^53-1", b.sequence),
        ));
    }
    if let Some(pin) = &b.catalog {
        pin.validate()?;
    }
    match &b.terms {
        Value::Object(m) if m.is_empty() => {}
        Value::Object(_) => {
            let len = canonical::canonical_len(&b.terms);
            if len > MAX_TERMS_BYTES {
                return Err(Error::new(
                    c,
                    format!("terms are {len} canonical bytes; the limit is {MAX_TERMS_BYTES}"),
                ));
            }
            // The terms must read back unchanged under the strict reader: bounded depth and
            // integers that a double holds exactly (RFC 8785 would silently round others).
            check_terms_value(&b.terms, 1)?;
        }
        _ => return Err(Error::new(c, "terms is not a JSON object")),
    }
    Ok(())
}

fn check_terms_value(v: &Value, depth: usize) -> Result<()> {
    const MAX_DEPTH: usize = 16;
    const EXACT: u64 = 1 << 53;
    let c = Code::InvalidArgument;
    if depth > MAX_DEPTH {
        return Err(Error::new(c, format!("terms nest deeper than {MAX_DEPTH}")));
    }
    match v {
        Value::Number(n) => {
            let exact = match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => u <= EXACT,
                (None, Some(i)) => i.unsigned_abs() <= EXACT,
                (None, None) => n.as_f64().is_some_and(f64::is_finite),
            };
            if !exact {
                return Err(Error::new(
                    c,
                    format!("terms: the number {n} is not exactly representable as a double"),
                ));
            }
        }
        Value::Array(items) => {
            for i in items {
                check_terms_value(i, depth + 1)?;
            }
        }
        Value::Object(m) => {
            for i in m.values() {
                check_terms_value(i, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn push_opt_str(out: &mut Vec<u8>, s: &Option<String>) {
    match s {
        Some(s) => push_json_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Writes the RFC 8785 bytes of the record without `signature`; returns the offset where the
/// `signature` member goes in the full (also canonical) line.
fn write_signed(b: &AttestationBody, decision_wire: &str, out: &mut Vec<u8>) -> usize {
    out.extend_from_slice(b"{\"action\":");
    push_json_str(out, &b.action);
    out.extend_from_slice(b",\"agent_id\":");
    push_json_str(out, &b.agent_id);
    out.extend_from_slice(b",\"attestation_id\":");
    push_json_str(out, &b.attestation_id);
    out.extend_from_slice(b",\"catalog\":");
    match &b.catalog {
        None => out.extend_from_slice(b"null"),
        Some(pin) => pin.write_canonical(out),
    }
    out.extend_from_slice(b",\"decision\":");
    push_json_str(out, decision_wire);
    out.extend_from_slice(b",\"evaluations_digest\":");
    push_opt_str(out, &b.evaluations_digest);
    out.extend_from_slice(b",\"format\":\"");
    out.extend_from_slice(ATTESTATION_FORMAT.as_bytes());
    out.extend_from_slice(b"\",\"gate_id\":");
    push_json_str(out, &b.gate_id);
    out.extend_from_slice(b",\"key_id\":");
    push_json_str(out, &b.key_id);
    out.extend_from_slice(b",\"passport_id\":");
    push_json_str(out, &b.passport_id);
    out.extend_from_slice(b",\"prev_hash\":\"");
    let mut hex = [0u8; 64];
    hex_into(&b.prev_hash.0, &mut hex);
    out.extend_from_slice(&hex);
    out.extend_from_slice(b"\",\"reason\":");
    push_opt_str(out, &b.reason);
    out.extend_from_slice(b",\"request_digest\":");
    push_opt_str(out, &b.request_digest);
    out.extend_from_slice(b",\"sequence\":");
    push_u64(out, b.sequence);
    let sig_at = out.len();
    out.extend_from_slice(b",\"target\":");
    push_opt_str(out, &b.target);
    out.extend_from_slice(b",\"terms\":");
    canonical::canonicalize_into(out, &b.terms);
    out.extend_from_slice(b",\"timestamp\":\"");
    write_timestamp(out, b.timestamp);
    out.extend_from_slice(b"\"}");
    sig_at
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, validated in advance (years 0000..=9999).
fn write_timestamp(out: &mut Vec<u8>, t: Timestamp) {
    // Validation guarantees this succeeds; an unreachable failure writes an empty string,
    // which then fails to read back rather than panicking.
    super::push_rfc3339_millis(out, t);
}

/// A gate's signer: its id, key id and signing key. Pure (no state): the caller supplies the
/// chain head and stores the new one, which lets the gate make "sign + advance head" atomic
/// with its own state store.
#[derive(Clone)]
pub struct Attestor {
    key: SigningKey,
    gate_id: String,
    key_id: String,
}

impl std::fmt::Debug for Attestor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attestor")
            .field("gate_id", &self.gate_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Attestor {
    /// A signer for gate `gate_id` with key `key` published under `key_id`.
    /// Failure: `invalid_argument` for an empty, over-long or control-character id.
    pub fn new(gate_id: &str, key_id: &str, key: SigningKey) -> Result<Attestor> {
        check_id(Code::InvalidArgument, "gate_id", gate_id, MAX_ID_BYTES)?;
        check_id(Code::InvalidArgument, "key_id", key_id, MAX_ID_BYTES)?;
        Ok(Attestor {
            key,
            gate_id: gate_id.to_owned(),
            key_id: key_id.to_owned(),
        })
    }

    /// A signer whose key id is the key's RFC 7638 JWK thumbprint.
    pub fn with_thumbprint_key_id(gate_id: &str, key: SigningKey) -> Result<Attestor> {
        let kid = key.public_key().thumbprint();
        Attestor::new(gate_id, &kid, key)
    }

    /// The gate id.
    pub fn gate_id(&self) -> &str {
        &self.gate_id
    }

    /// The key id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key verifiers need.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// Signs `bytes` with the gate key (checkpoints, catalogs and receipts use this).
    pub(crate) fn sign_raw(&self, bytes: &[u8]) -> Signature {
        self.key.sign(bytes)
    }

    /// Creates, links and signs the next record of the chain whose current head is `head`
    /// (use [`ChainHead::genesis`] for a passport's first decision). Returns the record and the
    /// new head. Nothing is stored: the caller appends the record and replaces the head
    /// atomically (compare-and-swap on the old head); if that fails, discard the record and
    /// retry with the fresh head. The default attestation id is
    /// `att_` + the first 32 hex digits of `BLAKE3("modei-attestation-id:" ||
    /// RFC8785([gate_id, passport_id, sequence]))`, so a retried sequence gets the same id.
    ///
    /// Failures: `invalid_argument` (a draft field breaks the rules in
    /// `docs/attestations.md`), `limit_exceeded` (the chain is at sequence 2^53 - 1).
    pub fn attest(
        &self,
        head: &ChainHead,
        draft: &AttestationDraft<'_>,
    ) -> Result<(Attestation, ChainHead)> {
        let sequence = head.sequence.checked_add(1).filter(|s| *s <= MAX_SEQUENCE);
        let Some(sequence) = sequence else {
            return Err(Error::new(
                Code::LimitExceeded,
                "the chain has reached sequence 2^53 - 1",
            ));
        };
        let attestation_id = match draft.attestation_id {
            Some(id) => id.to_owned(),
            None => default_id(&self.gate_id, draft.passport_id, sequence),
        };
        let terms = match draft.terms {
            None => Value::Object(Map::new()),
            Some(v @ Value::Object(_)) => v.clone(),
            Some(_) => {
                return Err(Error::new(
                    Code::InvalidArgument,
                    "terms is not a JSON object",
                ))
            }
        };
        if !super::timestamp_writable(draft.timestamp) {
            return Err(Error::new(
                Code::InvalidArgument,
                "timestamp: the year is outside 0000..=9999",
            ));
        }
        let body = AttestationBody {
            attestation_id,
            gate_id: self.gate_id.clone(),
            key_id: self.key_id.clone(),
            passport_id: draft.passport_id.to_owned(),
            agent_id: draft.agent_id.to_owned(),
            sequence,
            prev_hash: head.hash,
            action: draft.action.to_owned(),
            target: draft.target.map(str::to_owned),
            decision: draft.decision,
            reason: draft.reason.map(str::to_owned),
            evaluations_digest: draft.evaluations_digest.map(str::to_owned),
            request_digest: draft.request_digest.map(str::to_owned),
            catalog: draft.catalog.cloned(),
            timestamp: draft.timestamp,
            terms,
        };
        validate_body(&body)?;
        let mut signed = Vec::with_capacity(640);
        let decision_wire = body.decision.as_str();
        let sig_at = write_signed(&body, decision_wire, &mut signed);
        if signed.len() + 120 > MAX_RECORD_BYTES {
            return Err(Error::new(
                Code::LimitExceeded,
                format!("the record would exceed {MAX_RECORD_BYTES} bytes"),
            ));
        }
        let hash = LinkHash::of(&signed);
        let signature = self.key.sign(&signed);
        let new_head = ChainHead { sequence, hash };
        Ok((
            Attestation {
                body,
                decision_wire,
                signature,
                signed,
                sig_at,
                hash,
            },
            new_head,
        ))
    }
}

fn default_id(gate_id: &str, passport_id: &str, sequence: u64) -> String {
    let mut buf = Vec::with_capacity(48 + gate_id.len() + passport_id.len());
    buf.extend_from_slice(b"modei-attestation-id:[");
    push_json_str(&mut buf, gate_id);
    buf.push(b',');
    push_json_str(&mut buf, passport_id);
    buf.push(b',');
    push_u64(&mut buf, sequence);
    buf.push(b']');
    let h = blake3::hash(&buf);
    let mut hex = [0u8; 32];
    hex_into(&h.as_bytes()[..16], &mut hex);
    let mut id = String::with_capacity(36);
    id.push_str("att_");
    id.push_str(std::str::from_utf8(&hex).unwrap_or_default());
    id
}
