//! Reading inputs and writing outputs for the commands (the core does no I/O).

use crate::CliError;
use std::io::{Read, Write};
use std::path::Path;

/// Largest input any command reads from a file or stdin (the core bounds what it parses).
pub const MAX_INPUT: u64 = 64 << 20;

/// Reads a file, or stdin when `path` is `None` or `-`.
pub fn read_input(path: Option<&Path>) -> Result<Vec<u8>, CliError> {
    let mut buf = Vec::new();
    match path {
        Some(p) if p != Path::new("-") => {
            let f = std::fs::File::open(p)
                .map_err(|e| CliError::input("io_error", format!("{}: {e}", p.display())))?;
            f.take(MAX_INPUT + 1)
                .read_to_end(&mut buf)
                .map_err(|e| CliError::input("io_error", format!("{}: {e}", p.display())))?;
        }
        _ => {
            std::io::stdin()
                .take(MAX_INPUT + 1)
                .read_to_end(&mut buf)
                .map_err(|e| CliError::input("io_error", format!("stdin: {e}")))?;
        }
    }
    if buf.len() as u64 > MAX_INPUT {
        return Err(CliError::input(
            "limit_exceeded",
            format!("input exceeds {MAX_INPUT} bytes"),
        ));
    }
    Ok(buf)
}

/// Reads a value given inline or as `@path`.
pub fn inline_or_file(arg: &str) -> Result<String, CliError> {
    match arg.strip_prefix('@') {
        Some(path) => {
            let bytes = read_input(Some(Path::new(path)))?;
            String::from_utf8(bytes)
                .map_err(|_| CliError::input("invalid_argument", format!("{path}: not UTF-8 text")))
        }
        None => Ok(arg.to_owned()),
    }
}

/// Writes bytes to stdout (ignoring a closed pipe).
pub fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// Prints one JSON value on its own line (ignoring a closed pipe, unlike `println!`).
pub fn print_json(v: &serde_json::Value) {
    line(&v.to_string());
}

/// Prints one line of text on stdout (ignoring a closed pipe, unlike `println!`).
pub fn line(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.write_all(b"\n");
}

/// Writes a file readable only by its owner (private keys), atomically via a temporary sibling.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), CliError> {
    let tmp = path.with_extension("tmp");
    let fail = |e: std::io::Error| CliError::input("io_error", format!("{}: {e}", path.display()));
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(fail)?;
        f.write_all(contents).map_err(fail)?;
        f.sync_all().map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(fail)
}

/// Writes a public file atomically: a temporary sibling, fsync, rename (readers see the old or
/// the new contents, never a partial file).
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::input("io_error", format!("{}: {e}", path.display()));
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(name);
    {
        let mut f = std::fs::File::create(&tmp).map_err(fail)?;
        f.write_all(contents).map_err(fail)?;
        f.sync_all().map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

/// Writes a public file.
pub fn write_public(path: &Path, contents: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, contents)
        .map_err(|e| CliError::input("io_error", format!("{}: {e}", path.display())))
}
