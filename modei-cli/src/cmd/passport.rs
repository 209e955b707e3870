//! `modei passport ...`.

use crate::{io, CliError, Outcome};
use modei_core::credentials::Credentials;
use modei_core::envelope::{verify_wire, IssuerType, Permission, VerifyOptions};
use modei_core::keys::{PublicKey, SigningKey};
use modei_core::passport::{JwtIssue, Verifier, WireForm};
use modei_core::revocation::RevocationList;
use modei_core::time::Timestamp;
use modei_core::trust::{IssuerKind, Policy, TrustStore, TrustedIssuer, TrustedKey};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Subcommand)]
pub enum PassportCmd {
    /// Verify a passport: exit 0 valid, 1 invalid, 2 bad input.
    ///
    /// Reads a compact JWT, or `{"envelope": {...}, "signature": "..."}` (or Modei's
    /// `{"passport_json": ...}`), from the file or stdin; the form is detected. Issuer keys come
    /// from `--trust` (never from the token); without it only self-issued passports verify.
    ///
    /// Example: modei passport verify testvectors/envelopes/self-basic.json --now 2026-05-01T00:00:00Z --json
    Verify(VerifyArgs),
    /// Issue a passport (JWT or v2 envelope) from a key file and a JSON spec.
    ///
    /// The key file is a private JWK, a PKCS#8 PEM or a Modei credentials file. Without
    /// `--issuer`, the passport is self-issued by that key (the agent's own key). The spec:
    /// `{"permissions": {"flights:book": {"core:cost:max_per_action": 50000}} | [{"permission_key",
    /// "constraints"}], "passport_id"?, "agent_id"?, "agent_name"?, "agent_key"? (public key,
    /// when an issuer signs for another agent), "audience"?: [gate ids], "catalog"?: {"gate_id",
    /// "version", "content_hash"}, "delegation_authority"?: bool}`.
    ///
    /// Example: modei passport issue --key acme.jwk --issuer acme --kid acme-1 --spec spec.json --expires-in 30d > passport.jwt
    Issue(IssueArgs),
    /// Decode a passport of either form WITHOUT verifying anything (labelled UNVERIFIED).
    ///
    /// Example: modei passport inspect passport.jwt --json
    Inspect(InspectArgs),
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The passport file; stdin when absent or `-`.
    file: Option<PathBuf>,
    /// Verify at this instant (RFC 3339) instead of the system clock.
    #[arg(long)]
    now: Option<String>,
    /// Trust store JSON file (docs/trust-store.md): issuers and their keys.
    #[arg(long)]
    trust: Option<PathBuf>,
    /// Revocation list JSON file (docs/trust-store.md).
    #[arg(long)]
    revocation: Option<PathBuf>,
    /// Refuse self-issued passports (accepted by default).
    #[arg(long)]
    deny_self_issued: bool,
    /// This gate's id: a passport with an audience must name it.
    #[arg(long)]
    gate_id: Option<String>,
    /// Print one JSON object: valid, tier, reason_code, detail, passport_id.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct IssueArgs {
    /// The signing key: private JWK, PKCS#8 PEM or Modei credentials file.
    #[arg(long)]
    key: PathBuf,
    /// The JSON spec (permissions and constraints, ...); stdin when `-`.
    #[arg(long)]
    spec: PathBuf,
    /// Issuer id in the verifier's trust store; without it the passport is self-issued.
    #[arg(long, requires = "kid")]
    issuer: Option<String>,
    /// The issuer key id (`kid`).
    #[arg(long)]
    kid: Option<String>,
    /// Envelope issuer type when `--issuer` is given with `--form envelope`.
    #[arg(long, default_value = "platform", value_parser = ["platform", "gate"])]
    issuer_type: String,
    /// Wire form.
    #[arg(long, default_value = "jwt", value_parser = ["jwt", "envelope"])]
    form: String,
    /// Lifetime: `90s`, `15m`, `12h`, `30d` (default 24h).
    #[arg(long, conflicts_with = "expires_at")]
    expires_in: Option<String>,
    /// Absolute expiry (RFC 3339).
    #[arg(long)]
    expires_at: Option<String>,
    /// Issue time (RFC 3339) instead of the system clock.
    #[arg(long)]
    now: Option<String>,
    /// Print {"form", "passport_id", "agent_id", "expires_at", "passport"} instead of the bare passport.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct InspectArgs {
    /// The passport file (JWT or envelope JSON); stdin when absent or `-`.
    file: Option<PathBuf>,
    /// Print JSON (always with "verified": false).
    #[arg(long)]
    json: bool,
}

