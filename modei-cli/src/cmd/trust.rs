//! `modei trust ...`: edit a trust store file (docs/trust-store.md), atomically.

use crate::{io, CliError, Outcome};
use modei_core::envelope::Tier;
use modei_core::keys::PublicKey;
use modei_core::time::Timestamp;
use modei_core::trust::{IssuerKind, TrustStore, TrustedIssuer, TrustedKey};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum TrustCmd {
    /// Add an issuer (the file is created if it does not exist).
    ///
    /// Example: modei trust add-issuer trust.json --id acme --type organization --name "Acme Corp" --tier L2
    AddIssuer(AddIssuerArgs),
    /// Add a key to an issuer, with an optional validity window (rotation: several keys at once).
    ///
    /// Example: modei trust add-key trust.json --issuer acme --kid acme-2026 --public-key @acme/key.pub.jwk --not-after 2027-01-01T00:00:00Z
    AddKey(AddKeyArgs),
    /// Mark an issuer key revoked: refused for every passport, even ones it signed earlier.
    ///
    /// Example: modei trust revoke-key trust.json --issuer acme --kid acme-2024
    RevokeKey(RevokeKeyArgs),
    /// List the issuers and keys of a trust store (and validate it).
    ///
    /// Example: modei trust list trust.json --json
    List(ListArgs),
}

