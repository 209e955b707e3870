//! Strict base64, base64url and hex helpers.
//!
//! Every decoder here accepts exactly one spelling of a given byte string. Lenient decoders
//! (optional padding, embedded whitespace, ignored trailing bits) let two different strings name
//! the same key or signature, which is how parser differentials and signature malleability creep
//! into systems that compare or cache by string. So:
//!
//! - standard base64 (RFC 4648 §4) requires correct `=` padding, no whitespace, and zero
//!   trailing bits (a non-canonical final character is refused);
//! - base64url (RFC 4648 §5) is unpadded (as JWK and JWS use it) and canonical; `=` is refused;
//! - hex accepts either case (people paste both) and always writes lowercase.
//!
//! Note: Modei's Python reference accepts non-canonical trailing bits in standard base64
//! (`base64.b64decode(validate=True)` does not check them). These helpers do not; a caller
//! that needs Python-identical verdicts must say so explicitly, with
//! [`decode_b64_std_fixed_compat`].
//!
//! Failure details describe *what* is wrong (alphabet, padding, whitespace, trailing bits,
//! length) and never echo the input: the input may be a private key.

use crate::error::{Code, Error, Result};
use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use zeroize::Zeroizing;

/// Standard base64 with padding (RFC 4648 §4).
pub fn b64_std_encode(bytes: &[u8]) -> String {
    Base64::encode_string(bytes)
}

/// Decodes strict standard base64: standard alphabet, correct padding, no whitespace,
/// canonical trailing bits. Failure: `invalid_argument` with a description of the fault.
pub fn b64_std_decode(s: &str) -> Result<Vec<u8>> {
    Base64::decode_vec(s).map_err(|_| {
        Error::new(
            Code::InvalidArgument,
            format!("not strict base64: {}", b64_fault(s, Alphabet::Standard)),
        )
    })
}

/// Unpadded base64url (RFC 4648 §5), as used by JWK, JWS and Modei's agent ids.
pub fn b64url_encode(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Decodes strict unpadded base64url: URL-safe alphabet, no `=`, no whitespace, canonical
/// trailing bits. Failure: `invalid_argument` with a description of the fault.
pub fn b64url_decode(s: &str) -> Result<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(s).map_err(|_| {
        Error::new(
            Code::InvalidArgument,
            format!("not strict base64url: {}", b64_fault(s, Alphabet::Url)),
        )
    })
}

/// Lowercase hex.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Decodes hex in either case. Failure (odd length, non-hex character): `invalid_argument`.
pub fn hex_decode(s: &str) -> Result<Vec<u8>> {
    hex_decode_inner(s)
        .map_err(|fault| Error::new(Code::InvalidArgument, format!("not valid hex: {fault}")))
}

/// Decodes strict standard base64 into exactly `N` bytes. Every failure, encoding or length,
/// is reported under `code` (for example `signature_malformed` for a 64-byte signature), with
/// a detail starting with `what` that says which rule was broken and, for a length error, the
/// length found. The intermediate buffer is zeroized, so this is safe for seeds.
pub fn decode_b64_std_fixed<const N: usize>(s: &str, what: &str, code: Code) -> Result<[u8; N]> {
    match Base64::decode_vec(s) {
        Ok(v) => fixed(Zeroizing::new(v), what, code),
        Err(_) => Err(Error::new(
            code,
            format!(
                "{what} is not strict standard base64: {}",
                b64_fault(s, Alphabet::Standard)
            ),
        )),
    }
}

/// [`decode_b64_std_fixed`] that also accepts non-canonical trailing bits, and nothing else
/// lenient: alphabet, padding and whitespace rules stay strict. This is exactly what Modei's
/// Python reference (`base64.b64decode(s, validate=True)`) accepts, and its corpus has a
/// signature that is valid only under it (`sig_noncanonical_trailing_bits`). Use it only where
/// Python-identical verdicts are wanted; it lets two strings name one signature.
pub fn decode_b64_std_fixed_compat<const N: usize>(
    s: &str,
    what: &str,
    code: Code,
) -> Result<[u8; N]> {
    decode_b64_std_fixed::<N>(s, what, code).or_else(|strict_err| match clear_trailing_bits(s) {
        Some(canonical) => {
            decode_b64_std_fixed::<N>(&canonical, what, code).map_err(|_| strict_err)
        }
        None => Err(strict_err),
    })
}

