//! The gate as a handle built from its JSON config. See `docs/api.md` § Gate.

use super::{invalid, opt_i64, req_str, time_json, time_or_now};
use crate::attestation::{AttestationLog, ChainHead, MemoryLog};
use crate::constraints::PiiDetector;
use crate::error::{Code, Error, Result};
use crate::gate::{
    Approval, ApprovalDecision, Gate, GateConfig, GateRequest, Hold, HoldNotifier, HoldOutcome,
};
use crate::keys::SigningKey;
use crate::revocation::RevocationSource;
use crate::state::StateStore;
use crate::time::{Clock, Timestamp};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};

/// Host-supplied implementations that replace the built-in defaults.
#[derive(Default)]
pub struct GateHooks {
    /// Revocation source (default: the config's `revocation` list, or none).
    pub revocation: Option<Arc<dyn RevocationSource>>,
    /// Told about new and resolved holds.
    pub notifier: Option<Arc<dyn HoldNotifier>>,
    /// PII detector for `core:data:no_pii_export` (default: emails, cards, SSNs).
    pub pii: Option<Arc<dyn PiiDetector>>,
    /// Shared counters (default: in memory).
    pub state: Option<Arc<dyn StateStore>>,
    /// Clock (default: the system clock).
    pub clock: Option<Arc<dyn Clock>>,
    /// Attestation log file (JSON Lines, appended; `fs` feature). Default: in memory.
    pub log_path: Option<String>,
}

/// An in-memory log the handle can read back while the gate appends to it.
#[derive(Clone, Default)]
struct SharedLog(Arc<Mutex<MemoryLog>>);

impl SharedLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryLog> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl AttestationLog for SharedLog {
    fn head(&self, gate_id: &str, passport_id: &str) -> ChainHead {
        self.lock().head(gate_id, passport_id)
    }
    fn append(&mut self, record: &crate::attestation::Attestation) -> Result<()> {
        self.lock().append(record)
    }
    fn append_shared(&mut self, record: &crate::attestation::Attestation) -> Result<()> {
        self.lock().append_shared(record)
    }
    fn len(&self) -> u64 {
        self.lock().len()
    }
    fn log_head(&self) -> ChainHead {
        self.lock().log_head()
    }
}

/// A gate: `Send + Sync`; every method takes `&self`.
pub struct GateHandle {
    gate: Gate,
    memory_log: Option<SharedLog>,
}

impl std::fmt::Debug for GateHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GateHandle")
            .field("gate_id", &self.gate.gate_id())
            .finish()
    }
}

