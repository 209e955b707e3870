//! The published table of error codes, generated from [`Code::ALL`] so it cannot drift.

use crate::error::{Code, Family};

/// `docs/errors.md`: every code with its family and meaning, as Markdown.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Error codes\n\nGenerated from `modei-core/src/error.rs` by `modei errors --markdown`; a test fails if this file\ndrifts from the code. Every failure in every language carries one of these codes (Python:\n`ModeiError.code`; JavaScript: `ModeiError.code`). The family is the exception class a caller\ncatches.\n\n| code | family | meaning |\n|---|---|---|\n",
    );
    for c in Code::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            c.as_str(),
            c.family().as_str(),
            c.meaning()
        ));
    }
    out
}

/// Every code as JSON objects `{code, family, meaning}`.
pub fn json() -> serde_json::Value {
    serde_json::Value::Array(
        Code::ALL
            .iter()
            .map(|c| serde_json::json!({"code": c.as_str(), "family": c.family().as_str(), "meaning": c.meaning()}))
            .collect(),
    )
}

/// All families, in table order.
pub const FAMILIES: &[Family] = &[
    Family::Canonicalization,
    Family::Key,
    Family::Passport,
    Family::Trust,
    Family::Constraint,
    Family::Attestation,
    Family::Catalog,
    Family::State,
    Family::Input,
];
