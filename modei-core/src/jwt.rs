//! The JWT wire form of a passport: a compact JWS (RFC 7515) signed with Ed25519.
//!
//! Layout (see `docs/passport-jwt.md` for the full specification):
//!
//! ```text
//! header  {"alg":"Ed25519","typ":"modei-passport+jwt","kid":"<issuer key id>"}
//! claims  {"iss","sub","jti","iat","exp",["nbf"],["aud"],["name"],"permissions",
//!          ["catalog"],"cnf":{"jwk":{...}},["del":{"authority":bool,["parent":"<JWT>"]}]}
//! ```
//!
//! This module decodes and encodes; it never decides trust. [`crate::passport::Verifier`] takes
//! the verification key from the trust store by (`iss`, `kid`) and runs the claim checks. The
//! decoding rules here are the RFC 8725 ones that do not need a key:
//!
//! - three segments of canonical unpadded base64url (no `=`, no `+` or `/`, zero trailing bits);
//! - header and claims are JSON objects read by the strict reader (duplicate members refused);
//! - `alg` must be `Ed25519` (RFC 9864), or `EdDSA` when the verifier accepts that name; every
//!   other value (`none`, `HS256`, `ES256`, `RS256`, ...) is `jwt_alg_not_allowed`;
//! - any `crit` is `jwt_crit_unsupported` (we implement no extension), and so is `b64` unless it
//!   is `true`;
//! - `jwk`, `jku`, `x5c`, `x5u`, `x5t`, `x5t#S256` are `jwt_embedded_key`: a key or key location
//!   in the header is an attack signal, since keys come only from the trust store;
//! - `typ` must be `modei-passport+jwt` (compared case-insensitively, an `application/` prefix
//!   allowed, RFC 7515 §4.1.9) and `cty` must be absent;
//! - `kid` is a required non-empty string.

use crate::envelope::Permission;
use crate::error::{Code, Error, Result};
use crate::interned::{Interned, Interning};
use crate::json;
use crate::keys::{PublicKey, Signature, SigningKey};
use serde_json::{Map, Value};
use std::sync::Arc;

/// The `typ` header value.
pub const TYP: &str = "modei-passport+jwt";
/// The `alg` header value written on issue (RFC 9864).
pub const ALG: &str = "Ed25519";
/// The deprecated JOSE name for the same algorithm, accepted unless the verifier refuses it.
pub const ALG_EDDSA: &str = "EdDSA";
/// Default token size limit in bytes (16 KiB): a depth-5 delegation of 600-byte passports fits.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Largest timestamp accepted in `iat`, `exp`, `nbf`: 9999-12-31T23:59:59Z (so every passport
/// can be re-issued as an envelope).
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;
/// Longest identifier accepted (`iss`, `sub`, `jti`, `kid`, audiences).
pub const MAX_ID_LEN: usize = 512;

// ------------------------------------------------------------------------------------------
// base64url
// ------------------------------------------------------------------------------------------

const INVALID: u8 = 0xff;
const B64URL: [u8; 256] = {
    let mut t = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
};

fn malformed(what: impl Into<String>) -> Error {
    Error::new(Code::JwtMalformed, what)
}