pub fn run(c: PassportCmd) -> Result<Outcome, CliError> {
    match c {
        PassportCmd::Verify(a) => verify(a),
        PassportCmd::Issue(a) => issue(a),
        PassportCmd::Inspect(a) => inspect(a),
    }
}

fn verify(a: VerifyArgs) -> Result<Outcome, CliError> {
    let now = super::now_from(a.now.as_deref())?;
    let input = io::read_input(a.file.as_deref())?;
    let is_envelope = input.trim_ascii().first() == Some(&b'{');
    if !is_envelope
        || a.trust.is_some()
        || a.revocation.is_some()
        || a.deny_self_issued
        || a.gate_id.is_some()
    {
        return verify_with_trust(&a, &input, now);
    }
    let result = verify_wire(&input, &VerifyOptions::at(now));
    let out = match &result {
        Ok(v) => json!({
            "valid": true,
            "tier": v.tier.as_str(),
            "reason_code": null,
            "detail": null,
            "passport_id": v.signed.envelope.passport_id,
            "agent_id": v.signed.envelope.agent_id,
            "issuer": {"type": v.signed.envelope.issuer.kind.as_str(), "id": v.signed.envelope.issuer.id},
            "expires_at": v.signed.envelope.expires_at,
        }),
        Err(e) => json!({
            "valid": false,
            "tier": null,
            "reason_code": e.code().as_str(),
            "detail": e.detail(),
            "passport_id": claimed_passport_id(&input),
        }),
    };
    report(a.json, &out, result.is_ok())
}

fn report(json_out: bool, out: &Value, ok: bool) -> Result<Outcome, CliError> {
    if json_out {
        io::print_json(out);
    } else if ok {
        io::line(&format!(
            "valid  tier {}  passport {}  agent {}",
            out["tier"].as_str().unwrap_or(""),
            out["passport_id"].as_str().unwrap_or(""),
            out["agent_id"].as_str().unwrap_or("")
        ));
    } else {
        io::line(&format!(
            "invalid  {}: {}",
            out["reason_code"].as_str().unwrap_or(""),
            out["detail"].as_str().unwrap_or("")
        ));
    }
    Ok(if ok { Outcome::Ok } else { Outcome::Failed })
}

fn load_trust(path: Option<&std::path::Path>) -> Result<TrustStore, CliError> {
    match path {
        Some(p) => Ok(TrustStore::from_json(
            &io::read_input(Some(p))?,
            &p.display().to_string(),
        )?),
        None => Ok(TrustStore::new()),
    }
}

fn verify_with_trust(a: &VerifyArgs, input: &[u8], now: Timestamp) -> Result<Outcome, CliError> {
    let trust = load_trust(a.trust.as_deref())?;
    let mut verifier = Verifier::new(trust, Policy::new().allow_self_issued(!a.deny_self_issued));
    if let Some(p) = &a.revocation {
        let list = RevocationList::from_json(&io::read_input(Some(p))?, &p.display().to_string())?;
        verifier = verifier.with_revocation(Arc::new(list));
    }
    if let Some(g) = &a.gate_id {
        let mut o = verifier.options().clone();
        o.gate_id = Some(g.clone());
        verifier = verifier.with_options(o);
    }
    let result = verifier.verify(input, now);
    let out = match &result {
        Ok(p) => json!({
            "valid": true,
            "form": form_str(p.form),
            "tier": p.tier.as_str(),
            "reason_code": null,
            "detail": null,
            "passport_id": p.passport_id,
            "agent_id": p.agent_id,
            "issuer": {"type": p.issuer.kind.as_str(), "id": p.issuer.id, "key_id": p.issuer.key_id},
            "expires_at": p.expires_at.to_rfc3339_seconds().ok(),
            "warnings": p.warnings.iter().map(|w| w.code().as_str()).collect::<Vec<_>>(),
        }),
        Err(e) => json!({
            "valid": false,
            "tier": null,
            "reason_code": e.code().as_str(),
            "detail": e.detail(),
            "passport_id": modei_core::passport::inspect(input).ok().and_then(|u| {
                u.body.get("jti").or_else(|| u.body.get("passport_id")).filter(|v| v.is_string()).cloned()
            }),
        }),
    };
    report(a.json, &out, result.is_ok())
}

fn form_str(f: WireForm) -> &'static str {
    match f {
        WireForm::Jwt => "jwt",
        WireForm::V2Envelope => "envelope",
    }
}

