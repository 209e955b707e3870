//! `modei passport ...`.

use crate::{io, CliError, Outcome};
use modei_core::envelope::{verify_wire, VerifyOptions};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum PassportCmd {
    /// Verify a passport: exit 0 valid, 1 invalid, 2 bad input.
    ///
    /// Reads `{"envelope": {...}, "signature": "..."}` (or Modei's `{"passport_json": ...}`)
    /// from the file or stdin.
    ///
    /// Example: modei passport verify testvectors/envelopes/self-basic.json --now 2026-05-01T00:00:00Z --json
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The passport file; stdin when absent or `-`.
    file: Option<PathBuf>,
    /// Verify at this instant (RFC 3339) instead of the system clock.
    #[arg(long)]
    now: Option<String>,
    /// Print one JSON object: valid, tier, reason_code, detail, passport_id.
    #[arg(long)]
    json: bool,
}

pub fn run(c: PassportCmd) -> Result<Outcome, CliError> {
    match c {
        PassportCmd::Verify(a) => verify(a),
    }
}

fn verify(a: VerifyArgs) -> Result<Outcome, CliError> {
    let now = super::now_from(a.now.as_deref())?;
    let input = io::read_input(a.file.as_deref())?;
    let result = verify_wire(&input, &VerifyOptions::at(now));
    let out = match &result {
        Ok(v) => json!({
            "valid": true,
            "tier": v.tier.as_str(),
            "reason_code": null,
            "detail": null,
            "passport_id": v.signed.envelope.passport_id,
            "agent_id": v.signed.envelope.agent_id,
            "issuer": {"type": v.signed.envelope.issuer.kind.as_str(), "id": v.signed.envelope.issuer.id},
            "expires_at": v.signed.envelope.expires_at,
        }),
        Err(e) => json!({
            "valid": false,
            "tier": null,
            "reason_code": e.code().as_str(),
            "detail": e.detail(),
            "passport_id": claimed_passport_id(&input),
        }),
    };
    if a.json {
        io::print_json(&out);
    } else if result.is_ok() {
        println!(
            "valid  tier {}  passport {}  agent {}",
            out["tier"].as_str().unwrap_or(""),
            out["passport_id"].as_str().unwrap_or(""),
            out["agent_id"].as_str().unwrap_or("")
        );
    } else {
        println!(
            "invalid  {}: {}",
            out["reason_code"].as_str().unwrap_or(""),
            out["detail"].as_str().unwrap_or("")
        );
    }
    Ok(if result.is_ok() {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}

/// The passport id the input claims (unverified), for reporting only.
fn claimed_passport_id(input: &[u8]) -> Value {
    let Ok(v) = modei_core::json::parse_lenient(input) else {
        return Value::Null;
    };
    let env = v.get("envelope").or_else(|| v.get("passport_json"));
    env.and_then(|e| e.get("passport_id"))
        .filter(|p| p.is_string())
        .cloned()
        .unwrap_or(Value::Null)
}