/// Decodes canonical unpadded base64url (RFC 7515 §2): only `A-Z a-z 0-9 - _`, no padding, a
/// length that is not 1 mod 4, and zero unused bits in the last character. Anything else is
/// `jwt_malformed` naming `what` and the fault.
pub fn b64url_decode_strict(s: &[u8], what: &str) -> Result<Vec<u8>> {
    let mut out = vec![0u8; b64url_room(s.len())];
    let n = b64url_decode_into(s, what, &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// The room [`b64url_decode_into`] needs for `len` characters (two bytes of slack: quads are
/// stored a word at a time).
const fn b64url_room(len: usize) -> usize {
    len / 4 * 3 + 2
}

/// [`b64url_decode_strict`] into `out` (at least [`b64url_room`] bytes), so short segments
/// (the header, the signature) are decoded on the stack. Returns the decoded length.
fn b64url_decode_into(s: &[u8], what: &str, out: &mut [u8]) -> Result<usize> {
    let rem = s.len() % 4;
    if rem == 1 {
        return Err(malformed(format!(
            "{what}: base64url length {} is impossible",
            s.len()
        )));
    }
    let bad = |c: u8| {
        malformed(match c {
            b'=' => format!("{what}: base64url padding ('=') is not allowed"),
            b'+' | b'/' => format!("{what}: '+' and '/' are standard base64, not base64url"),
            _ => format!("{what}: byte 0x{c:02x} is not in the base64url alphabet"),
        })
    };
    let val = |c: u8| -> Result<u32> {
        let v = B64URL[usize::from(c)];
        if v == INVALID {
            Err(bad(c))
        } else {
            Ok(u32::from(v))
        }
    };
    let quads = s.len() / 4;
    let out = out
        .get_mut(..b64url_room(s.len()))
        .ok_or_else(|| malformed(format!("{what}: no room to decode")))?;
    let chunks = s.chunks_exact(4);
    let (at, bad_quad) = decode_quads(s.get(..quads * 4).unwrap_or_default(), out);
    if bad_quad {
        // Name the first character outside the alphabet. Should a decoder refuse quads made
        // only of valid characters (it never has), say so rather than blame a character.
        return Err(
            match s[..quads * 4]
                .iter()
                .copied()
                .find(|&c| B64URL[usize::from(c)] == INVALID)
            {
                Some(c) => bad(c),
                None => malformed(format!("{what}: base64url did not decode")),
            },
        );
    }
    let tail: &[u8] = match chunks.remainder() {
        [] => &[],
        [a, b] => {
            let (x, y) = (val(*a)?, val(*b)?);
            if y & 0x0f != 0 {
                return Err(malformed(format!(
                    "{what}: non-canonical base64url (unused trailing bits are set)"
                )));
            }
            &[((x << 2) | (y >> 4)) as u8]
        }
        [a, b, c] => {
            let (x, y, z) = (val(*a)?, val(*b)?, val(*c)?);
            if z & 0x03 != 0 {
                return Err(malformed(format!(
                    "{what}: non-canonical base64url (unused trailing bits are set)"
                )));
            }
            let n = (x << 12) | (y << 6) | z;
            &[(n >> 10) as u8, (n >> 2) as u8]
        }
        _ => return Err(malformed(format!("{what}: bad base64url length"))),
    };
    let end = at + tail.len();
    if let Some(dst) = out.get_mut(at..end) {
        dst.copy_from_slice(tail);
    }
    Ok(end)
}

/// Decodes whole quads of base64url into `out` (which has two bytes of slack at the end):
/// returns the bytes written and whether any character was outside the alphabet (the caller
/// then names the first one).
///
/// Natively with `base64-simd` (whole quads only, so padding bits never arise; the tail and
/// every error message stay ours): ~70 ns for a JWT payload of ~900 characters in cache; in a
/// cold gate check, which reads the new token from memory here first, the decode's share went
/// from 1.1–1.3 % with our best scalar decoder (four pre-shifted tables) to 0.6 % (`perf`).
#[cfg(not(target_family = "wasm"))]
fn decode_quads(s: &[u8], out: &mut [u8]) -> (usize, bool) {
    debug_assert_eq!(s.len() % 4, 0);
    let n = s.len() / 4 * 3;
    let Some(dst) = out.get_mut(..n) else {
        return (0, true);
    };
    match base64_simd::URL_SAFE_NO_PAD.decode(s, base64_simd::Out::from_slice(dst)) {
        Ok(decoded) => (decoded.len(), false),
        Err(_) => (0, true),
    }
}

/// [`decode_quads`] for WebAssembly, with the one 256-byte table (its size budget is tighter
/// than its time budget): eight characters at a time make six bytes, stored as one 8-byte word.
#[cfg(target_family = "wasm")]
fn decode_quads(s: &[u8], out: &mut [u8]) -> (usize, bool) {
    let mut seen = 0u8;
    let mut at = 0;
    let mut octets = s.chunks_exact(8);
    for c in &mut octets {
        let mut n = 0u64;
        for &ch in c {
            let v = B64URL[usize::from(ch)];
            seen |= v;
            n = (n << 6) | u64::from(v);
        }
        if let Some(dst) = out.get_mut(at..at + 8) {
            dst.copy_from_slice(&(n << 16).to_be_bytes());
        }
        at += 6;
    }
    if let [a, b, x, y] = *octets.remainder() {
        let (a, b, x, y) = (
            B64URL[usize::from(a)],
            B64URL[usize::from(b)],
            B64URL[usize::from(x)],
            B64URL[usize::from(y)],
        );
        seen |= a | b | x | y;
        let n = (u32::from(a) << 18) | (u32::from(b) << 12) | (u32::from(x) << 6) | u32::from(y);
        if let Some(dst) = out.get_mut(at..at + 3) {
            dst.copy_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
        }
        at += 3;
    }
    (at, seen & 0x80 != 0)
}

/// Unpadded base64url.
pub fn b64url_encode(bytes: &[u8]) -> String {
    crate::encoding::b64url_encode(bytes)
}

// ------------------------------------------------------------------------------------------
// JWK (cnf and trust store)
// ------------------------------------------------------------------------------------------

/// Reads an RFC 8037 public OKP/Ed25519 JWK and returns its 32 key bytes, without decoding the
/// curve point (callers that verify with the key parse it with [`PublicKey::from_bytes`]).
/// `kty` must be `OKP`, `crv` `Ed25519`, `x` canonical base64url of 32 bytes; `d` is refused;
/// `alg` if present must be `Ed25519`/`EdDSA`, `use` if present `sig`; `kid` is allowed; any
/// other member is refused. Failure: `jwk_invalid`.
pub fn parse_okp_jwk(v: &Value) -> Result<[u8; 32]> {
    let bad = |w: &str| Error::new(Code::JwkInvalid, w.to_owned());
    let o = v
        .as_object()
        .ok_or_else(|| bad("a JWK must be an object"))?;
    for (k, val) in o {
        match (k.as_str(), val) {
            ("kty", Value::String(s)) if s == "OKP" => {}
            ("crv", Value::String(s)) if s == "Ed25519" => {}
            ("x", Value::String(_)) => {}
            ("kid", Value::String(_)) => {}
            ("alg", Value::String(s)) if s == ALG || s == ALG_EDDSA => {}
            ("use", Value::String(s)) if s == "sig" => {}
            ("d", _) => return Err(bad("private key material (\"d\") in a public JWK")),
            ("kty" | "crv" | "alg" | "use", _) => {
                return Err(Error::new(
                    Code::KeyUnsupported,
                    format!(
                        "JWK member {k:?} is {val}; only an OKP Ed25519 signing key is accepted"
                    ),
                ))
            }
            _ => return Err(bad(&format!("unexpected JWK member {:?}", short(k)))),
        }
    }
    if !o.contains_key("kty") || !o.contains_key("crv") {
        return Err(bad("a JWK needs \"kty\":\"OKP\" and \"crv\":\"Ed25519\""));
    }
    let x = o
        .get("x")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("a JWK needs \"x\""))?;
    let b = b64url_decode_strict(x.as_bytes(), "jwk.x")
        .map_err(|e| Error::new(Code::JwkInvalid, e.detail().to_owned()))?;
    <[u8; 32]>::try_from(b.as_slice())
        .map_err(|_| bad(&format!("jwk.x is {} bytes; Ed25519 keys are 32", b.len())))
}

/// The public JWK written in `cnf.jwk`: `{"kty":"OKP","crv":"Ed25519","x":...}`.
pub fn okp_jwk(key: &PublicKey) -> Value {
    let mut m = Map::new();
    m.insert("kty".into(), Value::String("OKP".into()));
    m.insert("crv".into(), Value::String("Ed25519".into()));
    m.insert("x".into(), Value::String(key.to_base64url()));
    Value::Object(m)
}

fn short(s: &str) -> String {
    s.chars().take(64).collect()
}

// ------------------------------------------------------------------------------------------
// Decoding
// ------------------------------------------------------------------------------------------

/// The JWS algorithm name a token used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// `Ed25519` (RFC 9864).
    Ed25519,
    /// `EdDSA` (RFC 8037), accepted only over an Ed25519 key.
    EdDsa,
}

/// Header rules a verifier can tune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRules {
    /// Accept `alg: "EdDSA"` (default `true`).
    pub accept_eddsa: bool,
}

impl Default for HeaderRules {
    fn default() -> Self {
        HeaderRules { accept_eddsa: true }
    }
}

/// A compact JWS split and decoded, signature NOT checked.
#[derive(Debug, Clone)]
pub struct DecodedJwt<'a> {
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'a str,
    /// The algorithm named in the header.
    pub alg: Alg,
    /// `kid`.
    pub kid: String,
    /// The claims object.
    pub claims: Map<String, Value>,
    /// The signature.
    pub signature: Signature,
}

/// Splits and decodes a compact JWS and applies the header rules. Does not verify.
pub fn decode<'a>(token: &'a str, rules: &HeaderRules) -> Result<DecodedJwt<'a>> {
    let raw = split(token, rules)?;
    let claims = match json::parse_strict(&raw.payload) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(malformed("claims are not a JSON object")),
        Err(e) => return Err(e.at("claims")),
    };
    Ok(DecodedJwt {
        signing_input: raw.signing_input,
        alg: raw.alg,
        kid: raw.kid,
        claims,
        signature: raw.signature,
    })
}

/// A compact JWS split and decoded with typed claims, signature NOT checked.
#[derive(Debug, Clone)]
pub struct TypedJwt<'a> {
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'a str,
    /// The algorithm named in the header.
    pub alg: Alg,
    /// `kid`.
    pub kid: String,
    /// The claims.
    pub claims: Claims,
    /// The signature.
    pub signature: Signature,
}

/// [`decode`] then [`Claims::from_map`], with the same results and errors. Claims written the
/// way [`sign`] writes them (compact JSON, no escapes) are typed directly from the bytes without
/// building a JSON value first; anything else, and anything the direct reader is unsure of,
/// takes the strict reader. See [`Claims::from_json_bytes`].
pub fn decode_typed<'a>(token: &'a str, rules: &HeaderRules) -> Result<TypedJwt<'a>> {
    decode_typed_with(token, rules, None)
}

