//! `modei canonicalize`: RFC 8785 on stdin → stdout.

use crate::{io, CliError, Outcome};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct CanonicalizeArgs {
    /// Read this file instead of stdin.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Append a newline after the canonical bytes (they never contain one themselves).
    #[arg(long)]
    newline: bool,
}

pub fn run(a: CanonicalizeArgs) -> Result<Outcome, CliError> {
    let text = io::read_input(a.input.as_deref())?;
    match modei_core::canonical::canonicalize_text(&text) {
        Ok(mut bytes) => {
            if a.newline {
                bytes.push(b'\n');
            }
            io::write_stdout(&bytes);
            Ok(Outcome::Ok)
        }
        Err(e) => {
            eprintln!("error[{}]: {}", e.code(), e.detail());
            Ok(Outcome::Failed)
        }
    }
}
