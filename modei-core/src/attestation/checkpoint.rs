//! Signed checkpoints: "the chain `(gate_id, passport_id)` (or the whole log) has reached
//! sequence n, and the record there hashes to h". The gate hands them to the agent; a log that
//! later ends before n, or holds a different record at n, is caught (`attestation_truncated`,
//! `attestation_fork`).

use super::{check_id, push_json_str, push_u64, Attestor, ChainHead, GateKeys, LinkHash};
use super::{CHECKPOINT_FORMAT, MAX_ID_BYTES, MAX_SEQUENCE};
use crate::error::{Code, Error, Result};
use crate::json::{self, JsonLimits, NonFinite, ParseOptions};
use crate::keys::Signature;
use crate::time::Timestamp;
use serde_json::Value;

/// A signed checkpoint. `passport_id: None` is a whole-log checkpoint: `sequence` is then the
/// number of records in the log and `head_hash` the link hash of the last one (all zeros for an
/// empty log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The gate that signed.
    pub gate_id: String,
    /// The key that signed.
    pub key_id: String,
    /// The chain's passport, or `None` for the whole log.
    pub passport_id: Option<String>,
    /// The chain's last sequence number (or the log's record count).
    pub sequence: u64,
    /// The link hash of the record at `sequence`.
    pub head_hash: LinkHash,
    /// When the gate signed it.
    pub timestamp: Timestamp,
    /// Ed25519 over [`Checkpoint::signed_bytes`].
    pub signature: Signature,
}

const FIELDS: &[&str] = &[
    "format",
    "gate_id",
    "head_hash",
    "key_id",
    "passport_id",
    "sequence",
    "signature",
    "timestamp",
];

fn invalid(d: impl Into<String>) -> Error {
    Error::new(Code::CheckpointInvalid, d)
}