/// [`decode_typed`], sharing constraint objects through `interned` (see [`crate::interned`]).
pub(crate) fn decode_typed_with<'a>(
    token: &'a str,
    rules: &HeaderRules,
    interned: Option<&Interning>,
) -> Result<TypedJwt<'a>> {
    let raw = split(token, rules)?;
    let claims = Claims::read(&raw.payload, interned)?;
    Ok(TypedJwt {
        signing_input: raw.signing_input,
        alg: raw.alg,
        kid: raw.kid,
        claims,
        signature: raw.signature,
    })
}

struct Split<'a> {
    signing_input: &'a str,
    alg: Alg,
    kid: String,
    payload: Vec<u8>,
    signature: Signature,
}

fn split<'a>(token: &'a str, rules: &HeaderRules) -> Result<Split<'a>> {
    // The first dot from the start and the last from the end (header and signature are
    // short). A stray third dot is in the payload, which then fails to decode ('.' is not
    // base64url): the payload is searched for one only on failure, and the error says what
    // it is.
    let b = token.as_bytes();
    let d1 = b
        .iter()
        .position(|&c| c == b'.')
        .ok_or_else(|| malformed("a compact JWS has three '.'-separated segments; found one"))?;
    let d2 = b.iter().rposition(|&c| c == b'.').unwrap_or(d1);
    if d2 == d1 {
        return Err(malformed("a compact JWS has three segments; found two"));
    }
    let (h, p, s) = (
        b.get(..d1).unwrap_or_default(),
        b.get(d1 + 1..d2).unwrap_or_default(),
        b.get(d2 + 1..).unwrap_or_default(),
    );
    let split = segments(token, rules, (h, p, s), d2);
    match split {
        Err(_) if p.contains(&b'.') => Err(malformed(
            "more than three segments (a JWE or a nested token is not a passport)",
        )),
        _ => split,
    }
}

/// [`split`] once the segments are found.
fn segments<'a>(
    token: &'a str,
    rules: &HeaderRules,
    (h, p, s): (&[u8], &[u8], &[u8]),
    d2: usize,
) -> Result<Split<'a>> {
    if h.is_empty() {
        return Err(malformed("empty header segment"));
    }
    // The header first, so `alg: none` (whose signature segment is empty) is reported as the
    // algorithm it is.
    // The header and the signature are short: decoded on the stack.
    let mut room = [0u8; b64url_room(256)];
    let heap;
    let header_bytes = match h.len() {
        ..=256 => {
            let n = b64url_decode_into(h, "header", &mut room)?;
            room.get(..n).unwrap_or_default()
        }
        _ => {
            heap = b64url_decode_strict(h, "header")?;
            &heap[..]
        }
    };
    let (alg, kid) = match exact_header(header_bytes, rules) {
        Some(found) => found,
        None => {
            let header = match json::parse_strict(header_bytes) {
                Ok(Value::Object(m)) => m,
                Ok(_) => return Err(malformed("header is not a JSON object")),
                Err(e) => return Err(e.at("header")),
            };
            check_header(&header, rules)?
        }
    };
    if p.is_empty() || s.is_empty() {
        return Err(malformed(
            "empty segment (detached or unsigned payloads are not passports)",
        ));
    }
    let sig_len = match s.len() {
        ..=256 => b64url_decode_into(s, "signature", &mut room)?,
        _ => b64url_decode_strict(s, "signature")?.len(),
    };
    let sig: [u8; 64] = room
        .get(..sig_len)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            Error::new(
                Code::SignatureMalformed,
                format!("signature is {sig_len} bytes; Ed25519 signatures are 64"),
            )
        })?;
    let payload = b64url_decode_strict(p, "claims")?;
    Ok(Split {
        signing_input: token.get(..d2).unwrap_or_default(),
        alg,
        kid,
        payload,
        signature: Signature::from(sig),
    })
}

/// The header this module writes, `{"alg":"Ed25519","kid":"<kid>","typ":"modei-passport+jwt"}`
/// (or with `EdDSA` when accepted), recognised byte for byte with a kid free of `"`, `\` and
/// control characters. Such bytes are exactly a JSON object the strict path would accept with the
/// same result, so this only skips building a JSON value on the hot path; any other header
/// (other member order, whitespace, escapes, extra members) takes the general path.
fn exact_header(b: &[u8], rules: &HeaderRules) -> Option<(Alg, String)> {
    const SUFFIX: &[u8] = b"\",\"typ\":\"modei-passport+jwt\"}";
    let (alg, rest) = if let Some(r) = b.strip_prefix(b"{\"alg\":\"Ed25519\",\"kid\":\"".as_slice())
    {
        (Alg::Ed25519, r)
    } else if rules.accept_eddsa {
        (
            Alg::EdDsa,
            b.strip_prefix(b"{\"alg\":\"EdDSA\",\"kid\":\"".as_slice())?,
        )
    } else {
        return None;
    };
    let kid = rest.strip_suffix(SUFFIX)?;
    if kid.is_empty()
        || kid.len() > MAX_ID_LEN
        || kid.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20)
    {
        return None;
    }
    let kid = std::str::from_utf8(kid).ok()?;
    Some((alg, kid.to_owned()))
}

fn check_header(h: &Map<String, Value>, rules: &HeaderRules) -> Result<(Alg, String)> {
    let alg = match h.get("alg") {
        Some(Value::String(s)) if s == ALG => Alg::Ed25519,
        Some(Value::String(s)) if s == ALG_EDDSA && rules.accept_eddsa => Alg::EdDsa,
        Some(Value::String(s)) => {
            return Err(Error::new(
                Code::JwtAlgNotAllowed,
                format!(
                    "alg {:?} is not allowed; passports are signed with Ed25519{}",
                    short(s),
                    if rules.accept_eddsa {
                        " (alg \"Ed25519\" or \"EdDSA\")"
                    } else {
                        " (alg \"Ed25519\")"
                    }
                ),
            ))
        }
        Some(_) => return Err(Error::new(Code::JwtAlgNotAllowed, "alg is not a string")),
        None => return Err(Error::new(Code::JwtAlgNotAllowed, "header has no alg")),
    };
    if h.contains_key("crit") {
        return Err(Error::new(
            Code::JwtCritUnsupported,
            "crit header present; this verifier implements no JWS extension",
        ));
    }
    if let Some(b64) = h.get("b64") {
        if b64 != &Value::Bool(true) {
            return Err(Error::new(
                Code::JwtCritUnsupported,
                "b64 header (RFC 7797 unencoded payload) is not supported",
            ));
        }
    }
    for k in ["jwk", "jku", "x5c", "x5u", "x5t", "x5t#S256"] {
        if h.contains_key(k) {
            return Err(Error::new(
                Code::JwtEmbeddedKey,
                format!("header carries {k:?}; verification keys come only from the trust store, never from the token"),
            ));
        }
    }
    match h.get("typ") {
        Some(Value::String(t)) if typ_matches(t) => {}
        Some(Value::String(t)) => {
            return Err(Error::new(
                Code::JwtTypInvalid,
                format!("typ {:?} is not {TYP:?}", short(t)),
            ))
        }
        Some(_) => return Err(Error::new(Code::JwtTypInvalid, "typ is not a string")),
        None => {
            return Err(Error::new(
                Code::JwtTypInvalid,
                format!("header has no typ; passports carry typ {TYP:?}"),
            ))
        }
    }
    if h.contains_key("cty") {
        return Err(Error::new(
            Code::JwtTypInvalid,
            "cty header present; a passport's payload is its claims, never a nested object",
        ));
    }
    let kid = match h.get("kid") {
        Some(Value::String(k)) if !k.is_empty() && k.len() <= MAX_ID_LEN => k.clone(),
        Some(_) => {
            return Err(malformed(format!(
                "kid must be a non-empty string of at most {MAX_ID_LEN} bytes"
            )))
        }
        None => return Err(malformed("header has no kid naming the issuer key")),
    };
    Ok((alg, kid))
}