#[derive(clap::Args)]
pub struct AddIssuerArgs {
    /// The trust store file.
    file: PathBuf,
    /// Issuer id (the `iss` of its passports).
    #[arg(long)]
    id: String,
    /// Issuer type.
    #[arg(long = "type", value_parser = ["self", "platform", "gate", "organization", "delegate"])]
    kind: String,
    /// Display name.
    #[arg(long)]
    name: Option<String>,
    /// Trust tier (L0, L0.5, L1, L2, L3); default by type.
    #[arg(long)]
    tier: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct AddKeyArgs {
    /// The trust store file.
    file: PathBuf,
    /// Issuer id.
    #[arg(long)]
    issuer: String,
    /// Key id (`kid`).
    #[arg(long)]
    kid: String,
    /// The public key: JWK, PEM, base64, base64url or hex, or @path to a file holding one.
    #[arg(long)]
    public_key: String,
    /// Valid from (RFC 3339, inclusive).
    #[arg(long)]
    not_before: Option<String>,
    /// Valid until (RFC 3339, exclusive).
    #[arg(long)]
    not_after: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct RevokeKeyArgs {
    /// The trust store file.
    file: PathBuf,
    /// Issuer id.
    #[arg(long)]
    issuer: String,
    /// Key id.
    #[arg(long)]
    kid: String,
    /// When it was revoked (RFC 3339; informational). Default: now.
    #[arg(long)]
    at: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// The trust store file.
    file: PathBuf,
    /// Print the normalised store as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(c: TrustCmd) -> Result<Outcome, CliError> {
    match c {
        TrustCmd::AddIssuer(a) => {
            let mut store = load(&a.file, true)?;
            if store.issuer(&a.id).is_some() {
                return Err(CliError::input(
                    "invalid_argument",
                    format!("{}: issuer {:?} already exists", a.file.display(), a.id),
                ));
            }
            let kind = IssuerKind::parse(&a.kind)
                .ok_or_else(|| CliError::input("invalid_argument", "--type"))?;
            let mut issuer = TrustedIssuer::new(a.id.clone(), kind);
            if let Some(n) = a.name {
                issuer = issuer.with_name(n);
            }
            if let Some(t) = a.tier {
                issuer = issuer.with_tier(Tier::parse(&t).ok_or_else(|| {
                    CliError::input(
                        "invalid_argument",
                        format!("--tier {t:?}: L0, L0.5, L1, L2 or L3"),
                    )
                })?);
            }
            store.insert(issuer)?;
            save(&a.file, &store)?;
            done(
                a.json,
                &format!("added issuer {}", a.id),
                json!({"added_issuer": a.id}),
            )
        }
        TrustCmd::AddKey(a) => {
            let mut store = load(&a.file, false)?;
            let key = PublicKey::parse_any(io::inline_or_file(&a.public_key)?.trim())?;
            let nb = time_arg("--not-before", a.not_before.as_deref())?;
            let na = time_arg("--not-after", a.not_after.as_deref())?;
            let issuer = store
                .issuer_mut(&a.issuer)
                .ok_or_else(|| unknown_issuer(&a.file, &a.issuer))?;
            if issuer.key(&a.kid).is_some() {
                return Err(CliError::input(
                    "invalid_argument",
                    format!("issuer {:?} already has a key {:?}", a.issuer, a.kid),
                ));
            }
            let updated = issuer
                .clone()
                .with_key(TrustedKey::new(a.kid.clone(), key.clone()).window(nb, na));
            *issuer = updated;
            save(&a.file, &store)?;
            done(
                a.json,
                &format!("added key {} to {}", a.kid, a.issuer),
                json!({"issuer": a.issuer, "added_key": a.kid, "thumbprint": key.thumbprint()}),
            )
        }
        TrustCmd::RevokeKey(a) => {
            let mut store = load(&a.file, false)?;
            let at = match a.at.as_deref() {
                Some(_) => time_arg("--at", a.at.as_deref())?,
                None => Some(super::now_from(None)?),
            };
            let issuer = store
                .issuer_mut(&a.issuer)
                .ok_or_else(|| unknown_issuer(&a.file, &a.issuer))?;
            let key = issuer.key_mut(&a.kid).ok_or_else(|| {
                CliError::input(
                    "invalid_argument",
                    format!("issuer {:?} has no key {:?}", a.issuer, a.kid),
                )
            })?;
            *key = key.clone().revoke(at);
            save(&a.file, &store)?;
            done(
                a.json,
                &format!("revoked key {} of {}", a.kid, a.issuer),
                json!({"issuer": a.issuer, "revoked_key": a.kid}),
            )
        }
        TrustCmd::List(a) => {
            let store = load(&a.file, false)?;
            let v: Value = serde_json::from_str(&store.to_json()?).unwrap_or(Value::Null);
            if a.json {
                io::print_json(&v);
                return Ok(Outcome::Ok);
            }
            let empty = Vec::new();
            for i in v["issuers"].as_array().unwrap_or(&empty) {
                io::line(&format!(
                    "{}  type {}  tier {}{}",
                    i["id"].as_str().unwrap_or(""),
                    i["type"].as_str().unwrap_or(""),
                    i["tier"].as_str().unwrap_or("(default)"),
                    i["name"]
                        .as_str()
                        .map(|n| format!("  \"{n}\""))
                        .unwrap_or_default()
                ));
                for k in i["keys"].as_array().unwrap_or(&empty) {
                    io::line(&format!(
                        "  key {}  from {}  until {}{}",
                        k["kid"].as_str().unwrap_or(""),
                        k["not_before"].as_str().unwrap_or("-"),
                        k["not_after"].as_str().unwrap_or("-"),
                        if k["revoked"] == true {
                            "  REVOKED"
                        } else {
                            ""
                        }
                    ));
                }
            }
            Ok(Outcome::Ok)
        }
    }
}

fn unknown_issuer(file: &Path, id: &str) -> CliError {
    CliError::input(
        "issuer_unknown",
        format!(
            "{}: no issuer {id:?} (add it with `modei trust add-issuer`)",
            file.display()
        ),
    )
}

fn time_arg(flag: &str, v: Option<&str>) -> Result<Option<Timestamp>, CliError> {
    v.map(|s| {
        Timestamp::parse_rfc3339(s)
            .map_err(|e| CliError::input("invalid_argument", format!("{flag}: {}", e.detail())))
    })
    .transpose()
}

fn done(json_out: bool, text: &str, v: Value) -> Result<Outcome, CliError> {
    if json_out {
        io::print_json(&v);
    } else {
        io::line(text);
    }
    Ok(Outcome::Ok)
}

fn load(path: &Path, create: bool) -> Result<TrustStore, CliError> {
    if create && !path.exists() {
        return Ok(TrustStore::new());
    }
    Ok(TrustStore::from_json(
        &io::read_input(Some(path))?,
        &path.display().to_string(),
    )?)
}

/// Validates (what is written must load again) and writes atomically: a temporary sibling,
/// fsync, rename.
fn save(path: &Path, store: &TrustStore) -> Result<(), CliError> {
    let text = store.to_json()?;
    TrustStore::from_json(text.as_bytes(), &path.display().to_string())?;
    io::write_atomic(path, text.as_bytes())
}