impl GateHandle {
    /// From the gate config JSON (`docs/gate.md`; members: `gate_id`, `profile`, `trust_store`,
    /// `policy`, `revocation`, `signing_key`, `catalogs`, `anonymous`, `operators`,
    /// `leeway_seconds`, `hold_ttl_seconds`, `cache_capacity`, `max_holds`, `checkpoints`,
    /// `shared_chains`, `heartbeat`) and the host's hooks.
    pub fn new(config: &Value, hooks: GateHooks) -> Result<Self> {
        let mut cfg = GateConfig::from_value(config, "gate config")?;
        if let Some(r) = hooks.revocation {
            cfg = cfg.with_revocation(r);
        }
        if let Some(n) = hooks.notifier {
            cfg = cfg.with_notifier(n);
        }
        if let Some(p) = hooks.pii {
            cfg.enforcer.set_pii_detector(p);
        }
        if let Some(s) = hooks.state {
            cfg = cfg.with_state(s);
        }
        if let Some(c) = hooks.clock {
            cfg = cfg.with_clock(c);
        }
        let memory_log = match hooks.log_path {
            Some(path) => {
                #[cfg(all(
                    feature = "fs",
                    not(all(target_arch = "wasm32", target_os = "unknown"))
                ))]
                {
                    // A replica sharing chains writes its segment of them.
                    let open = if cfg.shared_chains {
                        crate::attestation::FileLog::open_segment
                    } else {
                        crate::attestation::FileLog::open
                    };
                    let log = open(&path, crate::attestation::FsyncPolicy::EveryAppend)?;
                    cfg = cfg.with_log(Box::new(log));
                    None
                }
                #[cfg(not(all(
                    feature = "fs",
                    not(all(target_arch = "wasm32", target_os = "unknown"))
                )))]
                {
                    let _ = path;
                    return Err(invalid("log_path: this build has no file system"));
                }
            }
            None => {
                let log = SharedLog::default();
                cfg = cfg.with_log(Box::new(log.clone()));
                Some(log)
            }
        };
        Ok(GateHandle {
            gate: Gate::new(cfg)?,
            memory_log,
        })
    }

    /// The gate id.
    pub fn gate_id(&self) -> &str {
        self.gate.gate_id()
    }

    /// The core gate.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Checks a request (`docs/api.md` § Gate request) at `now` (`None`: the gate's clock).
    /// A `block` is a result. Errors only for a request that is not a request object
    /// (`request_invalid`).
    pub fn check(&self, request: &Value, now: Option<Timestamp>) -> Result<Value> {
        let req = request_from(request)?;
        let d = match now {
            Some(t) => self.gate.check_at(&req, t),
            None => self.gate.check(&req),
        };
        Ok(d.to_value())
    }

    /// [`GateHandle::check`] on JSON text.
    pub fn check_json(&self, request: &[u8], now: Option<Timestamp>) -> Result<Value> {
        let req = GateRequest::from_json(request)?;
        let d = match now {
            Some(t) => self.gate.check_at(&req, t),
            None => self.gate.check(&req),
        };
        Ok(d.to_value())
    }

    /// Runs the whole pipeline and changes nothing (no counter, nonce, hold or record).
    pub fn dry_run(&self, request: &Value, now: Option<Timestamp>) -> Result<Value> {
        let req = request_from(request)?;
        let d = match now {
            Some(t) => self.gate.dry_run_at(&req, t),
            None => self.gate.dry_run(&req),
        };
        Ok(d.to_value())
    }

    /// An operator denies a hold out of band: `approval` is a signed approval object with
    /// `decision: "denied"`. The `denied` decision.
    pub fn deny_hold(&self, approval: &Value, now: Option<Timestamp>) -> Result<Value> {
        let a = Approval::deserialize(approval)
            .map_err(|e| Error::new(Code::ApprovalInvalid, e.to_string()))?;
        let now = match now {
            Some(t) => t,
            None => time_or_now(None)?,
        };
        Ok(self.gate.deny_hold(&a, now)?.to_value())
    }

    /// Open holds, oldest first: `[hold]` (`docs/api.md` § Hold object).
    pub fn pending_holds(&self) -> Value {
        Value::Array(self.gate.pending_holds().iter().map(hold_json).collect())
    }

    /// Releases every hold lapsed by `now`; the holds released.
    pub fn expire_holds(&self, now: Option<Timestamp>) -> Result<Value> {
        let now = match now {
            Some(t) => t,
            None => time_or_now(None)?,
        };
        Ok(Value::Array(
            self.gate.expire_holds(now).iter().map(hold_json).collect(),
        ))
    }

    /// Records a Supravision heartbeat.
    pub fn heartbeat(&self, at: Option<Timestamp>) -> Result<()> {
        let at = match at {
            Some(t) => t,
            None => time_or_now(None)?,
        };
        self.gate.heartbeat(at)
    }

    /// `{"gate_id", "key_id", "public_key"}` of the attestation key (null without one): what an
    /// auditor puts in `gate_keys`.
    pub fn attestation_key(&self) -> Value {
        match self.gate.attestation_key() {
            None => Value::Null,
            Some((kid, pk)) => {
                let mut m = Map::new();
                m.insert("gate_id".into(), Value::String(self.gate.gate_id().into()));
                m.insert("key_id".into(), Value::String(kid.into()));
                m.insert("public_key".into(), Value::String(pk.to_base64url()));
                Value::Object(m)
            }
        }
    }

    /// The in-memory attestation log as JSON Lines (`None` with a file log: read the file).
    pub fn export_log(&self) -> Option<Vec<u8>> {
        let log = self.memory_log.as_ref()?;
        let mut out = Vec::new();
        log.lock().export_jsonl(&mut out).ok()?;
        Some(out)
    }

    /// Number of attestation records.
    pub fn log_len(&self) -> u64 {
        self.gate.with_log(|l| l.len()).unwrap_or(0)
    }

    /// Verified passports held on the warm path.
    pub fn cached_passports(&self) -> usize {
        self.gate.cached_passports()
    }
}