fn typ_matches(t: &str) -> bool {
    let t = match t.get(..12) {
        Some(p) if p.eq_ignore_ascii_case("application/") => t.get(12..).unwrap_or_default(),
        _ => t,
    };
    t.eq_ignore_ascii_case(TYP)
}

// ------------------------------------------------------------------------------------------
// Claims
// ------------------------------------------------------------------------------------------

/// A catalog pin: the gate catalog version and hash a passport was issued against.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CatalogPin {
    /// The gate whose catalog is pinned.
    pub gate_id: Option<String>,
    /// Catalog version.
    pub version: Option<i64>,
    /// Catalog content hash (`sha256:...`).
    pub content_hash: Option<String>,
}

impl CatalogPin {
    /// Whether no member is set.
    pub fn is_empty(&self) -> bool {
        self.gate_id.is_none() && self.version.is_none() && self.content_hash.is_none()
    }
}

/// The claims of a passport JWT, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// `iss`: the issuer id (trust store id, `self:<hex>`, or the parent agent's id).
    pub iss: String,
    /// `sub`: the agent id.
    pub sub: String,
    /// `jti`: the passport id.
    pub jti: String,
    /// `iat`, seconds.
    pub iat: i64,
    /// `exp`, seconds.
    pub exp: i64,
    /// `nbf`, seconds.
    pub nbf: Option<i64>,
    /// `aud`: the gates this passport is for (empty: any gate).
    pub aud: Vec<String>,
    /// `name`: the agent's display name.
    pub name: Option<String>,
    /// `permissions`, in signed order.
    pub permissions: Vec<Permission>,
    /// `catalog`.
    pub catalog: Option<CatalogPin>,
    /// `cnf.jwk` key bytes (RFC 7800): the agent key for proof of possession.
    pub cnf: [u8; 32],
    /// `del.authority`: may this passport delegate.
    pub delegation_authority: bool,
    /// `del.parent`: the parent passport, a compact JWT (delegations only).
    pub parent: Option<String>,
}

fn claim(what: impl Into<String>) -> Error {
    Error::new(Code::JwtClaimInvalid, what)
}

fn take_id(m: &mut Map<String, Value>, k: &str) -> Result<String> {
    match m.remove(k) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_ID_LEN => Ok(s),
        Some(Value::String(_)) => Err(claim(format!(
            "{k} must be a non-empty string of at most {MAX_ID_LEN} bytes"
        ))),
        Some(_) => Err(claim(format!("{k} must be a string"))),
        None => Err(claim(format!("required claim {k} is missing"))),
    }
}

fn numeric_date(v: Value, k: &str) -> Result<i64> {
    match v.as_i64() {
        Some(n) if (0..=MAX_NUMERIC_DATE).contains(&n) => Ok(n),
        _ => Err(claim(format!(
            "{k} must be an integer NumericDate (seconds) between 0 and {MAX_NUMERIC_DATE}"
        ))),
    }
}

fn take_date(m: &mut Map<String, Value>, k: &str) -> Result<Option<i64>> {
    m.remove(k).map(|v| numeric_date(v, k)).transpose()
}

/// The claim names a passport may carry; any other claim is refused (a restriction we do not
/// understand must not be silently dropped).
pub const KNOWN_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "jti",
    "iat",
    "exp",
    "nbf",
    "aud",
    "name",
    "permissions",
    "catalog",
    "cnf",
    "del",
];

impl Claims {
    /// Reads the claims object (consumed: strings are moved, not copied). Failure:
    /// `jwt_claim_invalid` naming the claim, or `jwk_invalid` for `cnf.jwk`.
    pub fn from_map(mut m: Map<String, Value>) -> Result<Claims> {
        if let Some(k) = m.keys().find(|k| !KNOWN_CLAIMS.contains(&k.as_str())) {
            return Err(claim(format!("unknown claim {:?}", short(k))));
        }
        let iss = take_id(&mut m, "iss")?;
        let sub = take_id(&mut m, "sub")?;
        let jti = take_id(&mut m, "jti")?;
        let iat =
            take_date(&mut m, "iat")?.ok_or_else(|| claim("required claim iat is missing"))?;
        let exp =
            take_date(&mut m, "exp")?.ok_or_else(|| claim("required claim exp is missing"))?;
        let nbf = take_date(&mut m, "nbf")?;
        let aud = match m.remove("aud") {
            None => Vec::new(),
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_ID_LEN => vec![s],
            Some(Value::Array(a)) if !a.is_empty() && a.len() <= 64 => {
                let mut out = Vec::with_capacity(a.len());
                for x in a {
                    match x {
                        Value::String(s) if !s.is_empty() && s.len() <= MAX_ID_LEN => out.push(s),
                        _ => return Err(claim("aud entries must be non-empty strings")),
                    }
                }
                out
            }
            Some(_) => {
                return Err(claim(
                    "aud must be a gate id or a non-empty array of at most 64 gate ids",
                ))
            }
        };
        let name = match m.remove("name") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(claim("name must be a string")),
        };
        let permissions = match m.remove("permissions") {
            Some(Value::Array(a)) => permissions_from(a)?,
            Some(_) => return Err(claim("permissions must be an array")),
            None => return Err(claim("required claim permissions is missing")),
        };
        let catalog = match m.remove("catalog") {
            None => None,
            Some(Value::Object(c)) => Some(catalog_from(c)?),
            Some(_) => return Err(claim("catalog must be an object")),
        };
        let cnf = match m.remove("cnf") {
            Some(Value::Object(c)) if c.len() == 1 => match c.get("jwk") {
                Some(j) => parse_okp_jwk(j).map_err(|e| e.at("cnf.jwk"))?,
                None => return Err(claim("cnf must be {\"jwk\": {...}}")),
            },
            Some(_) => return Err(claim("cnf must be {\"jwk\": {...}}")),
            None => {
                return Err(claim(
                    "required claim cnf (the agent's key, RFC 7800) is missing",
                ))
            }
        };
        let (delegation_authority, parent) = match m.remove("del") {
            None => (false, None),
            Some(Value::Object(mut d)) => {
                if let Some(k) = d
                    .keys()
                    .find(|k| !matches!(k.as_str(), "authority" | "parent"))
                {
                    return Err(claim(format!("unknown member del.{}", short(k))));
                }
                let authority = match d.remove("authority") {
                    Some(Value::Bool(b)) => b,
                    None => false,
                    Some(_) => return Err(claim("del.authority must be a boolean")),
                };
                let parent = match d.remove("parent") {
                    None => None,
                    Some(Value::String(s)) if !s.is_empty() => Some(s),
                    Some(_) => return Err(claim("del.parent must be a compact JWT string")),
                };
                (authority, parent)
            }
            Some(_) => return Err(claim("del must be an object")),
        };
        Ok(Claims {
            iss,
            sub,
            jti,
            iat,
            exp,
            nbf,
            aud,
            name,
            permissions,
            catalog,
            cnf,
            delegation_authority,
            parent,
        })
    }

    /// The claims object as written on issue (members in a fixed order; optional members
    /// omitted when unset).
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("iss".into(), Value::String(self.iss.clone()));
        m.insert("sub".into(), Value::String(self.sub.clone()));
        m.insert("jti".into(), Value::String(self.jti.clone()));
        m.insert("iat".into(), Value::from(self.iat));
        m.insert("exp".into(), Value::from(self.exp));
        if let Some(n) = self.nbf {
            m.insert("nbf".into(), Value::from(n));
        }
        match self.aud.as_slice() {
            [] => {}
            [one] => {
                m.insert("aud".into(), Value::String(one.clone()));
            }
            many => {
                m.insert(
                    "aud".into(),
                    Value::Array(many.iter().cloned().map(Value::String).collect()),
                );
            }
        }
        if let Some(n) = &self.name {
            m.insert("name".into(), Value::String(n.clone()));
        }
        m.insert("permissions".into(), permissions_to(&self.permissions));
        if let Some(c) = &self.catalog {
            let mut cm = Map::new();
            if let Some(g) = &c.gate_id {
                cm.insert("gate_id".into(), Value::String(g.clone()));
            }
            if let Some(v) = c.version {
                cm.insert("version".into(), Value::from(v));
            }
            if let Some(h) = &c.content_hash {
                cm.insert("content_hash".into(), Value::String(h.clone()));
            }
            m.insert("catalog".into(), Value::Object(cm));
        }
        let mut cnf = Map::new();
        let mut jwk = Map::new();
        jwk.insert("kty".into(), Value::String("OKP".into()));
        jwk.insert("crv".into(), Value::String("Ed25519".into()));
        jwk.insert("x".into(), Value::String(b64url_encode(&self.cnf)));
        cnf.insert("jwk".into(), Value::Object(jwk));
        m.insert("cnf".into(), Value::Object(cnf));
        if self.delegation_authority || self.parent.is_some() {
            let mut d = Map::new();
            d.insert("authority".into(), Value::Bool(self.delegation_authority));
            if let Some(p) = &self.parent {
                d.insert("parent".into(), Value::String(p.clone()));
            }
            m.insert("del".into(), Value::Object(d));
        }
        Value::Object(m)
    }
}

