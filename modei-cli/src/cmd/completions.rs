//! `modei completions <shell>`.

use crate::{CliError, Outcome};

#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

pub fn run<C: clap::CommandFactory>(a: CompletionsArgs) -> Result<Outcome, CliError> {
    let mut cmd = C::command();
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "modei", &mut out);
    crate::io::write_stdout(&out);
    Ok(Outcome::Ok)
}
