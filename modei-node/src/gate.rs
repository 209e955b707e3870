//! The gate and attestation verification: one line per facade function
//! (`modei_core::api::{gate, attestation}`). Long work (log files, batches) also runs as a
//! napi `AsyncTask` on the libuv pool.

use crate::keys::JsSigningKey;
use crate::passport::{now_of, JsRevocationList, Time};
use crate::{bytes, json_arg, Input, OrThrow};
use modei_core::api::{self, attestation as aa, gate as ag};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::Value;
use std::sync::Arc;

fn opt_now(t: Option<&Time>) -> Result<Option<modei_core::time::Timestamp>> {
    t.map(|t| now_of(Some(t))).transpose()
}

/// A gate: verify, enforce constraints, attest. `Send + Sync`.
#[napi(js_name = "Gate")]
pub struct JsGate {
    inner: Arc<ag::GateHandle>,
}

#[napi]
impl JsGate {
    /// `config`: the gate config JSON text (`docs/api.md` § Gate); `revocation`: a live list.
    #[napi(constructor)]
    pub fn new(
        config: String,
        revocation: Option<&JsRevocationList>,
        log_path: Option<String>,
    ) -> Result<Self> {
        let mut cfg = json_arg(&config, "config")?;
        // `"redis": {"url": ...}` in the config: replicas share state through Redis.
        let state = modei_redis::take_from_gate_config(&mut cfg)
            .or_throw()?
            .map(|s| s as Arc<dyn modei_core::state::StateStore>);
        let hooks = ag::GateHooks {
            revocation: revocation
                .map(|r| r.inner.clone() as Arc<dyn modei_core::revocation::RevocationSource>),
            log_path,
            state,
            ..Default::default()
        };
        Ok(JsGate {
            inner: Arc::new(ag::GateHandle::new(&cfg, hooks).or_throw()?),
        })
    }

    #[napi(getter)]
    pub fn gate_id(&self) -> String {
        self.inner.gate_id().to_owned()
    }

    /// Checks a request (JSON text). A `block` is a result.
    #[napi(js_name = "_check", ts_return_type = "Decision")]
    pub fn check(&self, request: Input, now: Option<Time>) -> Result<Value> {
        let now = opt_now(now.as_ref())?;
        self.inner.check_json(bytes(&request), now).or_throw()
    }

    /// The whole pipeline, changing nothing.
    #[napi(js_name = "_dryRun", ts_return_type = "Decision")]
    pub fn dry_run(&self, request: String, now: Option<Time>) -> Result<Value> {
        let now = opt_now(now.as_ref())?;
        self.inner
            .dry_run(&json_arg(&request, "request")?, now)
            .or_throw()
    }

    /// Checks many requests off the main thread, in order: one decision (or
    /// `{error: {code, family, detail}}`) per request.
    #[napi(js_name = "_checkManyAsync", ts_return_type = "Promise<string>")]
    pub fn check_many_async(
        &self,
        requests: Vec<String>,
        now: Option<Time>,
    ) -> Result<AsyncTask<CheckMany>> {
        let now = opt_now(now.as_ref())?;
        Ok(AsyncTask::new(CheckMany {
            gate: self.inner.clone(),
            requests,
            now,
        }))
    }

    #[napi(js_name = "_denyHold", ts_return_type = "Decision")]
    pub fn deny_hold(&self, approval: String, now: Option<Time>) -> Result<Value> {
        let now = opt_now(now.as_ref())?;
        self.inner
            .deny_hold(&json_arg(&approval, "approval")?, now)
            .or_throw()
    }

    #[napi(ts_return_type = "Hold[]")]
    pub fn pending_holds(&self) -> Value {
        self.inner.pending_holds()
    }

    #[napi(ts_return_type = "Hold[]")]
    pub fn expire_holds(&self, now: Option<Time>) -> Result<Value> {
        let now = opt_now(now.as_ref())?;
        self.inner.expire_holds(now).or_throw()
    }

    #[napi]
    pub fn heartbeat(&self, at: Option<Time>) -> Result<()> {
        let at = opt_now(at.as_ref())?;
        self.inner.heartbeat(at).or_throw()
    }

    /// `{gate_id, key_id, public_key}` of the attestation key, or null.
    #[napi(getter, ts_return_type = "GateKey | null")]
    pub fn attestation_key(&self) -> Value {
        self.inner.attestation_key()
    }

