//! Hostile bytes: every truncation and a spread of single-byte mutations of signed passports
//! must come back as an `Err` with a code, never a panic, hang or success.

mod common;

use modei_core::envelope::{verify_wire, VerifyOptions};
use modei_core::time::Timestamp;
use serde_json::{json, Value};

fn wires() -> Vec<(String, Vec<u8>)> {
    let doc = common::load("reference/modei-v2-vectors.json");
    let mut out = Vec::new();
    for c in doc["cases"].as_array().unwrap() {
        if c["expected"]["valid"] == true
            && c["reference_quirk"].is_null()
            && c["envelope"].is_object()
        {
            let wire = json!({"envelope": c["envelope"], "signature": c["signature"]});
            out.push((
                c["name"].as_str().unwrap().to_owned(),
                serde_json::to_vec(&wire).unwrap(),
            ));
        }
    }
    assert!(out.len() >= 15);
    out
}

fn opts() -> VerifyOptions<'static> {
    VerifyOptions::at(Timestamp::parse_rfc3339("2026-05-01T00:00:00Z").unwrap())
}

#[test]
fn valid_inputs_verify() {
    for (name, w) in wires() {
        assert!(verify_wire(&w, &opts()).is_ok(), "{name}");
    }
}

#[test]
fn every_truncation_is_an_error() {
    for (name, w) in wires().into_iter().take(6) {
        let step = (w.len() / 400).max(1);
        for cut in (0..w.len()).step_by(step) {
            let r = verify_wire(&w[..cut], &opts());
            assert!(r.is_err(), "{name}: truncation at {cut} verified");
        }
    }
}

#[test]
fn single_byte_mutations_are_errors() {
    let replacements = [b'0', b'"', b'{', b']', b'\\', 0xff, b' ', b'a'];
    let mut tried = 0;
    for (name, w) in wires().into_iter().take(6) {
        let step = (w.len() / 150).max(1);
        for pos in (0..w.len()).step_by(step) {
            for &r in &replacements {
                if w[pos] == r {
                    continue;
                }
                let mut m = w.clone();
                m[pos] = r;
                tried += 1;
                if let Ok(v) = verify_wire(&m, &opts()) {
                    // A mutation may only survive if the signed content is unchanged: JSON
                    // whitespace, or a digit beyond a double's precision (the same number).
                    let original = verify_wire(&w, &opts()).unwrap();
                    assert_eq!(
                        v.signing_input, original.signing_input,
                        "{name}: mutation at {pos} to {r:#x} verified with different content"
                    );
                }
            }
        }
    }
    assert!(tried > 4_000, "only {tried} mutations");
}

#[test]
fn hostile_shapes_are_errors() {
    let deep = "[".repeat(100_000);
    let many = format!("[{}1]", "1,".repeat(300_000));
    let long_string = format!("\"{}\"", "a".repeat(2 << 20));
    for input in [
        deep.as_bytes(),
        many.as_bytes(),
        long_string.as_bytes(),
        b"",
        b"null",
        b"{\"envelope\":1,\"signature\":2}",
        b"\xff\xfe",
    ] {
        let r = verify_wire(input, &opts());
        assert!(r.is_err());
    }
    let _ = Value::Null;
}