fn permissions_from(a: Vec<Value>) -> Result<Vec<Permission>> {
    let mut out: Vec<Permission> = Vec::with_capacity(a.len());
    for (i, p) in a.into_iter().enumerate() {
        let Value::Object(mut o) = p else {
            return Err(claim(format!("permissions[{i}] must be an object")));
        };
        if o.len() != 2 {
            return Err(claim(format!(
                "permissions[{i}] must have exactly permission_key and constraints"
            )));
        }
        let key = match o.remove("permission_key") {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_ID_LEN => s,
            _ => {
                return Err(claim(format!(
                    "permissions[{i}].permission_key must be a non-empty string"
                )))
            }
        };
        let constraints = match o.remove("constraints") {
            Some(Value::Object(c)) => c,
            _ => {
                return Err(claim(format!(
                    "permissions[{i}].constraints must be an object"
                )))
            }
        };
        if out.iter().any(|q| q.permission_key == key) {
            return Err(claim(format!(
                "permissions[{i}]: permission_key {:?} appears twice",
                short(&key)
            )));
        }
        out.push(Permission {
            permission_key: key,
            constraints: constraints.into(),
        });
    }
    Ok(out)
}

fn permissions_to(p: &[Permission]) -> Value {
    Value::Array(
        p.iter()
            .map(|p| {
                let mut m = Map::new();
                m.insert(
                    "permission_key".into(),
                    Value::String(p.permission_key.clone()),
                );
                m.insert(
                    "constraints".into(),
                    Value::Object(Map::clone(&p.constraints)),
                );
                Value::Object(m)
            })
            .collect(),
    )
}

fn catalog_from(mut c: Map<String, Value>) -> Result<CatalogPin> {
    if let Some(k) = c
        .keys()
        .find(|k| !matches!(k.as_str(), "gate_id" | "version" | "content_hash"))
    {
        return Err(claim(format!("unknown member catalog.{}", short(k))));
    }
    let gate_id = match c.remove("gate_id") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(_) => return Err(claim("catalog.gate_id must be a non-empty string")),
    };
    let version = match c.remove("version") {
        None => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| claim("catalog.version must be an integer"))?,
        ),
    };
    let content_hash = match c.remove("content_hash") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(_) => return Err(claim("catalog.content_hash must be a non-empty string")),
    };
    let pin = CatalogPin {
        gate_id,
        version,
        content_hash,
    };
    if pin.is_empty() {
        return Err(claim("catalog must not be empty; omit it instead"));
    }
    Ok(pin)
}

// ------------------------------------------------------------------------------------------
// Direct claims reader (hot path)
// ------------------------------------------------------------------------------------------

impl Claims {
    /// Reads claims from their JSON bytes: exactly `json::parse_strict` then
    /// [`Claims::from_map`] (same value, same error). The direct reader below accepts only a
    /// narrow, unambiguous subset (compact JSON as [`sign`] writes it: no whitespace, no escapes
    /// in strings, unsigned integer dates, the known claims each at most once) and returns `None`
    /// on anything else, in which case the strict path decides. Constraint objects and the
    /// catalog pin are always read by the strict reader. A test checks, over the vectors and
    /// thousands of mutations, that whenever the direct reader answers, the strict path gives the
    /// same claims.
    pub fn from_json_bytes(payload: &[u8]) -> Result<Claims> {
        Claims::read(payload, None)
    }

    /// [`Claims::from_json_bytes`], the direct reader sharing constraint objects through
    /// `interned`.
    pub(crate) fn read(payload: &[u8], interned: Option<&Interning>) -> Result<Claims> {
        if let Some(c) = fast_claims(payload, interned) {
            return Ok(c);
        }
        match json::parse_strict(payload) {
            Ok(Value::Object(m)) => Claims::from_map(m),
            Ok(_) => Err(malformed("claims are not a JSON object")),
            Err(e) => Err(e.at("claims")),
        }
    }
}

struct Fast<'a> {
    /// The claims, already known to be UTF-8.
    text: &'a str,
    s: &'a [u8],
    pos: usize,
    interned: Option<&'a Interning<'a>>,
}