/// Reads a signing key from a private JWK, a PKCS#8 PEM or a Modei credentials file.
pub fn read_signing_key(path: &std::path::Path) -> Result<SigningKey, CliError> {
    let bytes = io::read_input(Some(path))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        CliError::input(
            "key_malformed",
            format!("{}: not UTF-8 text", path.display()),
        )
    })?;
    let t = text.trim();
    if t.starts_with("-----BEGIN") {
        return Ok(SigningKey::from_pkcs8_pem(t)?);
    }
    let v: Value = serde_json::from_str(t)
        .map_err(|e| CliError::input("key_malformed", format!("{}: {e}", path.display())))?;
    if v.get("kty").is_some() {
        return Ok(SigningKey::from_jwk(&v)?);
    }
    if let Some(jwk) = v.get("private_jwk") {
        return Ok(SigningKey::from_jwk(jwk)?);
    }
    Ok(Credentials::from_file_text(t)?.signing_key().clone())
}

/// `90s`, `15m`, `12h`, `30d` → milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<i64, CliError> {
    let bad = || {
        CliError::input(
            "invalid_argument",
            format!("duration {s:?}: use e.g. 90s, 15m, 12h, 30d"),
        )
    };
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: i64 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).filter(|v| *v > 0).ok_or_else(bad)
}

fn spec_permissions(v: Option<&Value>) -> Result<Vec<Permission>, CliError> {
    let bad = |d: String| CliError::input("invalid_argument", format!("spec: permissions: {d}"));
    let obj = |c: &Value, k: &str| -> Result<serde_json::Map<String, Value>, CliError> {
        match c {
            Value::Object(m) => Ok(m.clone()),
            Value::Null => Ok(Default::default()),
            _ => Err(bad(format!("{k}: constraints must be an object"))),
        }
    };
    match v {
        None => Err(bad("missing".into())),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, c)| {
                Ok(Permission {
                    permission_key: k.clone(),
                    constraints: obj(c, k)?.into(),
                })
            })
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|p| {
                let k = p
                    .get("permission_key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("each entry needs a permission_key string".into()))?;
                Ok(Permission {
                    permission_key: k.to_owned(),
                    constraints: obj(p.get("constraints").unwrap_or(&Value::Null), k)?.into(),
                })
            })
            .collect(),
        Some(_) => Err(bad("an object {key: constraints} or a list".into())),
    }
}

const SPEC_MEMBERS: &[&str] = &[
    "permissions",
    "passport_id",
    "agent_id",
    "agent_name",
    "agent_key",
    "audience",
    "catalog",
    "delegation_authority",
];

