//! `modei`: the command line for modei.
//!
//! Conventions shared by every command: `--json` prints machine-readable output on stdout,
//! otherwise output is for people; errors go to stderr as `error[<code>]: <detail>`; exit codes
//! are 0 success, 1 a verification or decision failure, 2 a usage or input error.

mod cmd;
mod io;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Agent passports, gates and attestations, from the command line.
#[derive(Parser)]
#[command(name = "modei", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify or inspect passports.
    #[command(subcommand)]
    Passport(cmd::passport::PassportCmd),
    /// Write the RFC 8785 canonical form of the JSON on stdin.
    ///
    /// Example: echo '{"b":1,"a":[1.0,2e3]}' | modei canonicalize
    Canonicalize(cmd::canonicalize::CanonicalizeArgs),
    /// Generate an Ed25519 key pair (JWK and Modei credentials formats).
    ///
    /// Example: modei keygen --out ./keys
    Keygen(cmd::keys::KeygenArgs),
    /// Raw Ed25519 signature utilities.
    #[command(subcommand)]
    Signature(cmd::keys::SignatureCmd),
    /// Decide requests at a gate.
    ///
    /// Example: modei gate check --config gate.json --request request.json
    #[command(subcommand)]
    Gate(cmd::gate::GateCmd),
    /// List every error code with its family and meaning.
    ///
    /// Example: modei errors --markdown > docs/errors.md
    Errors {
        /// Markdown table (the published docs/errors.md).
        #[arg(long)]
        markdown: bool,
    },
}

/// How a command ended; mapped to the process exit code.
pub enum Outcome {
    /// Exit 0.
    Ok,
    /// Exit 1: the input was read but did not verify / was refused.
    Failed,
}

/// A usage or input problem (exit 2), or a core error with its code.
pub struct CliError {
    code: String,
    detail: String,
}

impl CliError {
    pub fn input(code: &str, detail: impl Into<String>) -> Self {
        CliError {
            code: code.to_owned(),
            detail: detail.into(),
        }
    }
}

impl From<modei_core::Error> for CliError {
    fn from(e: modei_core::Error) -> Self {
        CliError {
            code: e.code().as_str().to_owned(),
            detail: e.detail().to_owned(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Passport(c) => cmd::passport::run(c),
        Command::Canonicalize(a) => cmd::canonicalize::run(a),
        Command::Keygen(a) => cmd::keys::keygen(a),
        Command::Signature(c) => cmd::keys::signature(c),
        Command::Gate(c) => cmd::gate::run(c),
        Command::Errors { markdown } => {
            if markdown {
                io::write_stdout(modei_core::error_table::markdown().as_bytes());
            } else {
                io::print_json(&modei_core::error_table::json());
            }
            Ok(Outcome::Ok)
        }
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error[{}]: {}", e.code, e.detail);
            ExitCode::from(2)
        }
    }
}
