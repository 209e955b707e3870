//! The gate (in-memory state and log) and attestation verification
//! (`modei_core::api::{gate, attestation}`); the same natives, names and semantics as
//! modei-node/src/gate.rs. The gate's clock is `Date.now()` (no clock on wasm32-unknown-unknown).

use crate::keys::JsSigningKey;
use crate::passport::JsRevocationList;
use crate::{bytes_of, json_arg, json_to_js, now_of, opt_str_of, str_of, OrThrow};
use modei_core::api::{attestation as aa, gate as ag};
use modei_core::time::{Clock, Timestamp};
use serde_json::Value;
use std::sync::Arc;
use wasm_bindgen::prelude::*;

/// The host clock: `Date.now()`.
struct JsClock;

impl Clock for JsClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(js_sys::Date::now() as i64)
    }
}

fn opt_now(v: &JsValue) -> Result<Option<Timestamp>, JsError> {
    if v.is_undefined() || v.is_null() {
        Ok(None)
    } else {
        now_of(v).map(Some)
    }
}

/// A gate with the in-memory state store and attestation log.
#[wasm_bindgen(js_name = Gate)]
pub struct JsGate {
    inner: ag::GateHandle,
}

#[wasm_bindgen(js_class = Gate)]
impl JsGate {
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue, revocation: Option<JsRevocationList>) -> Result<JsGate, JsError> {
        let cfg = json_arg(&config, "config")?;
        let hooks = ag::GateHooks {
            revocation: revocation
                .map(|r| r.inner.clone() as Arc<dyn modei_core::revocation::RevocationSource>),
            clock: Some(Arc::new(JsClock)),
            ..Default::default()
        };
        Ok(JsGate {
            inner: ag::GateHandle::new(&cfg, hooks).or_throw()?,
        })
    }

    #[wasm_bindgen(getter, js_name = gateId)]
    pub fn gate_id(&self) -> String {
        self.inner.gate_id().to_owned()
    }

    #[wasm_bindgen(js_name = _check)]
    pub fn check(&self, request: JsValue, now: JsValue) -> Result<JsValue, JsError> {
        let now = opt_now(&now)?;
        json_to_js(
            &self
                .inner
                .check_json(&bytes_of(&request, "request")?, now)
                .or_throw()?,
        )
    }

    #[wasm_bindgen(js_name = _dryRun)]
    pub fn dry_run(&self, request: JsValue, now: JsValue) -> Result<JsValue, JsError> {
        let now = opt_now(&now)?;
        json_to_js(
            &self
                .inner
                .dry_run(&json_arg(&request, "request")?, now)
                .or_throw()?,
        )
    }

    #[wasm_bindgen(js_name = _denyHold)]
    pub fn deny_hold(&self, approval: JsValue, now: JsValue) -> Result<JsValue, JsError> {
        let now = opt_now(&now)?;
        json_to_js(
            &self
                .inner
                .deny_hold(&json_arg(&approval, "approval")?, now)
                .or_throw()?,
        )
    }

    #[wasm_bindgen(js_name = pendingHolds)]
    pub fn pending_holds(&self) -> Result<JsValue, JsError> {
        json_to_js(&self.inner.pending_holds())
    }

    #[wasm_bindgen(js_name = expireHolds)]
    pub fn expire_holds(&self, now: JsValue) -> Result<JsValue, JsError> {
        let now = opt_now(&now)?;
        json_to_js(&self.inner.expire_holds(now).or_throw()?)
    }

    pub fn heartbeat(&self, at: JsValue) -> Result<(), JsError> {
        let at = opt_now(&at)?;
        self.inner.heartbeat(at).or_throw()
    }

    #[wasm_bindgen(getter, js_name = attestationKey)]
    pub fn attestation_key(&self) -> Result<JsValue, JsError> {
        json_to_js(&self.inner.attestation_key())
    }

    #[wasm_bindgen(js_name = exportLog)]
    pub fn export_log(&self) -> Option<String> {
        self.inner
            .export_log()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    #[wasm_bindgen(getter, js_name = logLen)]
    pub fn log_len(&self) -> f64 {
        self.inner.log_len() as f64
    }

    #[wasm_bindgen(getter, js_name = cachedPassports)]
    pub fn cached_passports(&self) -> u32 {
        self.inner.cached_passports() as u32
    }
}

