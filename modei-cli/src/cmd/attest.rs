//! `modei attest verify|export`: attestation logs.

use crate::{io, CliError, Outcome};
use modei_core::attestation::{
    read_jsonl_line, verify_jsonl, Attestation, Checkpoint, GateKeySet, LineRead, LogVerifier,
    MAX_RECORD_BYTES,
};
use modei_core::keys::PublicKey;
use serde_json::json;
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
    pub fn set(&self) -> Result<GateKeySet, CliError> {
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
