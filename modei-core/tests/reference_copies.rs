//! `testvectors/reference/` holds verbatim copies of the shared reference vectors so every
//! language can read them from the repository. When `shared/vectors/` sits beside the
//! repository (as on developer machines and CI), the copies must be byte-identical.

mod common;

#[test]
fn copies_match_the_shared_originals() {
    let shared = common::testvectors_dir().join("../../shared/vectors");
    if !shared.exists() {
        eprintln!("shared/vectors not present beside the repository; nothing to compare");
        return;
    }
    for (copy, original) in [
        ("modei-v2-vectors.json", "modei-v2-vectors.json"),
        ("jcs-vectors.json", "jcs-vectors.json"),
        (
            "wycheproof-ed25519_test.json",
            "external/wycheproof-ed25519_test.json",
        ),
    ] {
        let a = std::fs::read(common::testvectors_dir().join("reference").join(copy)).unwrap();
        let b = std::fs::read(shared.join(original)).unwrap();
        assert!(
            a == b,
            "testvectors/reference/{copy} differs from shared/vectors/{original}"
        );
    }
}