    /// The in-memory attestation log as JSON Lines text (null with a file log).
    #[napi]
    pub fn export_log(&self) -> Option<String> {
        self.inner
            .export_log()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    #[napi(getter)]
    pub fn log_len(&self) -> f64 {
        self.inner.log_len() as f64
    }

    #[napi(getter)]
    pub fn cached_passports(&self) -> u32 {
        self.inner.cached_passports() as u32
    }
}

pub struct CheckMany {
    gate: Arc<ag::GateHandle>,
    requests: Vec<String>,
    now: Option<modei_core::time::Timestamp>,
}

impl Task for CheckMany {
    type Output = String;
    type JsValue = String;
    fn compute(&mut self) -> Result<String> {
        Ok(Value::Array(
            self.requests
                .iter()
                .map(|r| match self.gate.check_json(r.as_bytes(), self.now) {
                    Ok(d) => d,
                    Err(e) => serde_json::json!({"error": api::error_json(&e)}),
                })
                .collect(),
        )
        .to_string())
    }
    fn resolve(&mut self, _env: Env, output: String) -> Result<String> {
        Ok(output)
    }
}

/// Operator side: signs an approval of a hold.
#[napi(js_name = "_signApproval")]
pub fn sign_approval(key: &JsSigningKey, params: String) -> Result<Value> {
    ag::sign_approval(&key.inner, &json_arg(&params, "params")?).or_throw()
}

/// Agent side: the proof of possession for a request.
#[napi(js_name = "_signPop")]
pub fn sign_pop(
    agent_key: &JsSigningKey,
    gate_id: String,
    passport_id: String,
    request: String,
) -> Result<String> {
    ag::sign_pop(
        &agent_key.inner,
        &gate_id,
        &passport_id,
        &json_arg(&request, "request")?,
    )
    .or_throw()
}

/// The request digest the gate computes (hex SHA-256).
#[napi(js_name = "_requestDigest")]
pub fn request_digest(
    gate_id: String,
    passport_id: Option<String>,
    request: String,
) -> Result<String> {
    ag::request_digest(
        &gate_id,
        passport_id.as_deref(),
        &json_arg(&request, "request")?,
    )
    .or_throw()
}

fn checkpoints_of(c: &str) -> Result<Vec<Value>> {
    match json_arg(c, "checkpoints")? {
        Value::Null => Ok(Vec::new()),
        Value::Array(a) => Ok(a),
        _ => Err(crate::invalid_argument("checkpoints: expected a list")),
    }
}

/// A reader over chunks (strings or bytes), so a log given in pieces is verified streaming
/// without being joined.
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

fn verify_chunks(parts: Vec<Vec<u8>>, keys: &Value, cps: &[Value]) -> modei_core::Result<Value> {
    let mut r = std::io::BufReader::with_capacity(1 << 16, Chunks { parts, i: 0, at: 0 });
    aa::verify_log(&mut r, keys, cps)
}

/// Verifies a JSON Lines attestation log given as chunks (one or more strings / buffers).
#[napi(js_name = "_verifyLog", ts_return_type = "LogReport")]
pub fn verify_log(chunks: Vec<Input>, gate_keys: String, checkpoints: String) -> Result<Value> {
    let parts = chunks.iter().map(|c| bytes(c).to_vec()).collect();
    verify_chunks(
        parts,
        &json_arg(&gate_keys, "gateKeys")?,
        &checkpoints_of(&checkpoints)?,
    )
    .or_throw()
}

pub struct VerifyLogTask {
    source: LogSource,
    keys: Value,
    checkpoints: Vec<Value>,
}

enum LogSource {
    Chunks(Vec<Vec<u8>>),
    File(String),
}

impl Task for VerifyLogTask {
    type Output = String;
    type JsValue = String;
    fn compute(&mut self) -> Result<String> {
        let v = match &mut self.source {
            LogSource::Chunks(parts) => {
                verify_chunks(std::mem::take(parts), &self.keys, &self.checkpoints)
            }
            LogSource::File(path) => aa::verify_log_file(path, &self.keys, &self.checkpoints),
        };
        Ok(v.or_throw()?.to_string())
    }
    fn resolve(&mut self, _env: Env, output: String) -> Result<String> {
        Ok(output)
    }
}

/// `_verifyLog` off the main thread.
#[napi(js_name = "_verifyLogAsync", ts_return_type = "Promise<string>")]
pub fn verify_log_async(
    chunks: Vec<Input>,
    gate_keys: String,
    checkpoints: String,
) -> Result<AsyncTask<VerifyLogTask>> {
    let parts = chunks.iter().map(|c| bytes(c).to_vec()).collect();
    Ok(AsyncTask::new(VerifyLogTask {
        source: LogSource::Chunks(parts),
        keys: json_arg(&gate_keys, "gateKeys")?,
        checkpoints: checkpoints_of(&checkpoints)?,
    }))
}

/// Verifies a log file, streaming from disk (Node only: WASM has no file system).
#[napi(js_name = "_verifyLogFile", ts_return_type = "LogReport")]
pub fn verify_log_file(path: String, gate_keys: String, checkpoints: String) -> Result<Value> {
    aa::verify_log_file(
        &path,
        &json_arg(&gate_keys, "gateKeys")?,
        &checkpoints_of(&checkpoints)?,
    )
    .or_throw()
}

/// `_verifyLogFile` off the main thread.
#[napi(js_name = "_verifyLogFileAsync", ts_return_type = "Promise<string>")]
pub fn verify_log_file_async(
    path: String,
    gate_keys: String,
    checkpoints: String,
) -> Result<AsyncTask<VerifyLogTask>> {
    Ok(AsyncTask::new(VerifyLogTask {
        source: LogSource::File(path),
        keys: json_arg(&gate_keys, "gateKeys")?,
        checkpoints: checkpoints_of(&checkpoints)?,
    }))
}

/// Verifies one record's signature; returns the record.
#[napi(js_name = "_verifyAttestation")]
pub fn verify_attestation(record: Input, gate_keys: String) -> Result<Value> {
    aa::verify_record(bytes(&record), &json_arg(&gate_keys, "gateKeys")?).or_throw()
}

/// Verifies a checkpoint's signature; returns the checkpoint.
#[napi(js_name = "_verifyCheckpoint")]
pub fn verify_checkpoint(checkpoint: Input, gate_keys: String) -> Result<Value> {
    aa::verify_checkpoint(bytes(&checkpoint), &json_arg(&gate_keys, "gateKeys")?).or_throw()
}
