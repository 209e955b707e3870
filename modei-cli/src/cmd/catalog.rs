//! `modei catalog publish|verify|diff`: signed, versioned permission catalogs.

use super::attest::GateKeyArgs;
use crate::{io, CliError, Outcome};
use modei_core::attestation::Attestor;
use modei_core::catalog::{diff, Catalog, CatalogDraft, Permission, RiskLevel};
use modei_core::time::Timestamp;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum CatalogCmd {
    /// Sign a catalog draft with the gate key (the published catalog is immutable).
    ///
    /// Draft: {"gate_id", "version", "min_compatible_version"?, "published_at"?,
    /// "effective_at"?, "change_summary"?, "permissions": [{"permission_key", "display_name"?,
    /// "description"?, "risk_level"?, "min_trust_level"?, "constraints"?}]}.
    ///
    /// Example: modei catalog publish draft.json --key gate.jwk --key-id gate-2026 > catalog-v1.json
    Publish(PublishArgs),
    /// Verify a published catalog's hash and signature.
    ///
    /// Example: modei catalog verify catalog-v1.json --gate-key gate_travel/gate-2026=@gate.pub.jwk --json
    Verify(CatalogVerifyArgs),
    /// Diff two catalog versions; exit 1 with `--fail-on-breaking` if any change is breaking.
    ///
    /// Example: modei catalog diff catalog-v1.json catalog-v2.json --json
    Diff(DiffArgs),
}

#[derive(clap::Args)]
pub struct PublishArgs {
    /// The draft JSON; stdin when `-`.
    draft: PathBuf,
    /// The gate's signing key: private JWK, PKCS#8 PEM or Modei credentials file.
    #[arg(long)]
    key: PathBuf,
    /// Key id (default: the RFC 7638 thumbprint).
    #[arg(long)]
    key_id: Option<String>,
    /// Publication time (RFC 3339) instead of the system clock (when the draft has none).
    #[arg(long)]
    now: Option<String>,
}

#[derive(clap::Args)]
pub struct CatalogVerifyArgs {
    /// The catalog JSON; stdin when `-`.
    file: PathBuf,
    #[command(flatten)]
    keys: GateKeyArgs,
    /// Print {valid, code, detail, gate_id, version, content_hash} as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct DiffArgs {
    /// The older catalog.
    old: PathBuf,
    /// The newer catalog.
    new: PathBuf,
    /// Exit 1 if any change is breaking.
    #[arg(long)]
    fail_on_breaking: bool,
    /// Print the diff as JSON.
    #[arg(long)]
    json: bool,
}

fn draft_from(v: &Value, now: Timestamp) -> Result<CatalogDraft, CliError> {
    let bad = |d: String| CliError::input("catalog_malformed", format!("draft: {d}"));
    let s = |o: &Value, k: &str| o.get(k).and_then(Value::as_str).map(str::to_owned);
    let t = |k: &str| -> Result<Option<Timestamp>, CliError> {
        match s(v, k) {
            None => Ok(None),
            Some(x) => Timestamp::parse_rfc3339(&x)
                .map(Some)
                .map_err(|e| bad(format!("{k}: {}", e.detail()))),
        }
    };
    let version = v
        .get("version")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("version: a positive integer is required".into()))?;
    let published_at = t("published_at")?.unwrap_or(now);
    let mut permissions = Vec::new();
    for (i, p) in v
        .get("permissions")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("permissions: a list is required".into()))?
        .iter()
        .enumerate()
    {
        let key = s(p, "permission_key")
            .ok_or_else(|| bad(format!("permissions[{i}].permission_key: required")))?;
        let risk = match s(p, "risk_level") {
            None => RiskLevel::Low,
            Some(r) => RiskLevel::parse(&r)
                .ok_or_else(|| bad(format!("permissions[{i}].risk_level: {r:?}")))?,
        };
        permissions.push(Permission {
            display_name: s(p, "display_name").unwrap_or_else(|| key.clone()),
            description: s(p, "description").unwrap_or_default(),
            risk_level: risk,
            min_trust_level: p
                .get("min_trust_level")
                .and_then(Value::as_u64)
                .map(|n| n.min(255) as u8)
                .unwrap_or(1),
            constraints: match p.get("constraints") {
                None | Some(Value::Null) => Default::default(),
                Some(Value::Object(m)) => m.clone(),
                Some(_) => return Err(bad(format!("permissions[{i}].constraints: an object"))),
            },
            permission_key: key,
        });
    }
    Ok(CatalogDraft {
        gate_id: s(v, "gate_id").ok_or_else(|| bad("gate_id: required".into()))?,
        version,
        min_compatible_version: v
            .get("min_compatible_version")
            .and_then(Value::as_u64)
            .unwrap_or(version),
        published_at,
        effective_at: t("effective_at")?.unwrap_or(published_at),
        change_summary: s(v, "change_summary"),
        permissions,
    })
}