#[wasm_bindgen(js_name = _signApproval)]
pub fn sign_approval(key: &JsSigningKey, params: JsValue) -> Result<JsValue, JsError> {
    json_to_js(&ag::sign_approval(&key.inner, &json_arg(&params, "params")?).or_throw()?)
}

#[wasm_bindgen(js_name = _signPop)]
pub fn sign_pop(
    agent_key: &JsSigningKey,
    gate_id: JsValue,
    passport_id: JsValue,
    request: JsValue,
) -> Result<String, JsError> {
    let (g, p) = (
        str_of(&gate_id, "gateId")?,
        str_of(&passport_id, "passportId")?,
    );
    ag::sign_pop(&agent_key.inner, &g, &p, &json_arg(&request, "request")?).or_throw()
}

#[wasm_bindgen(js_name = _requestDigest)]
pub fn request_digest(
    gate_id: JsValue,
    passport_id: JsValue,
    request: JsValue,
) -> Result<String, JsError> {
    let g = str_of(&gate_id, "gateId")?;
    let p = opt_str_of(&passport_id, "passportId")?;
    ag::request_digest(&g, p.as_deref(), &json_arg(&request, "request")?).or_throw()
}

fn checkpoints_of(c: &JsValue) -> Result<Vec<Value>, JsError> {
    match json_arg(c, "checkpoints")? {
        Value::Null => Ok(Vec::new()),
        Value::Array(a) => Ok(a),
        _ => Err(crate::invalid_argument("checkpoints: expected a list")),
    }
}

/// A reader over chunks, so a log given in pieces is verified streaming without being joined.
struct Chunks {
    parts: Vec<Vec<u8>>,
    i: usize,
    at: usize,
}

impl std::io::Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.i < self.parts.len() {
            let p = &self.parts[self.i];
            if self.at < p.len() {
                let n = buf.len().min(p.len() - self.at);
                buf[..n].copy_from_slice(&p[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            self.i += 1;
            self.at = 0;
        }
        Ok(0)
    }
}

/// Verifies a JSON Lines attestation log given as an array of chunks (strings / Uint8Arrays).
#[wasm_bindgen(js_name = _verifyLog)]
pub fn verify_log(
    chunks: JsValue,
    gate_keys: JsValue,
    checkpoints: JsValue,
) -> Result<JsValue, JsError> {
    let arr = chunks
        .dyn_ref::<js_sys::Array>()
        .ok_or_else(|| crate::invalid_argument("log: expected an array of chunks"))?;
    let parts = arr
        .iter()
        .enumerate()
        .map(|(i, c)| bytes_of(&c, &format!("log[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let keys = json_arg(&gate_keys, "gateKeys")?;
    let cps = checkpoints_of(&checkpoints)?;
    let mut r = std::io::BufReader::with_capacity(1 << 16, Chunks { parts, i: 0, at: 0 });
    json_to_js(&aa::verify_log(&mut r, &keys, &cps).or_throw()?)
}

#[wasm_bindgen(js_name = _verifyAttestation)]
pub fn verify_attestation(record: JsValue, gate_keys: JsValue) -> Result<JsValue, JsError> {
    json_to_js(
        &aa::verify_record(
            &bytes_of(&record, "record")?,
            &json_arg(&gate_keys, "gateKeys")?,
        )
        .or_throw()?,
    )
}

#[wasm_bindgen(js_name = _verifyCheckpoint)]
pub fn verify_checkpoint(checkpoint: JsValue, gate_keys: JsValue) -> Result<JsValue, JsError> {
    json_to_js(
        &aa::verify_checkpoint(
            &bytes_of(&checkpoint, "checkpoint")?,
            &json_arg(&gate_keys, "gateKeys")?,
        )
        .or_throw()?,
    )
}
