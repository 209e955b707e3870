//! The `modei` command's contract: outputs and exit codes (0 ok, 1 failed verification, 2 bad
//! input), run against the committed vectors.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn modei(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_modei"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn modei");
    // The command may exit before reading stdin (e.g. on a usage error).
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

#[test]
fn passport_verify_sample() {
    let o = modei(
        &[
            "passport",
            "verify",
            "testvectors/sample-passport.json",
            "--now",
            "2026-06-01T00:00:00Z",
            "--json",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(0));
    let v = json_out(&o);
    assert_eq!(v["valid"], true);
    assert_eq!(v["tier"], "L0");
    assert_eq!(v["reason_code"], Value::Null);
    assert_eq!(v["passport_id"], "pp_self_00000000000000000000000000000001");
}

#[test]
fn passport_verify_expired_and_stdin_and_passport_json_form() {
    let wire: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../testvectors/sample-passport.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let o = modei(
        &[
            "passport",
            "verify",
            "--now",
            "2077-01-01T00:00:00Z",
            "--json",
        ],
        wire.to_string().as_bytes(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_out(&o)["reason_code"], "passport_expired");
    let alt =
        serde_json::json!({"passport_json": wire["envelope"], "signature": wire["signature"]});
    let o = modei(
        &[
            "passport",
            "verify",
            "--now",
            "2026-06-01T00:00:00Z",
            "--json",
        ],
        alt.to_string().as_bytes(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn passport_verify_input_errors_exit_2() {
    assert_eq!(
        modei(&["passport", "verify", "does-not-exist.json"], b"")
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        modei(&["passport", "verify", "--now", "yesterday"], b"{}")
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        modei(&["passport", "frobnicate"], b"").status.code(),
        Some(2)
    );
}

#[test]
fn reference_corpus_through_the_cli() {
    // A few reference cases, with expectations read from the vector file.
    let doc: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../testvectors/reference/modei-v2-vectors.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut n = 0;
    for c in doc["cases"].as_array().unwrap() {
        if !c["reference_quirk"].is_null()
            || !c["reference_exception"].is_null()
            || c.get("envelope_text").is_some()
        {
            continue;
        }
        if c["category"] == "backend_kat" {
            continue; // expires 2026-05-22; checked at the corpus clock below anyway
        }
        let wire = serde_json::json!({"envelope": c["envelope"], "signature": c["signature"]});
        let o = modei(
            &[
                "passport",
                "verify",
                "--now",
                "2026-05-01T00:00:00Z",
                "--json",
            ],
            wire.to_string().as_bytes(),
        );
        let v = json_out(&o);
        assert_eq!(v["valid"], c["expected"]["valid"], "{}", c["name"]);
        assert_eq!(
            v["reason_code"], c["expected"]["reason_code"],
            "{}",
            c["name"]
        );
        assert_eq!(
            o.status.code(),
            Some(if c["expected"]["valid"] == true { 0 } else { 1 })
        );
        n += 1;
        if n == 25 {
            break;
        }
    }
    assert_eq!(n, 25);
}

#[test]
fn canonicalize_command() {
    let o = modei(&["canonicalize"], br#"{"b":[1.0,1e21],"a":"\u20ac"}"#);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(o.stdout, "{\"a\":\"€\",\"b\":[1,1e+21]}".as_bytes());
    let o = modei(&["canonicalize"], b"[1e400]");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("non_finite_number_in_canonical_input"));
}

#[test]
fn signature_verify_command() {
    let keys: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../testvectors/keys.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let k = &keys["keys"][0];
    let pk = k["jwk"].to_string();
    let sig = k["signature_over_abc_base64"].as_str().unwrap();
    let o = modei(
        &[
            "signature",
            "verify",
            "--public-key",
            &pk,
            "--signature",
            sig,
            "--json",
        ],
        b"abc",
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        json_out(&o),
        serde_json::json!({"valid": true, "code": null})
    );
    let o = modei(
        &[
            "signature",
            "verify",
            "--public-key",
            &pk,
            "--signature",
            sig,
            "--message-hex",
            "616264",
            "--json",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_out(&o)["code"], "signature_invalid");
    let o = modei(
        &[
            "signature",
            "verify",
            "--public-key",
            "abcd",
            "--signature",
            sig,
        ],
        b"abc",
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn keygen_writes_private_files_0600() {
    let dir = std::env::temp_dir().join(format!("modei-keygen-{}", std::process::id()));
    let o = modei(&["keygen", "--out", dir.to_str().unwrap(), "--json"], b"");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let creds = std::fs::read_to_string(dir.join("credentials.json")).unwrap();
    modei_core::credentials::Credentials::from_file_text(&creds).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["key.jwk", "credentials.json"] {
            assert_eq!(
                std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777,
                0o600,
                "{f}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn docs_errors_md_is_generated_from_the_code() {
    let o = modei(&["errors", "--markdown"], b"");
    assert_eq!(o.status.code(), Some(0));
    let on_disk = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/errors.md"))
        .unwrap_or_default();
    assert!(on_disk == o.stdout, "docs/errors.md is stale: run `cargo run -p modei-cli -- errors --markdown > docs/errors.md`");
}

/// The gate vectors (`testvectors/gate/vectors.json`).
fn gate_vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testvectors/gate/vectors.json"
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

/// A scratch directory for one test, and a writer of JSON files into it (returns the path).
fn scratch(name: &str) -> (std::path::PathBuf, impl Fn(&str, &Value) -> String) {
    let dir = std::env::temp_dir().join(format!("modei-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.clone();
    (dir, move |file: &str, v: &Value| {
        let p = d.join(file);
        std::fs::write(&p, v.to_string()).unwrap();
        p.display().to_string()
    })
}

/// `modei gate check --config C --request R --state S` and `extra`.
fn gate_check(config: &str, request: &str, state: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "gate",
        "check",
        "--config",
        config,
        "--request",
        request,
        "--state",
        state,
    ];
    args.extend_from_slice(extra);
    modei(&args, b"")
}

/// Every gate vector through `modei gate check --config --request --now --state [--dry-run]`:
/// the decision, reason and evaluations the vector expects, and the documented exit code
/// (0 allow, 1 block or hold).
#[test]
fn gate_check_decides_every_gate_vector() {
    let vectors = gate_vectors();
    assert!(vectors.len() >= 100);
    let (dir, write) = scratch("gate");
    for v in &vectors {
        let name = v["name"].as_str().unwrap();
        let config = write("config.json", &v["config"]);
        let request = write("request.json", &v["request"]);
        let state = write("state.json", &v["prior"]);
        let mut extra = vec!["--now", v["now"].as_str().unwrap()];
        if v["dry_run"] == true {
            extra.push("--dry-run");
        }
        let o = gate_check(&config, &request, &state, &extra);
        let e = &v["expect"];
        let want_code = if e["decision"] == "allow" { 0 } else { 1 };
        assert_eq!(
            o.status.code(),
            Some(want_code),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let d = json_out(&o);
        let evals: Vec<Value> = d["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| serde_json::json!({"key": x["key"], "outcome": x["outcome"]}))
            .collect();
        assert_eq!(d["decision"], e["decision"], "{name}: {d}");
        assert_eq!(d["reason"], e["reason"], "{name}: {d}");
        assert_eq!(Value::Array(evals), e["evaluations"], "{name}: {d}");
        assert_eq!(d["dry_run"], v["dry_run"] == true, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `--state` entry's `dry_run` must be a boolean: anything else is an input error (exit 2)
/// naming the entry, not a silently ignored member.
#[test]
fn gate_check_state_dry_run_must_be_a_bool() {
    let vectors = gate_vectors();
    let v = &vectors[0];
    let (dir, write) = scratch("dry");
    let config = write("config.json", &v["config"]);
    let request = write("request.json", &v["request"]);
    let prior = serde_json::json!([{"now": v["now"], "request": v["request"], "dry_run": "yes"}]);
    let state = write("state.json", &prior);
    let o = gate_check(&config, &request, &state, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("[0].dry_run"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
