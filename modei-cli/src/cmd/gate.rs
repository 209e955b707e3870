//! `modei gate ...`.

use crate::{io, CliError, Outcome};
use modei_core::gate::{Gate, GateConfig, GateRequest};
use modei_core::time::{FixedClock, Timestamp};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Subcommand)]
pub enum GateCmd {
    /// Decide one request: prints the decision JSON; exit 0 allow, 1 block or request_hold,
    /// 2 bad input.
    ///
    /// The config format is in docs/gate.md; `trust_store`, `revocation` and `catalogs[]` may
    /// be file paths relative to the config file.
    ///
    /// Example: modei gate check --config gate.json --request request.json --now 2026-03-02T00:00:00Z
    Check(CheckArgs),
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The gate configuration (JSON).
    #[arg(long)]
    config: PathBuf,
    /// The request (JSON); stdin when `-`.
    #[arg(long)]
    request: PathBuf,
    /// A passport file (JWT or envelope wire pair) replacing the request's `passport`.
    #[arg(long)]
    passport: Option<PathBuf>,
    /// Run everything, change nothing, attest nothing.
    #[arg(long)]
    dry_run: bool,
    /// Decide at this instant (RFC 3339) instead of the system clock.
    #[arg(long)]
    now: Option<String>,
    /// Earlier requests to replay first: a JSON list of {"now": RFC 3339, "request": {...},
    /// "dry_run"?: bool} (the gate vectors' `prior`).
    #[arg(long)]
    state: Option<PathBuf>,
}

pub fn run(c: GateCmd) -> Result<Outcome, CliError> {
    match c {
        GateCmd::Check(a) => check(a),
    }
}

fn parse_json(bytes: &[u8], origin: &str) -> Result<Value, CliError> {
    modei_core::json::parse_strict(bytes).map_err(|e| CliError::from(e.at(origin)))
}

/// Reads the config and replaces file-path members by the files' JSON.
pub fn load_config(path: &Path) -> Result<GateConfig, CliError> {
    let origin = path.display().to_string();
    let mut v = parse_json(&io::read_input(Some(path))?, &origin)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let load = |rel: &str| -> Result<Value, CliError> {
        let p = dir.join(rel);
        parse_json(&io::read_input(Some(&p))?, &p.display().to_string())
    };
    if let Some(obj) = v.as_object_mut() {
        for member in ["trust_store", "revocation"] {
            if let Some(Value::String(rel)) = obj.get(member).cloned() {
                obj.insert(member.into(), load(&rel)?);
            }
        }
        if let Some(Value::Array(items)) = obj.get_mut("catalogs") {
            for item in items.iter_mut() {
                if let Value::String(rel) = item.clone() {
                    *item = load(&rel)?;
                }
            }
        }
    }
    Ok(GateConfig::from_value(&v, &origin)?)
}

fn read_request(path: &Path) -> Result<GateRequest, CliError> {
    let bytes = io::read_input(Some(path))?;
    GateRequest::from_json(&bytes).map_err(|e| CliError::from(e.at(&path.display().to_string())))
}

fn check(a: CheckArgs) -> Result<Outcome, CliError> {
    let mut cfg = load_config(&a.config)?;
    let now = super::now_from(a.now.as_deref())?;
    if a.now.is_some() {
        cfg.clock = Arc::new(FixedClock(now));
    }
    let gate = Gate::new(cfg)?;
    let mut req = read_request(&a.request)?;
    if let Some(p) = &a.passport {
        let bytes = io::read_input(Some(p))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            CliError::input(
                "invalid_argument",
                format!("{}: not UTF-8 text", p.display()),
            )
        })?;
        req.passport = Some(text.trim().into());
    }
    if let Some(s) = &a.state {
        let origin = s.display().to_string();
        let v = parse_json(&io::read_input(Some(s))?, &origin)?;
        let items = v.as_array().ok_or_else(|| {
            CliError::input(
                "invalid_argument",
                format!("{origin}: a list of {{now, request, dry_run?}}"),
            )
        })?;
        for (i, item) in items.iter().enumerate() {
            let at = format!("{origin}: [{i}]");
            let t = item.get("now").and_then(Value::as_str).ok_or_else(|| {
                CliError::input("invalid_argument", format!("{at}.now: an RFC 3339 string"))
            })?;
            let t = Timestamp::parse_rfc3339(t).map_err(|e| CliError::from(e.at(&at)))?;
            let r = item.get("request").ok_or_else(|| {
                CliError::input("invalid_argument", format!("{at}.request is missing"))
            })?;
            let r: GateRequest = serde_json::from_value(r.clone())
                .map_err(|e| CliError::input("request_invalid", format!("{at}.request: {e}")))?;
            match item.get("dry_run") {
                None | Some(Value::Bool(false)) => gate.check_at(&r, t),
                Some(Value::Bool(true)) => gate.dry_run_at(&r, t),
                Some(_) => {
                    return Err(CliError::input(
                        "invalid_argument",
                        format!("{at}.dry_run: true or false"),
                    ))
                }
            };
        }
    }
    let d = if a.dry_run {
        gate.dry_run_at(&req, now)
    } else {
        gate.check_at(&req, now)
    };
    io::print_json(&d.to_value());
    Ok(if d.is_allowed() {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}
