//! `modei keygen` and `modei signature verify`.

use crate::{io, CliError, Outcome};
use modei_core::credentials::Credentials;
use modei_core::encoding::hex_decode;
use modei_core::keys::{PublicKey, Signature, SigningKey};
use modei_core::time::{Clock, SystemClock};
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Directory to write `key.jwk` (private, mode 0600), `key.pub.jwk` and `credentials.json`
    /// (Modei's agent credentials file, mode 0600). Without it, one JSON object is printed.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print JSON (the public key and file names) instead of a summary.
    #[arg(long)]
    json: bool,
}

pub fn keygen(a: KeygenArgs) -> Result<Outcome, CliError> {
    let key = SigningKey::generate()?;
    let pk = key.public_key();
    let creds = Credentials::new(key.clone(), SystemClock.now())?;
    match a.out {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| CliError::input("io_error", format!("{}: {e}", dir.display())))?;
            let private = serde_json::to_string_pretty(&key.to_jwk_private()).unwrap_or_default();
            io::write_private(&dir.join("key.jwk"), private.as_bytes())?;
            let public = serde_json::to_string_pretty(&pk.to_jwk()).unwrap_or_default();
            io::write_public(&dir.join("key.pub.jwk"), public.as_bytes())?;
            io::write_private(
                &dir.join("credentials.json"),
                creds.to_file_text().as_bytes(),
            )?;
            if a.json {
                io::print_json(
                    &json!({"kid": pk.thumbprint(), "public_key": pk.to_base64(), "agent_id": pk.self_agent_id(), "dir": dir.display().to_string(), "files": ["key.jwk", "key.pub.jwk", "credentials.json"]}),
                );
            } else {
                println!(
                    "wrote {}/key.jwk (private), key.pub.jwk, credentials.json (private)",
                    dir.display()
                );
                println!("kid       {}", pk.thumbprint());
                println!("agent_id  {}", pk.self_agent_id());
            }
        }
        None => {
            eprintln!("note: the output contains a private key");
            io::print_json(&json!({
                "kid": pk.thumbprint(),
                "agent_id": pk.self_agent_id(),
                "public_jwk": pk.to_jwk(),
                "private_jwk": key.to_jwk_private(),
                "credentials": creds.to_file_text().as_str(),
            }));
        }
    }
    Ok(Outcome::Ok)
}

#[derive(clap::Subcommand)]
pub enum SignatureCmd {
    /// Strict Ed25519 verification (RFC 8032 §5.1.7): exit 0 valid, 1 invalid, 2 bad input.
    ///
    /// Example: modei signature verify --public-key @key.pub.jwk --signature <b64> < message.bin
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The public key: hex, base64, base64url, JWK or PEM text, or @path to a file holding one.
    #[arg(long)]
    public_key: String,
    /// The signature: hex or base64 (standard or url-safe), or @path.
    #[arg(long)]
    signature: String,
    /// The message as hex; otherwise the message is read from stdin.
    #[arg(long)]
    message_hex: Option<String>,
    /// Print {"valid": bool, "code": string|null}.
    #[arg(long)]
    json: bool,
}

pub fn signature(c: SignatureCmd) -> Result<Outcome, CliError> {
    let SignatureCmd::Verify(a) = c;
    let pk = PublicKey::parse_any(io::inline_or_file(&a.public_key)?.trim())?;
    let sig = Signature::parse_any(io::inline_or_file(&a.signature)?.trim())?;
    let msg = match &a.message_hex {
        Some(h) => hex_decode(h.trim()).map_err(|e| {
            CliError::input("invalid_argument", format!("--message-hex: {}", e.detail()))
        })?,
        None => io::read_input(None)?,
    };
    let result = pk.verify_strict(&msg, &sig);
    if a.json {
        io::print_json(
            &json!({"valid": result.is_ok(), "code": result.as_ref().err().map(|e| e.code().as_str())}),
        );
    } else {
        match &result {
            Ok(()) => println!("valid"),
            Err(e) => println!("invalid: {} ({})", e.code(), e.detail()),
        }
    }
    Ok(if result.is_ok() {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}