fn request_from(v: &Value) -> Result<GateRequest> {
    GateRequest::deserialize(v).map_err(|e| Error::new(Code::RequestInvalid, e.to_string()))
}

/// A hold as JSON.
pub fn hold_json(h: &Hold) -> Value {
    let mut m = Map::new();
    m.insert("hold_id".into(), Value::String(h.hold_id.clone()));
    m.insert(
        "request_digest".into(),
        Value::String(h.request_digest.clone()),
    );
    m.insert("passport_id".into(), Value::String(h.passport_id.clone()));
    m.insert("agent_id".into(), Value::String(h.agent_id.clone()));
    m.insert("action".into(), Value::String(h.action.clone()));
    m.insert(
        "target".into(),
        h.target.clone().map(Value::String).unwrap_or(Value::Null),
    );
    m.insert("permission".into(), Value::String(h.permission.clone()));
    m.insert("reserved_cents".into(), h.reserved_cents.into());
    m.insert("reason".into(), Value::String(h.reason.clone()));
    m.insert("detail".into(), Value::String(h.detail.clone()));
    m.insert("created_at".into(), time_json(h.created_at));
    m.insert("expires_at".into(), time_json(h.expires_at));
    Value::Object(m)
}

/// `approved` / `denied` / `expired`.
pub fn hold_outcome_str(o: HoldOutcome) -> &'static str {
    match o {
        HoldOutcome::Approved => "approved",
        HoldOutcome::Denied => "denied",
        HoldOutcome::Expired => "expired",
    }
}

/// Operator side: signs an approval of a hold. `params`: `{"hold_id", "request_digest",
/// "decision": "approved"|"denied", "operator_key_id", "timestamp"? (Unix ms; default now)}`.
/// The approval object to put in the re-presented request's `approval` (or give to
/// `deny_hold`).
pub fn sign_approval(key: &SigningKey, params: &Value) -> Result<Value> {
    let decision = match req_str(params, "decision")? {
        "approved" => ApprovalDecision::Approved,
        "denied" => ApprovalDecision::Denied,
        other => {
            return Err(invalid(format!(
                "decision: {other:?} is not approved or denied"
            )))
        }
    };
    let ts = match opt_i64(params, "timestamp")? {
        Some(t) => t,
        None => time_or_now(None)?.unix_millis(),
    };
    let a = Approval::sign(
        req_str(params, "hold_id")?,
        req_str(params, "request_digest")?,
        decision,
        req_str(params, "operator_key_id")?,
        ts,
        key,
    );
    serde_json::to_value(&a).map_err(|e| invalid(e.to_string()))
}

/// Agent side: the proof of possession for `request` (which must carry `nonce` and
/// `timestamp`) to gate `gate_id` with passport `passport_id`: unpadded base64url, for
/// `request.pop`.
pub fn sign_pop(
    agent_key: &SigningKey,
    gate_id: &str,
    passport_id: &str,
    request: &Value,
) -> Result<String> {
    crate::gate::sign_pop(agent_key, gate_id, passport_id, &request_from(request)?)
}

/// The request digest the gate computes (hex SHA-256; see `docs/gate.md`).
pub fn request_digest(gate_id: &str, passport_id: Option<&str>, request: &Value) -> Result<String> {
    let req = request_from(request)?;
    let target = match &req.target {
        Some(t) => Some(crate::target::Target::parse(t)?.as_str().to_owned()),
        None => None,
    };
    Ok(crate::gate::request_digest(
        gate_id,
        passport_id,
        &req.action,
        target.as_deref(),
        req.cost_cents,
        &req.metadata,
    ))
}
