//! Shared helpers for the integration tests: where the vector files live.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository's `testvectors/` folder.
pub fn testvectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("testvectors")
}

/// Reads a JSON file from `testvectors/` (e.g. `reference/jcs-vectors.json`).
pub fn load(rel: &str) -> serde_json::Value {
    let path = testvectors_dir().join(rel);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// A low-risk catalog permission named after its key.
pub fn catalog_permission(
    key: &str,
    min_trust_level: u8,
    constraints: serde_json::Value,
) -> modei_core::catalog::Permission {
    modei_core::catalog::Permission {
        permission_key: key.into(),
        display_name: key.into(),
        description: String::new(),
        risk_level: modei_core::catalog::RiskLevel::Low,
        min_trust_level,
        constraints: constraints.as_object().cloned().unwrap_or_default(),
    }
}