pub fn read_catalog(path: &Path) -> Result<Catalog, CliError> {
    Catalog::from_json(&io::read_input(Some(path))?).map_err(|e| {
        CliError::input(
            e.code().as_str(),
            format!("{}: {}", path.display(), e.detail()),
        )
    })
}

pub fn run(c: CatalogCmd) -> Result<Outcome, CliError> {
    match c {
        CatalogCmd::Publish(a) => {
            let now = super::now_from(a.now.as_deref())?;
            let key = super::passport::read_signing_key(&a.key)?;
            let v = modei_core::json::parse_strict(&io::read_input(Some(&a.draft))?)?;
            let draft = draft_from(&v, now)?;
            let signer = match &a.key_id {
                Some(k) => Attestor::new(&draft.gate_id, k, key)?,
                None => Attestor::with_thumbprint_key_id(&draft.gate_id, key)?,
            };
            let cat = Catalog::publish(draft, &signer)?;
            io::write_stdout(&cat.to_json());
            Ok(Outcome::Ok)
        }
        CatalogCmd::Verify(a) => {
            let keys = a.keys.set()?;
            let bytes = io::read_input(Some(&a.file))?;
            let r = Catalog::verify_json(&bytes, &keys);
            let v = match &r {
                Ok(c) => json!({"valid": true, "code": null, "detail": null,
                    "gate_id": c.gate_id(), "version": c.version(), "content_hash": c.content_hash(),
                    "min_compatible_version": c.min_compatible_version(), "permissions": c.permissions().len()}),
                Err(e) => json!({"valid": false, "code": e.code().as_str(), "detail": e.detail()}),
            };
            if a.json {
                io::print_json(&v);
            } else {
                match &r {
                    Ok(c) => io::line(&format!(
                        "valid  {} v{}  sha256 {}",
                        c.gate_id(),
                        c.version(),
                        c.content_hash()
                    )),
                    Err(e) => io::line(&format!("invalid  {}: {}", e.code(), e.detail())),
                }
            }
            Ok(if r.is_ok() {
                Outcome::Ok
            } else {
                Outcome::Failed
            })
        }
        CatalogCmd::Diff(a) => {
            let d = diff(&read_catalog(&a.old)?, &read_catalog(&a.new)?);
            let v = d.to_value();
            if a.json {
                io::print_json(&v);
            } else {
                io::line(&format!(
                    "v{} -> v{}: {} change(s){}",
                    d.from_version,
                    d.to_version,
                    d.changes.len(),
                    if d.has_breaking_changes() {
                        ", BREAKING"
                    } else {
                        ""
                    }
                ));
                let empty = Vec::new();
                for c in v["changes"].as_array().unwrap_or(&empty) {
                    io::line(&format!("  {c}"));
                }
            }
            Ok(if a.fail_on_breaking && d.has_breaking_changes() {
                Outcome::Failed
            } else {
                Outcome::Ok
            })
        }
    }
}