impl Checkpoint {
    /// RFC 8785 of the checkpoint without `signature` (with `format: "modei.checkpoint.v1"`).
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(320);
        self.write(&mut out, None);
        out
    }

    fn write(&self, out: &mut Vec<u8>, sig: Option<&str>) {
        out.extend_from_slice(b"{\"format\":\"");
        out.extend_from_slice(CHECKPOINT_FORMAT.as_bytes());
        out.extend_from_slice(b"\",\"gate_id\":");
        push_json_str(out, &self.gate_id);
        out.extend_from_slice(b",\"head_hash\":");
        push_json_str(out, &self.head_hash.to_hex());
        out.extend_from_slice(b",\"key_id\":");
        push_json_str(out, &self.key_id);
        out.extend_from_slice(b",\"passport_id\":");
        match &self.passport_id {
            Some(p) => push_json_str(out, p),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"sequence\":");
        push_u64(out, self.sequence);
        if let Some(sig) = sig {
            out.extend_from_slice(b",\"signature\":");
            push_json_str(out, sig);
        }
        out.extend_from_slice(b",\"timestamp\":");
        let ts = self.timestamp.to_rfc3339_millis().unwrap_or_default();
        push_json_str(out, &ts);
        out.push(b'}');
    }

    /// The checkpoint as canonical JSON (with `signature`, base64url).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(420);
        self.write(&mut out, Some(&self.signature.to_base64url()));
        out
    }

    /// Reads a checkpoint (strict JSON, exact members). Failure: `checkpoint_invalid`.
    pub fn from_json(bytes: &[u8]) -> Result<Checkpoint> {
        let opts = ParseOptions {
            limits: JsonLimits {
                max_bytes: 4096,
                max_depth: 4,
            },
            reject_duplicates: true,
            non_finite: NonFinite::Reject,
        };
        let v = json::parse_with(bytes, &opts)
            .map_err(|e| invalid(format!("{}: {}", e.code(), e.detail())))?
            .value;
        let obj = v.as_object().ok_or_else(|| invalid("not a JSON object"))?;
        if obj.len() != FIELDS.len() || !FIELDS.iter().all(|f| obj.contains_key(*f)) {
            return Err(invalid(format!("members must be exactly {FIELDS:?}")));
        }
        let s = |k: &str| {
            obj.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("{k} is not a string")))
        };
        if s("format")? != CHECKPOINT_FORMAT {
            return Err(invalid(format!("format is not {CHECKPOINT_FORMAT:?}")));
        }
        let ts_text = s("timestamp")?;
        let timestamp = Timestamp::parse_rfc3339(ts_text)
            .map_err(|e| invalid(format!("timestamp: {}", e.detail())))?;
        if timestamp.to_rfc3339_millis().ok().as_deref() != Some(ts_text) {
            return Err(invalid("timestamp is not YYYY-MM-DDTHH:MM:SS.mmmZ"));
        }
        let cp = Checkpoint {
            gate_id: s("gate_id")?.to_owned(),
            key_id: s("key_id")?.to_owned(),
            passport_id: match obj.get("passport_id") {
                Some(Value::Null) => None,
                Some(Value::String(p)) => Some(p.clone()),
                _ => return Err(invalid("passport_id is not a string or null")),
            },
            sequence: obj
                .get("sequence")
                .and_then(Value::as_u64)
                .filter(|n| *n <= MAX_SEQUENCE)
                .ok_or_else(|| invalid("sequence is not an integer in 0..=2^53-1"))?,
            head_hash: LinkHash::from_hex(s("head_hash")?)
                .ok_or_else(|| invalid("head_hash is not 64 lowercase hex digits"))?,
            timestamp,
            signature: Signature::from_base64url(s("signature")?)
                .map_err(|e| invalid(format!("signature: {}", e.detail())))?,
        };
        check_id(
            Code::CheckpointInvalid,
            "gate_id",
            &cp.gate_id,
            MAX_ID_BYTES,
        )?;
        check_id(Code::CheckpointInvalid, "key_id", &cp.key_id, MAX_ID_BYTES)?;
        if let Some(p) = &cp.passport_id {
            check_id(Code::CheckpointInvalid, "passport_id", p, MAX_ID_BYTES)?;
        }
        Ok(cp)
    }

    /// Verifies the signature. Failures: `key_unknown`, `checkpoint_invalid`.
    pub fn verify(&self, keys: &(impl GateKeys + ?Sized)) -> Result<()> {
        let key = keys.gate_key(&self.gate_id, &self.key_id).ok_or_else(|| {
            Error::new(
                Code::KeyUnknown,
                format!(
                    "no trusted key {:?} for gate {:?}",
                    self.key_id, self.gate_id
                ),
            )
        })?;
        key.verify_strict(&self.signed_bytes(), &self.signature)
            .map_err(|e| invalid(format!("checkpoint signature: {}", e.detail())))
    }
}

impl Attestor {
    /// Signs a checkpoint for the chain of `passport_id` at `head`, or for the whole log
    /// (`passport_id: None`, `head.sequence` = record count, `head.hash` = last link hash).
    /// Failure: `invalid_argument`.
    pub fn checkpoint(
        &self,
        passport_id: Option<&str>,
        head: &ChainHead,
        timestamp: Timestamp,
    ) -> Result<Checkpoint> {
        if let Some(p) = passport_id {
            check_id(Code::InvalidArgument, "passport_id", p, MAX_ID_BYTES)?;
        }
        if head.sequence > MAX_SEQUENCE {
            return Err(Error::new(Code::InvalidArgument, "sequence above 2^53-1"));
        }
        timestamp
            .to_rfc3339_millis()
            .map_err(|e| Error::new(Code::InvalidArgument, e.detail().to_owned()))?;
        let mut cp = Checkpoint {
            gate_id: self.gate_id().to_owned(),
            key_id: self.key_id().to_owned(),
            passport_id: passport_id.map(str::to_owned),
            sequence: head.sequence,
            head_hash: head.hash,
            timestamp,
            signature: Signature::from([0u8; 64]),
        };
        cp.signature = self.sign_raw(&cp.signed_bytes());
        Ok(cp)
    }
}
