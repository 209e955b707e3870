//! Runs every Wycheproof Ed25519 verification case through `keys::verify_strict`.
//!
//! Reads the verbatim copy in `testvectors/reference/` (checked against `shared/vectors/` by the
//! `reference_copies` test).

mod common;

use modei_core::keys::{verify_strict, PublicKey};
use serde_json::Value;

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex in vector file: {e}"))
}

#[test]
fn wycheproof_ed25519_all_cases() {
    let doc: Value = common::load("reference/wycheproof-ed25519_test.json");
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
