//! `modei attest ...`, `modei catalog ...`, `modei receipt verify`: the gate's signed records.

use crate::{io, CliError, Outcome};
use modei_core::attestation::{
    read_jsonl_line, verify_jsonl, Attestation, Attestor, Checkpoint, GateKeySet, LineRead,
    LogVerifier, MAX_RECORD_BYTES,
};
use modei_core::catalog::{diff, Catalog, CatalogDraft, Permission, RiskLevel};
use modei_core::keys::PublicKey;
use modei_core::receipt::{Receipt, DEFAULT_POP_WINDOW_MS};
use modei_core::time::Timestamp;
use serde_json::{json, Value};
use std::io::{BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// Trusted gate keys, repeatable: `<gate_id>/<key_id>=<public key>` (JWK, PEM, base64,
/// base64url, hex, or @path).
#[derive(clap::Args)]
pub struct GateKeyArgs {
    /// A trusted gate key: `GATE_ID/KEY_ID=KEY` (KEY as JWK, PEM, base64, hex, or @path). Repeatable.
    #[arg(long = "gate-key", required = true)]
    gate_keys: Vec<String>,
}

impl GateKeyArgs {
    fn set(&self) -> Result<GateKeySet, CliError> {
        let mut set = GateKeySet::new();
        for g in &self.gate_keys {
            let bad = || {
                CliError::input(
                    "invalid_argument",
                    format!("--gate-key {g:?}: expected GATE_ID/KEY_ID=KEY"),
                )
            };
            let (ids, key) = g.split_once('=').ok_or_else(bad)?;
            let (gate, kid) = ids.split_once('/').ok_or_else(bad)?;
            if gate.is_empty() || kid.is_empty() {
                return Err(bad());
            }
            let pk = PublicKey::parse_any(io::inline_or_file(key)?.trim())?;
            set.insert(gate, kid, pk);
        }
        Ok(set)
    }
}

#[derive(clap::Subcommand)]
pub enum AttestCmd {
    /// Verify a JSON Lines attestation log, streaming (exit 1 at the first failure, with its
    /// 0-based index and code). A progress bar is shown on stderr when it is a terminal.
    ///
    /// Example: modei attest verify attestations.jsonl --gate-key gate_travel/gate-2026=@gate.pub.jwk --checkpoint checkpoint.json
    Verify(AttestVerifyArgs),
    /// Export records of a log (optionally one passport's chain) as JSON Lines, each record
    /// parsed and re-serialised; a malformed or torn line stops the export (exit 2).
    ///
    /// Example: modei attest export attestations.jsonl --passport pp_demo_0001 > agent.jsonl
    Export(ExportArgs),
}

#[derive(clap::Args)]
pub struct AttestVerifyArgs {
    /// The log (JSON Lines); stdin when `-`.
    log: PathBuf,
    /// A signed checkpoint the log must reach (repeatable): detects truncation.
    #[arg(long)]
    checkpoint: Vec<PathBuf>,
    #[command(flatten)]
    keys: GateKeyArgs,
    /// Print the report as JSON: {valid, records, passports, first_error: {index, code, detail}}.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The log (JSON Lines); stdin when `-`.
    log: PathBuf,
    /// Only this passport's records.
    #[arg(long)]
    passport: Option<String>,
    /// Only this gate's records.
    #[arg(long)]
    gate: Option<String>,
}

/// Counts bytes read and draws a bar on stderr (only when stderr is a terminal).
struct Progress<R> {
    inner: R,
    read: u64,
    total: u64,
    last_drawn: u64,
    enabled: bool,
}

impl<R> Progress<R> {
    fn draw(&mut self, force: bool) {
        if !self.enabled || self.total == 0 {
            return;
        }
        if !force && self.read - self.last_drawn < (1 << 20) {
            return;
        }
        self.last_drawn = self.read;
        let frac = (self.read as f64 / self.total as f64).min(1.0);
        let width = 30;
        let filled = (frac * width as f64) as usize;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{}{}] {:>3.0}%  {} / {} MB",
            "#".repeat(filled),
            " ".repeat(width - filled),
            frac * 100.0,
            self.read >> 20,
            self.total >> 20
        );
        let _ = err.flush();
    }

    fn finish(&mut self) {
        if self.enabled && self.total > 0 {
            self.draw(true);
            let _ = writeln!(std::io::stderr());
        }
    }
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.draw(false);
        Ok(n)
    }
}