impl<'a> Fast<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.pos += 1)
    }
    fn lit(&mut self, l: &[u8]) -> Option<()> {
        let end = self.pos.checked_add(l.len())?;
        (self.s.get(self.pos..end)? == l).then(|| self.pos = end)
    }
    /// A string with no escapes and no control characters.
    fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.pos;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' => return None,
                c if c < 0x20 => return None,
                _ => self.pos += 1,
            }
        }
        // Both ends sit at ASCII quotes of text already known to be UTF-8.
        let out = self.text.get(start..self.pos)?;
        self.pos += 1;
        Some(out)
    }
    fn owned(&mut self) -> Option<String> {
        self.str().map(str::to_owned)
    }
    /// An unsigned integer of at most 15 digits (exact in a double), no fraction or exponent.
    fn uint(&mut self) -> Option<i64> {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        let d = self.s.get(start..self.pos)?;
        if d.is_empty() || d.len() > 15 || (d.len() > 1 && d[0] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return None;
        }
        std::str::from_utf8(d).ok()?.parse().ok()
    }
    /// One object value, read in place by the strict reader, nested at most `max_depth` deep.
    fn strict_object(&mut self, max_depth: usize) -> Option<Map<String, Value>> {
        if self.peek()? != b'{' {
            return None;
        }
        match json::strict_value_at(self.text, self.pos, max_depth)? {
            (Value::Object(m), end) => {
                self.pos = end;
                Some(m)
            }
            _ => None,
        }
    }

    /// A constraint object: the shared one if this exact text was read before (see
    /// [`crate::interned`] and [`Interned::find`] for why that is the same value), else read by
    /// the strict reader (and kept if the passport verifies).
    fn constraints(&mut self, max_depth: usize) -> Option<Arc<Map<String, Value>>> {
        let start = self.pos;
        let Some(interned) = self.interned.filter(|_| Interned::ENABLED) else {
            return self.strict_object(max_depth).map(Arc::new);
        };
        if let Some((m, end)) = interned.find(self.s, start) {
            self.pos = end;
            return Some(m);
        }
        let m = Arc::new(self.strict_object(max_depth)?);
        interned.parsed(self.s.get(start..self.pos)?, &m);
        Some(m)
    }
}

fn id_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_LEN
}

fn fast_claims<'a>(payload: &'a [u8], interned: Option<&'a Interning<'a>>) -> Option<Claims> {
    // Depth of the strict reader's limit, minus the levels above a constraints object
    // (claims → permissions → permission).
    let max_depth = json::JsonLimits::DEFAULT.max_depth;
    if payload.len() > json::JsonLimits::DEFAULT.max_bytes {
        return None;
    }
    let text = std::str::from_utf8(payload).ok()?;
    let mut f = Fast {
        text,
        s: payload,
        pos: 0,
        interned,
    };
    let (mut iss, mut sub, mut jti) = (None, None, None);
    let (mut iat, mut exp, mut nbf) = (None, None, None);
    let mut aud: Option<Vec<String>> = None;
    let mut name: Option<Option<String>> = None;
    let mut permissions: Option<Vec<Permission>> = None;
    let mut catalog = None;
    let mut cnf = None;
    let mut del: Option<(bool, Option<String>)> = None;
    f.eat(b'{')?;
    if f.peek()? == b'}' {
        return None;
    }
    loop {
        let key = f.str()?;
        f.eat(b':')?;
        match key {
            "iss" if iss.is_none() => iss = Some(f.owned()?),
            "sub" if sub.is_none() => sub = Some(f.owned()?),
            "jti" if jti.is_none() => jti = Some(f.owned()?),
            "iat" if iat.is_none() => iat = Some(f.uint()?),
            "exp" if exp.is_none() => exp = Some(f.uint()?),
            "nbf" if nbf.is_none() => nbf = Some(f.uint()?),
            "aud" if aud.is_none() => {
                aud = Some(match f.peek()? {
                    b'"' => vec![f.owned()?],
                    b'[' => {
                        f.pos += 1;
                        let mut v = Vec::new();
                        loop {
                            v.push(f.owned()?);
                            if f.eat(b',').is_none() {
                                f.eat(b']')?;
                                break;
                            }
                        }
                        v
                    }
                    _ => return None,
                })
            }
            "name" if name.is_none() => {
                name = Some(if f.peek()? == b'n' {
                    f.lit(b"null")?;
                    None
                } else {
                    Some(f.owned()?)
                })
            }
            "permissions" if permissions.is_none() => {
                f.eat(b'[')?;
                let mut v: Vec<Permission> = Vec::new();
                if f.eat(b']').is_none() {
                    loop {
                        f.eat(b'{')?;
                        let (mut pk, mut cons) = (None, None);
                        loop {
                            match f.str()? {
                                "permission_key" if pk.is_none() => {
                                    f.eat(b':')?;
                                    pk = Some(f.owned()?);
                                }
                                "constraints" if cons.is_none() => {
                                    f.eat(b':')?;
                                    cons = Some(f.constraints(max_depth.checked_sub(3)?)?);
                                }
                                _ => return None,
                            }
                            if f.eat(b',').is_none() {
                                f.eat(b'}')?;
                                break;
                            }
                        }
                        let permission_key = pk?;
                        if !id_ok(&permission_key)
                            || v.iter().any(|q| q.permission_key == permission_key)
                        {
                            return None;
                        }
                        v.push(Permission {
                            permission_key,
                            constraints: cons?,
                        });
                        if f.eat(b',').is_none() {
                            f.eat(b']')?;
                            break;
                        }
                    }
                }
                permissions = Some(v);
            }
            "catalog" if catalog.is_none() => {
                catalog = Some(catalog_from(f.strict_object(max_depth.checked_sub(1)?)?).ok()?)
            }
            "cnf" if cnf.is_none() => {
                f.lit(b"{\"jwk\":{")?;
                let (mut kty, mut crv, mut x) = (None, None, None);
                loop {
                    let k = f.str()?;
                    f.eat(b':')?;
                    match k {
                        "kty" if kty.is_none() => kty = Some(f.str()?),
                        "crv" if crv.is_none() => crv = Some(f.str()?),
                        "x" if x.is_none() => x = Some(f.str()?),
                        _ => return None,
                    }
                    if f.eat(b',').is_none() {
                        f.lit(b"}}")?;
                        break;
                    }
                }
                if kty? != "OKP" || crv? != "Ed25519" {
                    return None;
                }
                let b = b64url_decode_strict(x?.as_bytes(), "jwk.x").ok()?;
                cnf = Some(<[u8; 32]>::try_from(b.as_slice()).ok()?);
            }
            "del" if del.is_none() => {
                f.eat(b'{')?;
                let (mut authority, mut parent) = (None, None);
                if f.eat(b'}').is_none() {
                    loop {
                        match f.str()? {
                            "authority" if authority.is_none() => {
                                f.eat(b':')?;
                                authority = Some(if f.peek()? == b't' {
                                    f.lit(b"true")?;
                                    true
                                } else {
                                    f.lit(b"false")?;
                                    false
                                });
                            }
                            "parent" if parent.is_none() => {
                                f.eat(b':')?;
                                parent = Some(f.owned()?);
                            }
                            _ => return None,
                        }
                        if f.eat(b',').is_none() {
                            f.eat(b'}')?;
                            break;
                        }
                    }
                }
                if parent.as_ref().is_some_and(String::is_empty) {
                    return None;
                }
                del = Some((authority.unwrap_or(false), parent));
            }
            _ => return None,
        }
        if f.eat(b',').is_none() {
            f.eat(b'}')?;
            break;
        }
    }
    if f.pos != payload.len() {
        return None;
    }
    let (iss, sub, jti) = (iss?, sub?, jti?);
    if !id_ok(&iss) || !id_ok(&sub) || !id_ok(&jti) {
        return None;
    }
    let date = |d: i64| (0..=MAX_NUMERIC_DATE).contains(&d).then_some(d);
    let (iat, exp) = (date(iat?)?, date(exp?)?);
    let nbf = match nbf {
        Some(n) => Some(date(n)?),
        None => None,
    };
    let aud = aud.unwrap_or_default();
    if aud.len() > 64 || aud.iter().any(|a| !id_ok(a)) {
        return None;
    }
    let (delegation_authority, parent) = del.unwrap_or((false, None));
    Some(Claims {
        iss,
        sub,
        jti,
        iat,
        exp,
        nbf,
        aud,
        name: name.flatten(),
        permissions: permissions?,
        catalog,
        cnf: cnf?,
        delegation_authority,
        parent,
    })
}

