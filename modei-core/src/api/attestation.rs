//! Attestations: verify one record, verify a log (streaming), checkpoints. See `docs/api.md`
//! § Attestations.

use super::{invalid, obj, req_str};
use crate::attestation::{
    verify_jsonl, Attestation, Checkpoint, GateKeySet, GateKeys, LogReport, LogVerifier,
};
use crate::error::Result;
use crate::keys::PublicKey;
use serde_json::Value;
use std::io::BufRead;

/// Trusted gate keys from `[{"gate_id", "key_id", "public_key"}]` (`public_key`: any text form
/// or a JWK object).
pub fn gate_keys_from(v: &Value) -> Result<GateKeySet> {
    let arr = v
        .as_array()
        .ok_or_else(|| invalid("gate_keys: expected a list of {gate_id, key_id, public_key}"))?;
    let mut set = GateKeySet::new();
    for (i, k) in arr.iter().enumerate() {
        obj(k, &format!("gate_keys[{i}]"))?;
        let pk = match k.get("public_key") {
            Some(Value::String(s)) => PublicKey::parse_any(s)?,
            Some(j @ Value::Object(_)) => PublicKey::from_jwk(j)?,
            _ => return Err(invalid(format!("gate_keys[{i}].public_key: required"))),
        };
        set.insert(req_str(k, "gate_id")?, req_str(k, "key_id")?, pk);
    }
    Ok(set)
}

/// A log report as JSON: `{"ok", "records", "passports", "first_error"}`.
pub fn report_json(r: &LogReport) -> Value {
    let mut v = r.to_value();
    if let Value::Object(m) = &mut v {
        m.insert("ok".into(), Value::Bool(r.is_ok()));
    }
    v
}

/// Verifies a whole JSON Lines log read from `input`, streaming: memory holds one line and one
/// head per chain, whatever the log's size. Bindings stream by handing over a reader (a file,
/// or an adapter over the host's chunks).
pub fn verify_log(
    input: &mut impl BufRead,
    gate_keys: &Value,
    checkpoints: &[Value],
) -> Result<Value> {
    let keys = gate_keys_from(gate_keys)?;
    let mut v = LogVerifier::new(&keys);
    for c in checkpoints {
        v.checkpoint(&Checkpoint::from_json(&crate::canonical::canonicalize(c))?)?;
    }
    Ok(report_json(&verify_jsonl(input, v)))
}

/// Verifies a JSONL log given as bytes.
pub fn verify_log_bytes(log: &[u8], gate_keys: &Value, checkpoints: &[Value]) -> Result<Value> {
    verify_log(&mut std::io::Cursor::new(log), gate_keys, checkpoints)
}

/// Verifies a JSONL log file (streaming from disk; `fs` feature).
#[cfg(feature = "fs")]
pub fn verify_log_file(path: &str, gate_keys: &Value, checkpoints: &[Value]) -> Result<Value> {
    let f = std::fs::File::open(path)
        .map_err(|e| crate::Error::new(crate::Code::IoError, format!("{path}: {e}")))?;
    verify_log(
        &mut std::io::BufReader::with_capacity(1 << 16, f),
        gate_keys,
        checkpoints,
    )
}

/// Verifies ONE record's signature against the trusted gate keys (not its chain position) and
/// returns its JSON value. Input: the record's JSON text.
pub fn verify_record(record: &[u8], gate_keys: &Value) -> Result<Value> {
    let keys = gate_keys_from(gate_keys)?;
    let rec = Attestation::from_json(record)?;
    let b = rec.body();
    let key = keys.gate_key(&b.gate_id, &b.key_id).ok_or_else(|| {
        crate::Error::new(
            crate::Code::KeyUnknown,
            format!("gate {:?} key {:?} is not trusted", b.gate_id, b.key_id),
        )
    })?;
    key.verify_strict(rec.signed_bytes(), rec.signature())
        .map_err(|e| {
            crate::Error::new(
                crate::Code::AttestationSignatureInvalid,
                e.detail().to_owned(),
            )
        })?;
    Ok(rec.to_value())
}

/// Verifies a checkpoint's signature against the trusted gate keys; returns its JSON value.
pub fn verify_checkpoint(checkpoint: &[u8], gate_keys: &Value) -> Result<Value> {
    let keys = gate_keys_from(gate_keys)?;
    let cp = Checkpoint::from_json(checkpoint)?;
    cp.verify(&keys)?;
    super::parse_json(&cp.to_json())
}
