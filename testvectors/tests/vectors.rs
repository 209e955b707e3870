//! Our own vectors: the files must equal what the fixed-seed generator writes (no drift), and
//! the library must give every recorded expectation.

use modei_core::canonical::canonicalize_text;
use modei_core::envelope::{verify_wire, VerifyOptions};
use modei_core::keys::{PublicKey, Signature, SigningKey};
use modei_core::time::Timestamp;
use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(root().join(rel)).unwrap()).unwrap()
}

#[test]
fn files_match_the_generator() {
    for (rel, bytes) in modei_testvectors::generate() {
        let on_disk = std::fs::read(root().join(&rel)).unwrap_or_default();
        assert!(on_disk == bytes, "testvectors/{rel} is stale: run `cargo run -p modei-testvectors --bin generate-vectors`");
    }
}

#[test]
fn keys_vectors() {
    let doc = load("keys.json");
    for k in doc["keys"].as_array().unwrap() {
        let sk = SigningKey::from_seed_hex(k["seed_hex"].as_str().unwrap()).unwrap();
        let pk = sk.public_key();
        assert_eq!(pk.to_hex(), k["public_key_hex"].as_str().unwrap());
        for field in ["public_key_base64", "public_key_base64url", "spki_pem"] {
            assert_eq!(
                PublicKey::parse_any(k[field].as_str().unwrap()).unwrap(),
                pk,
                "{field}"
            );
        }
        assert_eq!(PublicKey::from_jwk(&k["jwk"]).unwrap(), pk);
        assert_eq!(pk.thumbprint(), k["jwk_thumbprint"].as_str().unwrap());
        assert_eq!(k["jwk"]["kid"], k["jwk_thumbprint"]);
        assert_eq!(
            SigningKey::from_pkcs8_pem(k["pkcs8_pem"].as_str().unwrap())
                .unwrap()
                .public_key(),
            pk
        );
        assert_eq!(pk.self_agent_id(), k["agent_id"].as_str().unwrap());
        assert_eq!(pk.self_issuer_id(), k["self_issuer_id"].as_str().unwrap());
        let sig = Signature::from_base64(k["signature_over_abc_base64"].as_str().unwrap()).unwrap();
        pk.verify_strict(b"abc", &sig).unwrap();
        assert_eq!(sk.sign(b"abc"), sig);
    }
}

#[test]
fn canonical_vectors() {
    let doc = load("canonical.json");
    for c in doc["cases"].as_array().unwrap() {
        let got = canonicalize_text(c["input_json"].as_str().unwrap().as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            c["canonical"].as_str().unwrap(),
            "{}",
            c["name"]
        );
    }
    for r in doc["rejects"].as_array().unwrap() {
        assert!(
            canonicalize_text(r.as_str().unwrap().as_bytes()).is_err(),
            "{r}"
        );
    }
}

#[test]
fn envelope_vectors() {
    let doc = load("envelopes.json");
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let now = Timestamp::parse_rfc3339(c["now"].as_str().unwrap()).unwrap();
        let wire = serde_json::to_vec(&c["passport"]).unwrap();
        let got = verify_wire(&wire, &VerifyOptions::at(now));
        let want = &c["expected"];
        assert_eq!(
            got.is_ok(),
            want["valid"].as_bool().unwrap(),
            "{}: {:?}",
            c["name"],
            got.as_ref().err()
        );
        if let Err(e) = got {
            assert_eq!(
                e.code().as_str(),
                want["reason_code"].as_str().unwrap(),
                "{}",
                c["name"]
            );
        }
    }
}