/// The same standard-base64 string with the unused low bits of its last data character
/// cleared, when it ends in one or two `=`; `None` if it does not or the character is not in
/// the alphabet (the strict decoder will report why).
fn clear_trailing_bits(s: &str) -> Option<Zeroizing<String>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    let mask: u8 = match pad {
        1 => 0b11_1100,
        2 => 0b11_0000,
        _ => return None,
    };
    let idx = b.len().checked_sub(pad + 1)?;
    let last = *b.get(idx)?;
    let value = u8::try_from(ALPHABET.iter().position(|&c| c == last)?).ok()?;
    let fixed = *ALPHABET.get(usize::from(value & mask))?;
    let mut out = Zeroizing::new(String::with_capacity(s.len()));
    out.push_str(s.get(..idx)?);
    out.push(char::from(fixed));
    out.push_str(s.get(idx + 1..)?);
    Some(out)
}

/// [`decode_b64_std_fixed`] for unpadded base64url.
pub fn decode_b64url_fixed<const N: usize>(s: &str, what: &str, code: Code) -> Result<[u8; N]> {
    match Base64UrlUnpadded::decode_vec(s) {
        Ok(v) => fixed(Zeroizing::new(v), what, code),
        Err(_) => Err(Error::new(
            code,
            format!(
                "{what} is not strict unpadded base64url: {}",
                b64_fault(s, Alphabet::Url)
            ),
        )),
    }
}

/// [`decode_b64_std_fixed`] for hex (either case).
pub fn decode_hex_fixed<const N: usize>(s: &str, what: &str, code: Code) -> Result<[u8; N]> {
    match hex_decode_inner(s) {
        Ok(v) => fixed(Zeroizing::new(v), what, code),
        Err(fault) => Err(Error::new(
            code,
            format!("{what} is not valid hex: {fault}"),
        )),
    }
}

fn fixed<const N: usize>(v: Zeroizing<Vec<u8>>, what: &str, code: Code) -> Result<[u8; N]> {
    <[u8; N]>::try_from(v.as_slice()).map_err(|_| {
        Error::new(
            code,
            format!("{what} decodes to {} bytes, expected {N}", v.len()),
        )
    })
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn hex_decode_inner(s: &str) -> std::result::Result<Vec<u8>, String> {
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return Err(format!("odd number of digits ({})", b.len()));
    }
    let mut out = Vec::with_capacity(b.len() / 2);
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let (hi, lo) = match pair {
            [hi, lo] => (*hi, *lo),
            _ => return Err("odd number of digits".into()),
        };
        match (hex_value(hi), hex_value(lo)) {
            (Some(h), Some(l)) => out.push((h << 4) | l),
            (None, _) => return Err(bad_char(s, 2 * i, "hex")),
            (_, None) => return Err(bad_char(s, 2 * i + 1, "hex")),
        }
    }
    Ok(out)
}

/// Describes the character at byte `offset` without echoing letters or digits of the input
/// (they may belong to a secret); anything that is not alphanumeric is shown, since it cannot be
/// part of a valid encoding anyway.
fn bad_char(s: &str, offset: usize, kind: &str) -> String {
    let shown = s
        .get(offset..)
        .and_then(|rest| rest.chars().next())
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                "a character".to_string()
            } else {
                format!("{c:?}")
            }
        })
        .unwrap_or_else(|| "a character".to_string());
    format!("{shown} at offset {offset} is not a {kind} digit")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Alphabet {
    Standard,
    Url,
}

