//! The commands added for the complete CLI: passport issue/inspect/verify with a trust store,
//! trust store edits, attestation logs, catalogs, receipts, completions, and `--help` examples.
//! Exit codes: 0 ok, 1 verification failure, 2 input error.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn modei(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_modei"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("spawn modei")
}

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("modei-cmds-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn public_jwk(private_jwk_file: &Path) -> String {
    let mut v: Value = serde_json::from_slice(&std::fs::read(private_jwk_file).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("d");
    v.to_string()
}

#[test]
fn issue_verify_with_trust_store_rotation_and_revocation() {
    let d = tmp("passport");
    ok(&modei(&["keygen", "--out", "acme", "--json"], &d));
    let agent = json(&modei(&["keygen", "--out", "agent", "--json"], &d));
    let spec = serde_json::json!({
        "permissions": {"flights:book": {"core:cost:max_per_action": 50000}},
        "agent_key": agent["public_key"], "agent_name": "bot", "passport_id": "pp_cli_1",
        "audience": ["gate_travel"],
    });
    std::fs::write(d.join("spec.json"), spec.to_string()).unwrap();
    let issue = [
        "passport",
        "issue",
        "--key",
        "acme/key.jwk",
        "--issuer",
        "acme",
        "--kid",
        "acme-1",
        "--spec",
        "spec.json",
        "--expires-in",
        "30d",
        "--now",
        "2026-03-01T00:00:00Z",
    ];
    let token = ok(&modei(&issue, &d));
    std::fs::write(d.join("pp.jwt"), token.trim()).unwrap();

    // Not in any trust store yet: issuer_unknown, exit 1.
    let o = modei(
        &[
            "passport",
            "verify",
            "pp.jwt",
            "--now",
            "2026-03-02T00:00:00Z",
            "--json",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["reason_code"], "issuer_unknown");

    ok(&modei(
        &[
            "trust",
            "add-issuer",
            "trust.json",
            "--id",
            "acme",
            "--type",
            "organization",
            "--tier",
            "L2",
        ],
        &d,
    ));
    ok(&modei(
        &[
            "trust",
            "add-key",
            "trust.json",
            "--issuer",
            "acme",
            "--kid",
            "acme-1",
            "--public-key",
            "@acme/key.pub.jwk",
        ],
        &d,
    ));
    let verify = [
        "passport",
        "verify",
        "pp.jwt",
        "--trust",
        "trust.json",
        "--now",
        "2026-03-02T00:00:00Z",
        "--json",
    ];
    let v = json(&modei(&verify, &d));
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["tier"], "L2");
    assert_eq!(v["form"], "jwt");
    assert_eq!(v["passport_id"], "pp_cli_1");
    // Audience.
    let o = modei(
        &[
            "passport",
            "verify",
            "pp.jwt",
            "--trust",
            "trust.json",
            "--gate-id",
            "other",
            "--now",
            "2026-03-02T00:00:00Z",
            "--json",
        ],
        &d,
    );
    assert_eq!(json(&o)["reason_code"], "audience_mismatch");
    // Expired.
    let o = modei(
        &[
            "passport",
            "verify",
            "pp.jwt",
            "--trust",
            "trust.json",
            "--now",
            "2026-05-01T00:00:00Z",
            "--json",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["reason_code"], "passport_expired");
    // Revocation list.
    let rl = serde_json::json!({"version": 1, "as_of": "2026-03-02T00:00:00Z", "passports": ["pp_cli_1"]});
    std::fs::write(d.join("rev.json"), rl.to_string()).unwrap();
    let o = modei(
        &[
            "passport",
            "verify",
            "pp.jwt",
            "--trust",
            "trust.json",
            "--revocation",
            "rev.json",
            "--now",
            "2026-03-02T00:00:00Z",
            "--json",
        ],
        &d,
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(json(&o)["reason_code"], "passport_revoked");
    // Revoked key.
    ok(&modei(
        &[
            "trust",
            "revoke-key",
            "trust.json",
            "--issuer",
            "acme",
            "--kid",
            "acme-1",
        ],
        &d,
    ));
    let o = modei(&verify, &d);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["reason_code"], "issuer_key_revoked");
    let listed = json(&modei(&["trust", "list", "trust.json", "--json"], &d));
    assert_eq!(listed["issuers"][0]["keys"][0]["revoked"], true);

    // Inspect: decoded, labelled unverified.
    let v = json(&modei(&["passport", "inspect", "pp.jwt", "--json"], &d));
    assert_eq!(v["verified"], false);
    assert_eq!(v["body"]["jti"], "pp_cli_1");
    assert!(ok(&modei(&["passport", "inspect", "pp.jwt"], &d)).starts_with("UNVERIFIED"));
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn self_issued_envelope_and_jwt_from_credentials_and_pem() {
    let d = tmp("self");
    ok(&modei(&["keygen", "--out", "k", "--json"], &d));
    std::fs::write(
        d.join("s.json"),
        r#"{"permissions":[{"permission_key":"a:b","constraints":{}}]}"#,
    )
    .unwrap();
    let env = ok(&modei(
        &[
            "passport",
            "issue",
            "--key",
            "k/credentials.json",
            "--spec",
            "s.json",
            "--form",
            "envelope",
        ],
        &d,
    ));
    std::fs::write(d.join("env.json"), &env).unwrap();
    let v = json(&modei(&["passport", "verify", "env.json", "--json"], &d));
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["tier"], "L0");
    let jwt = ok(&modei(
        &[
            "passport",
            "issue",
            "--key",
            "k/key.jwk",
            "--spec",
            "s.json",
            "--json",
        ],
        &d,
    ));
    let j: Value = serde_json::from_str(&jwt).unwrap();
    std::fs::write(d.join("p.jwt"), j["passport"].as_str().unwrap()).unwrap();
    assert_eq!(
        json(&modei(&["passport", "verify", "p.jwt", "--json"], &d))["valid"],
        true
    );
    let o = modei(
        &[
            "passport",
            "verify",
            "p.jwt",
            "--deny-self-issued",
            "--json",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["reason_code"], "self_issued_not_allowed");
    // Input errors: exit 2 with a code on stderr.
    for args in [
        &[
            "passport",
            "issue",
            "--key",
            "missing.jwk",
            "--spec",
            "s.json",
        ][..],
        &[
            "passport",
            "issue",
            "--key",
            "k/key.jwk",
            "--spec",
            "s.json",
            "--expires-in",
            "soon",
        ],
        &["passport", "issue", "--key", "s.json", "--spec", "s.json"],
        &["passport", "inspect", "s.json"],
        &[
            "trust",
            "add-key",
            "nope.json",
            "--issuer",
            "a",
            "--kid",
            "b",
            "--public-key",
            "x",
        ],
    ] {
        let o = modei(args, &d);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).starts_with("error["),
            "{args:?}"
        );
    }
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn attest_catalog_and_receipt_commands_on_the_demo_files() {
    let d = tmp("attest");
    ok(&modei(&["demo", "--dir", "."], &d));
    let gk = format!("gate_travel/gate-2026={}", public_jwk(&d.join("gate.jwk")));
    let v = json(&modei(
        &[
            "attest",
            "verify",
            "attestations.jsonl",
            "--gate-key",
            &gk,
            "--checkpoint",
            "checkpoint.json",
            "--json",
        ],
        &d,
    ));
    assert_eq!(v["valid"], true);
    assert_eq!(v["records"], 12);
    let o = modei(
        &[
            "attest",
            "verify",
            "attestations-tampered.jsonl",
            "--gate-key",
            &gk,
            "--json",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        json(&o)["first_error"]["code"],
        "attestation_signature_invalid"
    );
    // Export one chain, drop its last record: truncation against the checkpoint.
    let exported = ok(&modei(
        &[
            "attest",
            "export",
            "attestations.jsonl",
            "--passport",
            "pp_demo_0001",
        ],
        &d,
    ));
    assert_eq!(exported.lines().count(), 12);
    let short: String = exported
        .lines()
        .take(11)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(d.join("short.jsonl"), short).unwrap();
    let o = modei(
        &[
            "attest",
            "verify",
            "short.jsonl",
            "--gate-key",
            &gk,
            "--checkpoint",
            "checkpoint.json",
            "--json",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["first_error"]["code"], "attestation_truncated");
    assert_eq!(json(&o)["first_error"]["index"], 11);
    // Wrong key.
    let wrong = format!("gate_travel/gate-2026={}", public_jwk(&d.join("agent.jwk")));
    let o = modei(
        &[
            "attest",
            "verify",
            "attestations.jsonl",
            "--gate-key",
            &wrong,
            "--json",
        ],
        &d,
    );
    assert_eq!(
        json(&o)["first_error"]["code"],
        "attestation_signature_invalid"
    );
    assert_eq!(
        modei(
            &[
                "attest",
                "verify",
                "attestations.jsonl",
                "--gate-key",
                "nonsense"
            ],
            &d
        )
        .status
        .code(),
        Some(2)
    );

    // Catalogs.
    let v = json(&modei(
        &[
            "catalog",
            "verify",
            "catalog-v1.json",
            "--gate-key",
            &gk,
            "--json",
        ],
        &d,
    ));
    assert_eq!(v["valid"], true);
    assert_eq!(v["version"], 1);
    std::fs::write(d.join("d2.json"), r#"{"gate_id":"gate_travel","version":2,"min_compatible_version":1,"permissions":[{"permission_key":"flights:search","display_name":"Search flights","risk_level":"low","constraints":{"core:rate:max_per_minute":10}}]}"#).unwrap();
    let c2 = ok(&modei(
        &[
            "catalog",
            "publish",
            "d2.json",
            "--key",
            "gate.jwk",
            "--key-id",
            "gate-2026",
            "--now",
            "2026-03-03T00:00:00Z",
        ],
        &d,
    ));
    std::fs::write(d.join("c2.json"), c2).unwrap();
    assert_eq!(
        json(&modei(
            &["catalog", "verify", "c2.json", "--gate-key", &gk, "--json"],
            &d
        ))["valid"],
        true
    );
    let o = modei(
        &[
            "catalog",
            "diff",
            "catalog-v1.json",
            "c2.json",
            "--json",
            "--fail-on-breaking",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["has_breaking_changes"], true);
    assert_eq!(v["changes"][0]["kind"], "permission_removed");
    assert_eq!(
        modei(&["catalog", "diff", "catalog-v1.json", "c2.json"], &d)
            .status
            .code(),
        Some(0)
    );
    let o = modei(
        &[
            "catalog",
            "verify",
            "catalog-v1.json",
            "--gate-key",
            &wrong,
            "--json",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["code"], "catalog_signature_invalid");

    // Receipts: a malformed one is a verification failure with the core's code.
    std::fs::write(d.join("r.json"), "{}").unwrap();
    let o = modei(
        &[
            "receipt",
            "verify",
            "r.json",
            "--gate-key",
            &gk,
            "--agent-key",
            &public_jwk(&d.join("agent.jwk")),
            "--catalog",
            "catalog-v1.json",
            "--json",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["code"], "receipt_invalid");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn completions_and_every_command_has_an_example() {
    let d = std::env::temp_dir();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        assert!(!ok(&modei(&["completions", shell], &d)).is_empty());
    }
    assert_eq!(modei(&["completions", "tcsh"], &d).status.code(), Some(2));
    let cmds: &[&[&str]] = &[
        &["demo"],
        &["passport", "issue"],
        &["passport", "verify"],
        &["passport", "inspect"],
        &["trust", "add-issuer"],
        &["trust", "add-key"],
        &["trust", "revoke-key"],
        &["trust", "list"],
        &["attest", "verify"],
        &["attest", "export"],
        &["catalog", "publish"],
        &["catalog", "verify"],
        &["catalog", "diff"],
        &["receipt", "verify"],
        &["completions"],
        &["canonicalize"],
        &["keygen"],
        &["signature", "verify"],
        &["errors"],
        &["gate", "check"],
    ];
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cli.md")).unwrap();
    for c in cmds {
        let mut args = c.to_vec();
        args.push("--help");
        let text = ok(&modei(&args, &d));
        assert!(text.contains("Example"), "{c:?} --help has no example");
        let name = c.join(" ");
        assert!(
            docs.contains(&format!("modei {name}")) || docs.contains(&format!("`{name}")),
            "docs/cli.md does not document `modei {name}`"
        );
    }
}