// ------------------------------------------------------------------------------------------
// Encoding / issuing
// ------------------------------------------------------------------------------------------

/// Signs `claims` as a passport JWT with header `{"alg":"Ed25519","typ":TYP,"kid":kid}`.
/// Low level: it checks the claims' own consistency (known shape, `exp` after `iat`) but not
/// that a verifier will trust the result; see [`crate::passport::Verifier`].
pub fn sign(claims: &Claims, kid: &str, key: &SigningKey) -> Result<String> {
    if kid.is_empty() || kid.len() > MAX_ID_LEN {
        return Err(Error::new(
            Code::InvalidArgument,
            "kid must be a non-empty string of at most 512 bytes",
        ));
    }
    if claims.exp <= claims.iat {
        return Err(Error::new(
            Code::PassportValidityInverted,
            "exp must be after iat",
        ));
    }
    let mut h = Map::new();
    h.insert("alg".into(), Value::String(ALG.into()));
    h.insert("typ".into(), Value::String(TYP.into()));
    h.insert("kid".into(), Value::String(kid.into()));
    // Write members in insertion order would need preserve_order; serde_json's Map sorts them,
    // which is as good (deterministic) and is what we sign.
    let header = serde_json::to_vec(&Value::Object(h))
        .map_err(|e| Error::new(Code::InvalidArgument, e.to_string()))?;
    let payload = serde_json::to_vec(&claims.to_value())
        .map_err(|e| Error::new(Code::InvalidArgument, e.to_string()))?;
    // Round-trip through our own reader so what we sign is what we accept.
    let back = match json::parse_strict(&payload)? {
        Value::Object(m) => Claims::from_map(m)?,
        _ => return Err(claim("claims are not an object")),
    };
    if &back != claims {
        return Err(Error::new(
            Code::InvalidArgument,
            "claims do not survive a JSON round trip",
        ));
    }
    let mut token = b64url_encode(&header);
    token.push('.');
    token.push_str(&b64url_encode(&payload));
    let sig = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&sig.to_base64url());
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn general(b: &[u8], rules: &HeaderRules) -> Result<(Alg, String)> {
        match json::parse_strict(b)? {
            Value::Object(m) => check_header(&m, rules),
            _ => Err(malformed("not an object")),
        }
    }

    /// A stray dot is reported as an extra segment whatever else is wrong (the payload is
    /// searched for one only when splitting fails), and the stack-decoded header and
    /// signature give the same results as the heap path at and past their room.
    #[test]
    fn segments_and_short_segment_decoding() {
        let rules = HeaderRules { accept_eddsa: true };
        let h = b64url_encode(br#"{"alg":"Ed25519","kid":"k","typ":"modei-passport+jwt"}"#);
        let p = b64url_encode(br#"{"sub":"a"}"#);
        let sig = b64url_encode(&[7u8; 64]);
        let token = format!("{h}.{p}.{sig}");
        let ok = split(&token, &rules).unwrap();
        assert_eq!(
            (ok.kid.as_str(), ok.payload.as_slice()),
            ("k", &br#"{"sub":"a"}"#[..])
        );
        assert_eq!(ok.signature.bytes(), &[7u8; 64]);
        let extra = "more than three segments (a JWE or a nested token is not a passport)";
        for t in [
            format!("{h}.{p}.x.{sig}"),
            format!("!!.{p}.x.{sig}"),
            format!(".{p}.x.{sig}"),
            format!("{h}.{p}.x.AAAA"),
            format!("{h}.{p}.."),
        ] {
            let e = split(&t, &rules).err().unwrap();
            assert_eq!((e.code(), e.detail()), (Code::JwtMalformed, extra), "{t}");
        }
        // A bad header without a stray dot is reported as itself.
        let e = split(&format!("!!.{p}.{sig}"), &rules).err().unwrap();
        assert!(e.detail().starts_with("header: "), "{}", e.detail());
        // Signatures of other lengths, on the stack (up to 256 characters) and past it.
        for n in [63usize, 65, 192, 193, 300] {
            let t = format!("{h}.{p}.{}", b64url_encode(&vec![1u8; n]));
            let e = split(&t, &rules).err().unwrap();
            let want = format!("signature is {n} bytes; Ed25519 signatures are 64");
            assert_eq!((e.code(), e.detail()), (Code::SignatureMalformed, &*want));
        }
        // A header past the stack room decodes the same on the heap.
        let long_kid = "k".repeat(300);
        let big = format!(r#"{{"alg":"Ed25519","kid":"{long_kid}","typ":"modei-passport+jwt"}}"#);
        let t = format!("{}.{p}.{sig}", b64url_encode(big.as_bytes()));
        assert_eq!(split(&t, &rules).unwrap().kid, long_kid);
    }

    #[test]
    fn exact_header_agrees_with_the_general_path() {
        let on = HeaderRules { accept_eddsa: true };
        let off = HeaderRules {
            accept_eddsa: false,
        };
        for h in [
            r#"{"alg":"Ed25519","kid":"acme-2026","typ":"modei-passport+jwt"}"#,
            r#"{"alg":"EdDSA","kid":"k","typ":"modei-passport+jwt"}"#,
            r#"{"alg":"Ed25519","kid":"kid with spaces / and é","typ":"modei-passport+jwt"}"#,
        ] {
            for rules in [&on, &off] {
                let fast = exact_header(h.as_bytes(), rules);
                let slow = general(h.as_bytes(), rules).ok();
                assert_eq!(fast, slow, "{h}");
            }
        }
        // These never take the fast path; the general path decides.
        for h in [
            r#"{"alg":"Ed25519","kid":"a\"b","typ":"modei-passport+jwt"}"#,
            r#"{"alg":"Ed25519","kid":"a\u0041","typ":"modei-passport+jwt"}"#,
            r#"{"alg":"Ed25519","kid":"","typ":"modei-passport+jwt"}"#,
            r#"{"alg":"Ed25519","kid":"k","typ":"modei-passport+jwt","jwk":{}}"#,
            r#"{"alg":"Ed25519", "kid":"k","typ":"modei-passport+jwt"}"#,
            r#"{"alg":"Ed25519","kid":"k","typ":"modei-passport+jwt"} "#,
        ] {
            assert_eq!(exact_header(h.as_bytes(), &on), None, "{h}");
        }
        assert_eq!(
            exact_header(
                br#"{"alg":"EdDSA","kid":"k","typ":"modei-passport+jwt"}"#,
                &off
            ),
            None
        );
    }

    #[test]
    fn base64url_is_canonical() {
        assert_eq!(b64url_decode_strict(b"", "x").unwrap(), b"");
        assert_eq!(b64url_decode_strict(b"AQ", "x").unwrap(), [1]);
        assert_eq!(b64url_decode_strict(b"AQI", "x").unwrap(), [1, 2]);
        assert_eq!(b64url_decode_strict(b"AQID", "x").unwrap(), [1, 2, 3]);
        assert_eq!(b64url_decode_strict(b"-_8", "x").unwrap(), [0xfb, 0xff]);
        for bad in [&b"AR"[..], b"AQJ", b"A", b"AQ==", b"+/8", b"AQ I", b"AQ\n"] {
            assert_eq!(
                b64url_decode_strict(bad, "x").unwrap_err().code(),
                Code::JwtMalformed,
                "{:?}",
                std::str::from_utf8(bad)
            );
        }
        // A bad character inside a whole quad is named, the first one when several are.
        for (bad, says) in [
            (&b"AQIDA+ID"[..], "'+' and '/' are standard base64"),
            (b"AQ=DAQID", "padding ('=') is not allowed"),
            (b"AQID\xffQ/D", "byte 0xff"),
        ] {
            let e = b64url_decode_strict(bad, "x").unwrap_err();
            assert!(e.detail().contains(says), "{bad:?}: {}", e.detail());
        }
    }

    proptest::proptest! {
        /// The strict decoder agrees with `base64ct`'s unpadded base64url (which also refuses
        /// non-canonical trailing bits) on every input: the same bytes, or both refuse.
        #[test]
        fn base64url_agrees_with_base64ct(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1024),
            noise in proptest::collection::vec(
                proptest::sample::select(b"AQgw_-09azZ=+/ .\n\xff".to_vec()), 0..40),
            cut in 0usize..4,
            at in proptest::prelude::any::<proptest::sample::Index>(),
            stray in proptest::sample::select(b"=+/ .\n\x00\xff".to_vec()),
        ) {
            use base64ct::Encoding;
            let enc = base64ct::Base64UrlUnpadded::encode_string(&bytes);
            proptest::prop_assert_eq!(b64url_decode_strict(enc.as_bytes(), "x").ok(), Some(bytes.clone()));
            let mut junk = enc.into_bytes();
            junk.truncate(junk.len().saturating_sub(cut));
            junk.extend_from_slice(&noise);
            let ours = b64url_decode_strict(&junk, "x").ok();
            let theirs = std::str::from_utf8(&junk)
                .ok()
                .and_then(|t| base64ct::Base64UrlUnpadded::decode_vec(t).ok());
            proptest::prop_assert_eq!(ours, theirs);
            // One character outside the alphabet anywhere (natively, the SIMD decoder's blocks
            // and the scalar tail alike): refused, and named.
            let mut one = base64ct::Base64UrlUnpadded::encode_string(&bytes).into_bytes();
            if !one.is_empty() {
                let i = at.index(one.len());
                one[i] = stray;
                let e = b64url_decode_strict(&one, "x").unwrap_err();
                let named = match stray {
                    b'=' => "padding".to_owned(),
                    b'+' | b'/' => "standard base64".to_owned(),
                    c => format!("0x{c:02x}"),
                };
                proptest::prop_assert!(e.detail().contains(&named), "{}", e.detail());
            }
        }
    }

    fn general_claims(b: &[u8]) -> Result<Claims> {
        match json::parse_strict(b)? {
            Value::Object(m) => Claims::from_map(m),
            _ => Err(malformed("not an object")),
        }
    }

    /// Claims payloads of every token in `testvectors/jwt/` (and of their ancestors).
    fn corpus() -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testvectors/jwt");
        let mut out = Vec::new();
        let mut tokens: Vec<String> = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            for c in v["cases"].as_array().into_iter().flatten() {
                if let Some(t) = c["token"].as_str() {
                    tokens.push(t.to_owned());
                }
            }
        }
        while let Some(t) = tokens.pop() {
            let Some(p) = t.split('.').nth(1) else {
                continue;
            };
            let Ok(b) = b64url_decode_strict(p.as_bytes(), "p") else {
                continue;
            };
            if let Ok(c) = general_claims(&b) {
                if let Some(parent) = c.parent {
                    tokens.push(parent);
                }
            }
            out.push(b);
        }
        out
    }

    /// Two payloads with the same constraint text share one decoded object; the first read
    /// of a text parses it.
    #[cfg(feature = "shared-sets")]
    #[test]
    fn equal_constraint_texts_are_decoded_once() {
        let x = b64url_encode(&[7; 32]);
        let payload = |jti: &str, limit: u32| {
            format!(
                r#"{{"iss":"acme","sub":"a1","jti":"{jti}","iat":1,"exp":2,"permissions":[{{"permission_key":"k","constraints":{{"core:rate:max_per_minute":{limit},"core:scope:domain_allowlist":["a.example"]}}}}],"cnf":{{"jwk":{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}}}}}"#
            )
        };
        let interned = Interned::default();
        let read = |p: String| {
            let d = Interning::new(&interned);
            let c = fast_claims(p.as_bytes(), Some(&d)).expect("direct reader");
            d.keep();
            c
        };
        let (a, b, c) = (
            read(payload("p1", 5)),
            read(payload("p2", 5)),
            read(payload("p3", 6)),
        );
        let (ca, cb, cc) = (
            &a.permissions[0].constraints,
            &b.permissions[0].constraints,
            &c.permissions[0].constraints,
        );
        assert!(Arc::ptr_eq(ca, cb));
        assert!(!Arc::ptr_eq(ca, cc));
        assert_eq!(ca["core:rate:max_per_minute"], 5);
        assert_eq!(cc["core:rate:max_per_minute"], 6);
        assert_eq!(
            Some(&a),
            general_claims(payload("p1", 5).as_bytes()).ok().as_ref()
        );
    }

    #[test]
    fn direct_claims_reader_never_disagrees_with_the_strict_path() {
        let base = corpus();
        assert!(base.len() >= 50, "vector corpus not found ({})", base.len());
        let mut hits = 0;
        // Shared by every payload below, so mutated constraint objects are looked up among
        // the texts of the originals: reading through it must change nothing.
        let interned = Interned::default();
        let mut check = |b: &[u8]| {
            let direct = fast_claims(b, None);
            // Every payload's objects are kept, as if each had verified.
            let d = Interning::new(&interned);
            let shared = fast_claims(b, Some(&d));
            d.keep();
            assert_eq!(shared, direct, "interned: {}", String::from_utf8_lossy(b));
            if let Some(c) = direct {
                hits += 1;
                assert_eq!(
                    general_claims(b).as_ref(),
                    Ok(&c),
                    "{}",
                    String::from_utf8_lossy(b)
                );
            }
        };
        for b in &base {
            check(b);
        }
        // Mutations: replace, delete or duplicate bytes, with bytes that matter to JSON.
        const INTERESTING: &[u8] = b"\"{}[],:\\ 0123456789-.eEtfnulx\x01\xc3\xa9";
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..40_000usize {
            let src = &base[round % base.len()];
            if src.is_empty() {
                continue;
            }
            let mut m = src.clone();
            for _ in 0..(1 + next() % 3) {
                let i = (next() as usize) % m.len().max(1);
                match next() % 3 {
                    0 => {
                        if let Some(b) = m.get_mut(i) {
                            *b = INTERESTING[(next() as usize) % INTERESTING.len()];
                        }
                    }
                    1 => {
                        if i < m.len() {
                            m.remove(i);
                        }
                    }
                    _ => {
                        let j = (i + 1 + (next() as usize) % 24).min(m.len());
                        let piece: Vec<u8> = m[i..j].to_vec();
                        let at = (next() as usize) % (m.len() + 1);
                        m.splice(at..at, piece);
                    }
                }
            }
            check(&m);
        }
        assert!(hits > 1000, "the direct reader answered only {hits} times");
    }
}
