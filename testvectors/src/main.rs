//! Writes (or with `--check`, compares) modei's own test vectors under `testvectors/`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut stale = Vec::new();
    for (rel, bytes) in modei_testvectors::generate() {
        let path = root.join(&rel);
        if check {
            if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
                stale.push(rel);
            }
        } else {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).expect("create vector directory");
            }
            std::fs::write(&path, &bytes).expect("write vector file");
            println!("wrote {rel}");
        }
    }
    if stale.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("stale vector files (run `cargo run -p modei-testvectors --bin generate-vectors`): {stale:?}");
        ExitCode::FAILURE
    }
}
