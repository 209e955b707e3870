//! Runs every Wycheproof Ed25519 verification case through `keys::verify_strict`.
//!
//! The file lives in the shared vectors directory, outside the crate; set `MODEI_SHARED` to
//! its `shared` directory when the crate is built elsewhere.

use modei_core::keys::{verify_strict, PublicKey};
use serde_json::Value;
use std::path::PathBuf;

fn shared_file(rel: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("MODEI_SHARED") {
        return PathBuf::from(dir).join(rel);
    }
    // `../../shared` from the crate in the main checkout; worktrees sit one level deeper, so
    // look in each ancestor in turn.
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|a| a.join("shared").join(rel))
        .find(|p| p.exists())
        .unwrap_or_else(|| manifest.join("../../shared").join(rel))
}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex in vector file: {e}"))
}

#[test]
fn wycheproof_ed25519_all_cases() {
    let path = shared_file("vectors/external/wycheproof-ed25519_test.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e} (set MODEI_SHARED)", path.display()));
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut count = 0;
    let mut failures = Vec::new();
    for group in doc["testGroups"].as_array().unwrap() {
        let pk = hex(group["publicKey"]["pk"].as_str().unwrap());
        // The group's JWK and PEM forms must name the same key as its hex, when it parses.
        if let Ok(k) = PublicKey::from_bytes(&pk) {
            let jwk = PublicKey::from_jwk(&group["publicKeyJwk"]).unwrap();
            assert_eq!(jwk, k);
            let pem = PublicKey::from_spki_pem(group["publicKeyPem"].as_str().unwrap()).unwrap();
            assert_eq!(pem, k);
        }
        for case in group["tests"].as_array().unwrap() {
            count += 1;
            let id = case["tcId"].as_i64().unwrap();
            let msg = hex(case["msg"].as_str().unwrap());
            let sig = hex(case["sig"].as_str().unwrap());
            let expected_valid = match case["result"].as_str().unwrap() {
                "valid" => true,
                "invalid" => false,
                other => panic!("tcId {id}: unexpected result {other:?}"),
            };
            let got = verify_strict(&pk, &msg, &sig);
            if got.is_ok() != expected_valid {
                failures.push(format!(
                    "tcId {id} ({}): expected {}, got {:?}",
                    case["comment"], case["result"], got
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(count, 151);
    assert_eq!(doc["numberOfTests"].as_i64(), Some(151));
}
