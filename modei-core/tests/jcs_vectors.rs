//! Every vector of Modei's RFC 8785 corpus (`testvectors/reference/jcs-vectors.json`, produced by
//! running the reference canonicalizer) must be reproduced byte for byte, hash included, and
//! every `rejects` vector must be rejected.

mod common;

use modei_core::canonical::canonicalize_text;
use sha2::{Digest, Sha256};

#[test]
fn jcs_corpus() {
    let doc = common::load("reference/jcs-vectors.json");
    let vectors = doc["vectors"].as_array().expect("vectors");
    assert_eq!(
        vectors.len(),
        doc["summary"]["cases_in_this_file"].as_u64().unwrap() as usize
    );
    let mut failures = Vec::new();
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let input = v["input_json"].as_str().unwrap();
        let got = canonicalize_text(input.as_bytes());
        if v["rejects"].as_bool().unwrap() {
            if let Ok(bytes) = got {
                failures.push(format!(
                    "{name}: expected a rejection, got {:?}",
                    String::from_utf8_lossy(&bytes)
                ));
            }
            continue;
        }
        match got {
            Err(e) => failures.push(format!("{name}: unexpected error {e}")),
            Ok(bytes) => {
                let want = hex::decode(v["canonical_hex"].as_str().unwrap()).unwrap();
                if bytes != want {
                    failures.push(format!(
                        "{name}: got {:?} want {:?}",
                        String::from_utf8_lossy(&bytes),
                        v["canonical"]
                    ));
                }
                let sha = hex::encode(Sha256::digest(&bytes));
                if sha != v["sha256"].as_str().unwrap() {
                    failures.push(format!("{name}: sha256 {sha}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rejections_carry_the_reference_code_for_non_finite_numbers() {
    for text in ["1e400", "[-1e400]", "{\"a\":1e999}"] {
        let e = canonicalize_text(text.as_bytes()).unwrap_err();
        assert_eq!(
            e.code().as_str(),
            "non_finite_number_in_canonical_input",
            "{text}"
        );
    }
}