fn issue(a: IssueArgs) -> Result<Outcome, CliError> {
    let now = super::now_from(a.now.as_deref())?;
    let key = read_signing_key(&a.key)?;
    let spec_bytes = io::read_input(Some(&a.spec))?;
    let spec = modei_core::json::parse_strict(&spec_bytes)?;
    let Value::Object(m) = &spec else {
        return Err(CliError::input(
            "invalid_argument",
            "spec: must be a JSON object",
        ));
    };
    if let Some(k) = m.keys().find(|k| !SPEC_MEMBERS.contains(&k.as_str())) {
        return Err(CliError::input(
            "invalid_argument",
            format!(
                "spec: unknown member {k:?} (known: {})",
                SPEC_MEMBERS.join(", ")
            ),
        ));
    }
    let str_of = |k: &str| -> Result<Option<String>, CliError> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(CliError::input(
                "invalid_argument",
                format!("spec: {k}: must be a string"),
            )),
        }
    };
    let expires_at = match (&a.expires_at, &a.expires_in) {
        (Some(t), _) => Timestamp::parse_rfc3339(t).map_err(|e| {
            CliError::input("invalid_argument", format!("--expires-at: {}", e.detail()))
        })?,
        (None, d) => Timestamp::from_unix_millis(
            now.unix_millis()
                .saturating_add(parse_duration_ms(d.as_deref().unwrap_or("24h"))?),
        ),
    };
    let self_issued = a.issuer.is_none();
    let agent_key = match str_of("agent_key")? {
        Some(k) if !self_issued => PublicKey::parse_any(&k)?,
        Some(_) => {
            return Err(CliError::input(
                "invalid_argument",
                "spec: agent_key: a self-issued passport is for the signing key itself (give --issuer to sign for another agent)",
            ))
        }
        None if self_issued => key.public_key(),
        None => {
            return Err(CliError::input("invalid_argument", "spec: agent_key is required with --issuer"))
        }
    };
    let passport_id = match str_of("passport_id")? {
        Some(p) => p,
        None => modei_core::envelope::issue::new_passport_id(if self_issued {
            "pp_self_"
        } else {
            "pp_"
        })?,
    };
    let agent_id = str_of("agent_id")?.unwrap_or_else(|| agent_key.self_agent_id());
    let mut iss = JwtIssue::new(passport_id, agent_id, agent_key, now, expires_at);
    iss.agent_name = str_of("agent_name")?;
    iss.permissions = spec_permissions(m.get("permissions"))?;
    iss.delegation_authority = m
        .get("delegation_authority")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(aud) = m.get("audience") {
        iss.audience = aud
            .as_array()
            .and_then(|a| {
                a.iter()
                    .map(|g| g.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| {
                CliError::input("invalid_argument", "spec: audience: a list of gate ids")
            })?;
    }
    if let Some(c) = m.get("catalog").filter(|c| !c.is_null()) {
        let hash = c.get("content_hash").and_then(Value::as_str).map(|h| {
            if h.starts_with("sha256:") {
                h.to_owned()
            } else {
                format!("sha256:{h}")
            }
        });
        iss.catalog = Some(modei_core::jwt::CatalogPin {
            gate_id: c.get("gate_id").and_then(Value::as_str).map(str::to_owned),
            version: c.get("version").and_then(Value::as_i64),
            content_hash: hash,
        });
    }
    let token = match &a.issuer {
        None => iss.self_issue(&key)?,
        Some(i) => iss.issue(i, a.kid.as_deref().unwrap_or(""), &key)?,
    };
    let wire = if a.form == "jwt" {
        token
    } else {
        // Verify what was just signed (with the signing key as the only trusted key), then
        // re-issue the same content as an envelope.
        let trust = match &a.issuer {
            None => TrustStore::new(),
            Some(i) => TrustStore::new().with(
                TrustedIssuer::new(i.clone(), IssuerKind::Platform).with_key(TrustedKey::new(
                    a.kid.clone().unwrap_or_default(),
                    key.public_key(),
                )),
            )?,
        };
        let p = Verifier::new(trust, Policy::new().allow_self_issued(true))
            .verify(token.as_bytes(), now)?;
        let kind = match (&a.issuer, a.issuer_type.as_str()) {
            (None, _) => IssuerType::SelfIssued,
            (Some(_), "gate") => IssuerType::Gate,
            _ => IssuerType::Platform,
        };
        let env = p.reissue_as_envelope(
            kind,
            a.issuer.as_deref().unwrap_or(""),
            a.kid.as_deref().unwrap_or(""),
            &key,
        )?;
        serde_json::to_string_pretty(&env.to_wire()).unwrap_or_default()
    };
    if a.json {
        io::print_json(&json!({
            "form": a.form,
            "passport_id": iss.passport_id,
            "agent_id": if self_issued { iss.agent_key.self_agent_id() } else { iss.agent_id.clone() },
            "expires_at": expires_at.to_rfc3339_seconds().ok(),
            "passport": wire,
        }));
    } else {
        io::line(&wire);
    }
    Ok(Outcome::Ok)
}

fn inspect(a: InspectArgs) -> Result<Outcome, CliError> {
    let input = io::read_input(a.file.as_deref())?;
    let u = modei_core::passport::inspect(&input)?;
    let out = json!({
        "verified": false,
        "warning": "UNVERIFIED: decoded without checking the signature, the issuer or the times",
        "form": form_str(u.form),
        "header": u.header,
        "body": u.body,
    });
    if a.json {
        io::print_json(&out);
    } else {
        io::line("UNVERIFIED passport (nothing below was checked: not the signature, the issuer or the times)");
        io::line(&format!("form    {}", form_str(u.form)));
        if let Some(h) = &u.header {
            io::line(&format!("header  {h}"));
        }
        io::line(&serde_json::to_string_pretty(&u.body).unwrap_or_default());
    }
    Ok(Outcome::Ok)
}

/// The passport id the input claims (unverified), for reporting only.
fn claimed_passport_id(input: &[u8]) -> Value {
    let Ok(v) = modei_core::json::parse_lenient(input) else {
        return Value::Null;
    };
    let env = v.get("envelope").or_else(|| v.get("passport_json"));
    env.and_then(|e| e.get("passport_id"))
        .filter(|p| p.is_string())
        .cloned()
        .unwrap_or(Value::Null)
}
