//! `modei receipt verify`: consumption receipts.

use super::attest::GateKeyArgs;
use super::catalog::read_catalog;
use crate::{io, CliError, Outcome};
use modei_core::keys::PublicKey;
use modei_core::receipt::{Receipt, DEFAULT_POP_WINDOW_MS};
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum ReceiptCmd {
    /// Verify a consumption receipt: the gate signature, the agent's proof of possession, the
    /// pinned catalog, and that the charge recomputes exactly from it.
    ///
    /// Example: modei receipt verify receipt.json --gate-key gate_travel/gate-2026=@gate.pub.jwk --agent-key @agent.pub.jwk --catalog catalog-v1.json
    Verify(ReceiptVerifyArgs),
}

#[derive(clap::Args)]
pub struct ReceiptVerifyArgs {
    /// The receipt JSON; stdin when `-`.
    file: PathBuf,
    #[command(flatten)]
    keys: GateKeyArgs,
    /// The agent's public key (the passport's key): JWK, PEM, base64, hex, or @path.
    #[arg(long)]
    agent_key: String,
    /// The catalog version the receipt pins.
    #[arg(long)]
    catalog: PathBuf,
    /// Accepted PoP age in seconds.
    #[arg(long, default_value_t = DEFAULT_POP_WINDOW_MS / 1000)]
    pop_window: i64,
    /// Print {valid, code, detail} as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(c: ReceiptCmd) -> Result<Outcome, CliError> {
    let ReceiptCmd::Verify(a) = c;
    let keys = a.keys.set()?;
    let agent = PublicKey::parse_any(io::inline_or_file(&a.agent_key)?.trim())?;
    let catalog = read_catalog(&a.catalog)?;
    let bytes = io::read_input(Some(&a.file))?;
    let r = Receipt::from_json(&bytes)
        .and_then(|r| r.verify(&keys, &agent, &catalog, a.pop_window.saturating_mul(1000)));
    if a.json {
        io::print_json(&json!({"valid": r.is_ok(),
            "code": r.as_ref().err().map(|e| e.code().as_str()),
            "detail": r.as_ref().err().map(|e| e.detail())}));
    } else {
        match &r {
            Ok(()) => io::line("valid"),
            Err(e) => io::line(&format!("invalid  {}: {}", e.code(), e.detail())),
        }
    }
    Ok(if r.is_ok() {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}
