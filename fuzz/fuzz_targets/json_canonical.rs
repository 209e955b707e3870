//! Strict JSON reader + RFC 8785 canonicalizer: never panics; for every accepted document,
//! canonicalize∘parse is idempotent (the canonical text parses, and re-canonicalizes to
//! itself), and `canonicalize_text` agrees with `canonicalize(parse_strict(..))`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modei_core::{canonical, json};

fuzz_target!(|data: &[u8]| {
    let _ = json::parse_lenient(data);
    let Ok(v) = json::parse_strict(data) else {
        return;
    };
    let c1 = canonical::canonicalize(&v);
    assert_eq!(canonical::canonical_len(&v), c1.len());
    let v2 = json::parse_strict(&c1).expect("canonical output must parse strictly");
    let c2 = canonical::canonicalize(&v2);
    assert_eq!(c1, c2, "canonicalize∘parse is not idempotent");
    if let Ok(t) = canonical::canonicalize_text(data) {
        assert_eq!(t, c1);
    }
});