/// Explains why base64ct refused `s`. Only called on failure, so it can afford a second pass.
fn b64_fault(s: &str, alphabet: Alphabet) -> String {
    let b = s.as_bytes();
    if let Some(i) = b.iter().position(|c| c.is_ascii_whitespace()) {
        return format!("whitespace at offset {i}");
    }
    let (own, other, other_name) = match alphabet {
        Alphabet::Standard => ([b'+', b'/'], [b'-', b'_'], "base64url"),
        Alphabet::Url => ([b'-', b'_'], [b'+', b'/'], "standard base64"),
    };
    for (i, &c) in b.iter().enumerate() {
        if c.is_ascii_alphanumeric() || own.contains(&c) || c == b'=' {
            continue;
        }
        if other.contains(&c) {
            return format!(
                "{:?} at offset {i} belongs to the {other_name} alphabet",
                char::from(c)
            );
        }
        return bad_char(s, i, "base64");
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    let body = b.len() - pad;
    if b.get(..body).is_some_and(|head| head.contains(&b'=')) {
        return "'=' inside the data (padding may only end the string)".into();
    }
    match alphabet {
        Alphabet::Url => {
            if pad > 0 {
                return "padding '=' is not allowed in unpadded base64url".into();
            }
            if body % 4 == 1 {
                return format!("impossible length {} (a lone final character)", b.len());
            }
        }
        Alphabet::Standard => {
            if b.len() % 4 != 0 || pad > 2 {
                return format!(
                    "padding is missing or incorrect (length {} is not a multiple of 4 with at most two '=')",
                    b.len()
                );
            }
            if body % 4 == 1 {
                return "padding is incorrect (too many '=')".into();
            }
        }
    }
    "non-canonical trailing bits (the final character encodes bits that are not zero)".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_round_trip_and_strictness() {
        assert_eq!(b64_std_encode(b"foob"), "Zm9vYg==");
        assert_eq!(b64_std_decode("Zm9vYg==").unwrap(), b"foob");
        assert_eq!(b64_std_decode("").unwrap(), b"");
        // Missing / extra padding, whitespace, url alphabet, non-canonical bits.
        for (bad, needle) in [
            ("Zm9vYg", "padding"),
            ("Zm9vYg=", "padding"),
            ("Zm9vYg===", "padding"),
            ("Zm9v Yg==", "whitespace"),
            ("Zm9vYg==\n", "whitespace"),
            ("-_8=", "base64url"),
            ("Zm9vYh==", "trailing bits"),
            ("Zm=vYg==", "inside"),
            ("Zm9v*g==", "'*'"),
        ] {
            let e = b64_std_decode(bad).unwrap_err();
            assert_eq!(e.code(), Code::InvalidArgument);
            assert!(e.detail().contains(needle), "{bad}: {}", e.detail());
        }
    }

    #[test]
    fn url_round_trip_and_strictness() {
        assert_eq!(b64url_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64url_decode("-_8").unwrap(), [0xfb, 0xff]);
        for (bad, needle) in [
            ("-_8=", "padding"),
            ("+/8", "standard base64"),
            ("-_9", "trailing bits"),
            ("A", "impossible length"),
            ("-_ 8", "whitespace"),
        ] {
            let e = b64url_decode(bad).unwrap_err();
            assert!(e.detail().contains(needle), "{bad}: {}", e.detail());
        }
    }

    #[test]
    fn hex_both_cases_lowercase_out() {
        assert_eq!(hex_decode("00aBfF").unwrap(), [0x00, 0xab, 0xff]);
        assert_eq!(hex_encode(&[0x00, 0xab, 0xff]), "00abff");
        assert!(hex_decode("abc").unwrap_err().detail().contains("odd"));
        assert!(hex_decode("0g").unwrap_err().detail().contains("offset 1"));
        assert!(hex_decode("é0").is_err());
    }

    #[test]
    fn fixed_reports_code_and_length() {
        let e =
            decode_b64_std_fixed::<32>("AAAA", "public key", Code::PublicKeyMalformed).unwrap_err();
        assert_eq!(e.code(), Code::PublicKeyMalformed);
        assert_eq!(e.detail(), "public key decodes to 3 bytes, expected 32");
        let e =
            decode_b64_std_fixed::<64>("AAA", "signature", Code::SignatureMalformed).unwrap_err();
        assert_eq!(e.code(), Code::SignatureMalformed);
        assert!(e
            .detail()
            .starts_with("signature is not strict standard base64: padding"));
        assert_eq!(
            decode_hex_fixed::<2>("0A0b", "x", Code::KeyMalformed).unwrap(),
            [10, 11]
        );
        assert_eq!(
            decode_b64url_fixed::<2>("-_8", "x", Code::KeyMalformed).unwrap(),
            [0xfb, 0xff]
        );
    }

    #[test]
    fn compat_accepts_only_trailing_bits() {
        // Modei corpus case sig_noncanonical_trailing_bits ("...AF==" where "...AA==" is
        // canonical) and sig_extra_padding.
        let canonical = "hhdIDYOqExhhVldKrPiSClQmBJA3U4TKhOHekrUIoHSkQdSSK75nEVC+moUWKyNToc3ALHzBJJN3DiNt0KheAA==";
        let tweaked = canonical.replace("AA==", "AF==");
        let want = decode_b64_std_fixed::<64>(canonical, "sig", Code::SignatureMalformed).unwrap();
        assert!(decode_b64_std_fixed::<64>(&tweaked, "sig", Code::SignatureMalformed).is_err());
        assert_eq!(
            decode_b64_std_fixed_compat::<64>(&tweaked, "sig", Code::SignatureMalformed).unwrap(),
            want
        );
        for bad in [
            format!("{canonical}="),
            canonical.trim_end_matches('=').to_string(),
            canonical.replace('+', "-"),
            format!(" {canonical}"),
        ] {
            let e = decode_b64_std_fixed_compat::<64>(&bad, "sig", Code::SignatureMalformed)
                .unwrap_err();
            assert_eq!(e.code(), Code::SignatureMalformed, "{bad}");
        }
        // One '=' leaves two unused bits.
        assert_eq!(
            decode_b64_std_fixed_compat::<2>("AAB=", "x", Code::KeyMalformed).unwrap(),
            [0, 0]
        );
    }

    #[test]
    fn details_never_echo_alphanumerics() {
        let e = decode_hex_fixed::<2>("zz", "seed", Code::KeyMalformed).unwrap_err();
        assert!(!e.detail().contains('z'), "{}", e.detail());
    }
}