fn open(path: &Path) -> Result<(Box<dyn Read>, u64), CliError> {
    if path == Path::new("-") {
        return Ok((Box::new(std::io::stdin()), 0));
    }
    let f = std::fs::File::open(path)
        .map_err(|e| CliError::input("io_error", format!("{}: {e}", path.display())))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((Box::new(f), len))
}

pub fn run(c: AttestCmd) -> Result<Outcome, CliError> {
    match c {
        AttestCmd::Verify(a) => {
            let keys = a.keys.set()?;
            let mut verifier = LogVerifier::new(&keys);
            for p in &a.checkpoint {
                let cp = Checkpoint::from_json(&io::read_input(Some(p))?)?;
                verifier.checkpoint(&cp)?;
            }
            let (r, total) = open(&a.log)?;
            let mut progress = Progress {
                inner: r,
                read: 0,
                total,
                last_drawn: 0,
                enabled: std::io::stderr().is_terminal(),
            };
            let started = std::time::Instant::now();
            let report = {
                let mut buf = BufReader::with_capacity(1 << 16, &mut progress);
                verify_jsonl(&mut buf, verifier)
            };
            progress.finish();
            let secs = started.elapsed().as_secs_f64();
            let mut v = report.to_value();
            v["valid"] = json!(report.is_ok());
            if a.json {
                io::print_json(&v);
            } else {
                match &report.first_error {
                    None => io::line(&format!(
                        "valid  {} records, {} chain(s), {:.0} records/s",
                        report.records,
                        report.passports,
                        report.records as f64 / secs.max(1e-9)
                    )),
                    Some((i, e)) => io::line(&format!(
                        "invalid  record {i}: {}: {}",
                        e.code(),
                        e.detail()
                    )),
                }
            }
            Ok(if report.is_ok() {
                Outcome::Ok
            } else {
                Outcome::Failed
            })
        }
        AttestCmd::Export(a) => {
            let (r, _) = open(&a.log)?;
            let mut input = BufReader::with_capacity(1 << 16, r);
            let mut buf = Vec::new();
            let mut out = std::io::stdout().lock();
            let mut index = 0u64;
            loop {
                let read = read_jsonl_line(&mut input, &mut buf, MAX_RECORD_BYTES)
                    .map_err(|e| CliError::input("io_error", format!("reading the log: {e}")))?;
                match read {
                    LineRead::Eof => break,
                    LineRead::Torn => {
                        return Err(CliError::input(
                            "log_torn_tail",
                            format!("record {index}: the last line has no newline (torn write)"),
                        ))
                    }
                    LineRead::TooLong => {
                        return Err(CliError::input(
                            "attestation_malformed",
                            format!("record {index}: longer than {MAX_RECORD_BYTES} bytes"),
                        ))
                    }
                    LineRead::Line => {}
                }
                let rec = Attestation::from_json(&buf).map_err(|e| {
                    CliError::input(e.code().as_str(), format!("record {index}: {}", e.detail()))
                })?;
                index += 1;
                let b = rec.body();
                if a.passport.as_deref().is_some_and(|p| p != b.passport_id)
                    || a.gate.as_deref().is_some_and(|g| g != b.gate_id)
                {
                    continue;
                }
                let mut line = Vec::with_capacity(buf.len() + 1);
                rec.append_json_line(&mut line);
                if out.write_all(&line).is_err() {
                    break; // closed pipe
                }
            }
            Ok(Outcome::Ok)
        }
    }
}

// ------------------------------------------------------------------------------------------
// Catalogs
// ------------------------------------------------------------------------------------------

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

fn read_catalog(path: &Path) -> Result<Catalog, CliError> {
    Catalog::from_json(&io::read_input(Some(path))?).map_err(|e| {
        CliError::input(
            e.code().as_str(),
            format!("{}: {}", path.display(), e.detail()),
        )
    })
}

pub fn catalog(c: CatalogCmd) -> Result<Outcome, CliError> {
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

// ------------------------------------------------------------------------------------------
// Receipts
// ------------------------------------------------------------------------------------------

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

pub fn receipt(c: ReceiptCmd) -> Result<Outcome, CliError> {
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
