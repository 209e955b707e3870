//! `modei demo` as a smoke test: every JSON line must report ok, each decision kind must show,
//! and the plain table must come out without colour when stdout is not a terminal.

use serde_json::Value;
use std::process::Command;

fn demo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_modei"))
        .arg("demo")
        .args(args)
        .output()
        .expect("spawn modei")
}

#[test]
fn demo_json_every_step_as_expected() {
    let o = demo(&["--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    for l in &lines {
        assert_eq!(l["ok"], true, "{l}");
    }
    let requests: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "request").collect();
    assert_eq!(requests.len(), 12);
    for r in &requests {
        assert_eq!(r["decision"], r["expected"]["decision"], "{r}");
        assert_eq!(r["reason"], r["expected"]["reason"], "{r}");
    }
    let reasons: Vec<&str> = requests
        .iter()
        .filter_map(|r| r["reason"].as_str())
        .collect();
    for want in [
        "core:rate:max_per_minute",
        "core:cost:approval_threshold",
        "core:scope:domain_allowlist",
        "core:cost:max_per_action",
        "core:cost:max_cumulative",
        "core:cel:rules",
        "core:time:operating_hours",
    ] {
        assert!(reasons.contains(&want), "{want} missing");
    }
    assert!(requests.iter().any(|r| r["recorded_as"] == "approved"));
    assert_eq!(requests.last().unwrap()["remaining_budget_cents"], 43_000);
    let tamper = lines
        .iter()
        .find(|l| l["step"] == "tampered copy detected")
        .unwrap();
    assert_eq!(
        tamper["first_error"]["code"],
        "attestation_signature_invalid"
    );
    assert_eq!(tamper["first_error"]["index"], tamper["tampered_index"]);
    let last = lines.last().unwrap();
    assert_eq!(last["kind"], "summary");
    assert_eq!(last["ok"], true);
}

#[test]
fn demo_plain_has_no_colour_when_piped_and_keeps_files_with_dir() {
    let dir = std::env::temp_dir().join(format!("modei-demo-test-{}", std::process::id()));
    let o = demo(&["--dir", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(!text.contains('\x1b'), "colour escape in piped output");
    assert!(text.contains("request_hold"));
    assert!(text.contains("every step behaved as expected"));
    for f in [
        "passport.jwt",
        "trust.json",
        "catalog-v1.json",
        "attestations.jsonl",
        "checkpoint.json",
        "agent.jwk",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
