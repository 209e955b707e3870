//! RFC 8785 (JSON Canonicalization Scheme) over [`serde_json::Value`].
//!
//! The canonical bytes are what every signature in modei covers, and what Modei's SDKs sign, so
//! this must be exact:
//! - object members sorted by their keys as UTF-16 code units (not UTF-8 bytes, not code points);
//! - numbers written as ECMAScript's `Number.prototype.toString` writes the IEEE-754 double
//!   (integers beyond 2^53 are rounded to a double first, exactly as the reference does);
//! - strings escape only `"`, `\` and C0 controls (`\b \t \n \f \r`, else `\u00xx` lowercase);
//!   everything else is raw UTF-8;
//! - no whitespace.
//!
//! `serde_json::Value` cannot hold NaN or infinities, so non-finite numbers are caught where they
//! enter: the [`crate::json`] reader refuses overflowing literals with
//! `non_finite_number_in_canonical_input`, the code Modei's SDKs use.

use crate::error::Result;
use crate::json;
use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;

/// The RFC 8785 bytes of `value`.
pub fn canonicalize(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, value);
    out
}

/// Appends the RFC 8785 bytes of `value` to `out` (reuse a buffer on hot paths).
pub fn canonicalize_into(out: &mut Vec<u8>, value: &Value) {
    write_value(out, value);
}

/// Parses JSON text with the reference conventions (duplicate keys: the last wins) and returns
/// its canonical form. Rejects overflowing numbers with `non_finite_number_in_canonical_input`,
/// lone surrogates and malformed JSON with `json_syntax`.
pub fn canonicalize_text(text: &[u8]) -> Result<Vec<u8>> {
    Ok(canonicalize(&json::parse_lenient(text)?))
}

/// The number of bytes [`canonicalize`] would produce, without allocating them.
pub fn canonical_len(value: &Value) -> usize {
    let mut n = Counter(0);
    write_value(&mut n, value);
    n.0
}

/// Lowercase hex SHA-256 of the canonical bytes: Modei's `compute_content_hash`.
pub fn content_hash(value: &Value) -> String {
    sha256_hex(&canonicalize(value))
}

/// Appends a string's RFC 8785 form (quoted, escaped), for canonical forms written piecewise.
pub fn canonicalize_str_into(out: &mut Vec<u8>, s: &str) {
    write_string(out, s);
}

/// Lowercase hex SHA-256 of bytes (for canonical forms written piecewise).
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Where canonical bytes go: a buffer, or a counter for size checks.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
    fn put_byte(&mut self, b: u8) {
        self.put(&[b]);
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn put_byte(&mut self, b: u8) {
        self.push(b);
    }
}

struct Counter(usize);

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

fn write_value<S: Sink>(out: &mut S, v: &Value) {
    match v {
        Value::Null => out.put(b"null"),
        Value::Bool(true) => out.put(b"true"),
        Value::Bool(false) => out.put(b"false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.put_byte(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.put_byte(b',');
                }
                write_value(out, item);
            }
            out.put_byte(b']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

fn write_object<S: Sink>(out: &mut S, map: &Map<String, Value>) {
    // serde_json's map iterates in UTF-8 byte order (or insertion order if some crate in the
    // build turns on its `preserve_order`). UTF-8 order equals UTF-16 order unless keys mix
    // U+E000..=U+FFFF with supplementary-plane characters, whose UTF-8 lead bytes are
    // 0xEE..=0xF4. When the keys come in increasing byte order and none has such a byte (the
    // usual case), write in map order with no temporary; otherwise collect and sort.
    let mut prev: Option<&str> = None;
    let in_order = map.keys().all(|k| {
        let ok = prev.is_none_or(|p| p < k.as_str()) && !k.bytes().any(|b| b >= 0xEE);
        prev = Some(k);
        ok
    });
    if in_order {
        write_members(out, map.iter());
        return;
    }
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    if !entries
        .windows(2)
        .all(|w| utf16_cmp(w[0].0, w[1].0) != Ordering::Greater)
    {
        entries.sort_by(|a, b| utf16_cmp(a.0, b.0));
    }
    write_members(out, entries.into_iter());
}

fn write_members<'a, S: Sink>(out: &mut S, members: impl Iterator<Item = (&'a String, &'a Value)>) {
    out.put_byte(b'{');
    for (i, (k, v)) in members.enumerate() {
        if i > 0 {
            out.put_byte(b',');
        }
        write_string(out, k);
        out.put_byte(b':');
        write_value(out, v);
    }
    out.put_byte(b'}');
}

/// Compares two strings by their UTF-16 code units, as ECMAScript's default sort does.
pub fn utf16_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.as_bytes().cmp(b.as_bytes());
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Whether any of the 8 bytes in `w` must be escaped: below 0x20, `"` or `\\`. Exact as a
/// yes/no answer (the classic "has byte less than n" and "has zero byte" word tricks).
#[inline]
fn word_needs_escape(w: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(LO * 0x20) & !w & HI;
    let q = w ^ (LO * u64::from(b'"'));
    let quote = q.wrapping_sub(LO) & !q & HI;
    let b = w ^ (LO * u64::from(b'\\'));
    let backslash = b.wrapping_sub(LO) & !b & HI;
    (below_space | quote | backslash) != 0
}

/// From `i`, skips 8 bytes at a time while none is below 0x20, `"` or `\\`; returns where the
/// first word that has one begins (or where fewer than 8 bytes remain). JSON strings in both
/// directions (reading and writing) spend most of their time in such runs.
#[inline]
pub(crate) fn skip_plain_words(bytes: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        if word_needs_escape(u64::from_le_bytes(w)) {
            break;
        }
        i += 8;
    }
    i
}

fn write_string<S: Sink>(out: &mut S, s: &str) {
    out.put_byte(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        i = skip_plain_words(bytes, i);
        let Some(&b) = bytes.get(i) else {
            break;
        };
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0a => b"\\n",
            0x0c => b"\\f",
            0x0d => b"\\r",
            0x00..=0x1f => {
                out.put(&bytes[start..i]);
                out.put(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ]);
                i += 1;
                start = i;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.put(&bytes[start..i]);
        out.put(esc);
        i += 1;
        start = i;
    }
    out.put(&bytes[start..]);
    out.put_byte(b'"');
}

fn write_number<S: Sink>(out: &mut S, n: &Number) {
    const EXACT: u64 = 1 << 53;
    if let Some(u) = n.as_u64() {
        if u <= EXACT {
            let mut buf = itoa_buf(u, false);
            out.put(buf.as_bytes_mut());
            return;
        }
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() <= EXACT {
            let mut buf = itoa_buf(i.unsigned_abs(), i < 0);
            out.put(buf.as_bytes_mut());
            return;
        }
    }
    // Everything else goes through the double, as RFC 8785 §3.2.2.3 requires.
    let f = n.as_f64().unwrap_or(0.0);
    if f == 0.0 {
        // ECMAScript prints both zeros as "0" (ryu-js keeps the sign of -0.0).
        out.put(b"0");
        return;
    }
    let mut buf = ryu_js::Buffer::new();
    out.put(buf.format_finite(f).as_bytes());
}

/// A small stack buffer holding a decimal integer.
struct IntBuf {
    buf: [u8; 21],
    start: usize,
}

impl IntBuf {
    fn as_bytes_mut(&mut self) -> &[u8] {
        &self.buf[self.start..]
    }
}

fn itoa_buf(mut u: u64, negative: bool) -> IntBuf {
    let mut buf = [0u8; 21];
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    // `-0` cannot occur for integers; ECMAScript prints the double -0 as "0" anyway.
    if negative {
        pos -= 1;
        buf[pos] = b'-';
    }
    IntBuf { buf, start: pos }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The word-at-a-time string writer escapes exactly like the byte-at-a-time definition.
    #[test]
    fn string_escaping_matches_the_simple_definition() {
        fn simple(s: &str) -> String {
            let mut o = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => o.push_str("\\\""),
                    '\\' => o.push_str("\\\\"),
                    '\u{8}' => o.push_str("\\b"),
                    '\t' => o.push_str("\\t"),
                    '\n' => o.push_str("\\n"),
                    '\u{c}' => o.push_str("\\f"),
                    '\r' => o.push_str("\\r"),
                    c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
                    c => o.push(c),
                }
            }
            o.push('"');
            o
        }
        let alphabet = [
            'a', 'Z', '"', '\\', '\n', '\u{1}', '\u{1f}', ' ', '~', '\u{7f}', 'é', '€', '😀',
            '\u{0}',
        ];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for len in 0..200 {
            for _ in 0..8 {
                let s: String = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        alphabet[(x % alphabet.len() as u64) as usize]
                    })
                    .collect();
                let mut out = Vec::new();
                canonicalize_str_into(&mut out, &s);
                assert_eq!(String::from_utf8(out).unwrap(), simple(&s), "{s:?}");
            }
        }
    }

    #[test]
    #[allow(clippy::excessive_precision)] // the RFC's own sample, digit for digit
    fn rfc8785_sample() {
        let v = json!({"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\u{20ac}$\u{000F}\u{000a}A'\u{0042}\u{0022}\u{005c}\\\"/","literals":[null,true,false]});
        assert_eq!(
            String::from_utf8(canonicalize(&v)).unwrap(),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
        );
    }

    #[test]
    fn utf16_ordering_differs_from_utf8() {
        // U+FB01 sorts after U+1F600 in UTF-8/code points but before it in UTF-16 (0xD83D < 0xFB01).
        let v = json!({"\u{fb01}": 1, "\u{1f600}": 2});
        assert_eq!(
            String::from_utf8(canonicalize(&v)).unwrap(),
            "{\"\u{1f600}\":2,\"\u{fb01}\":1}"
        );
    }

    #[test]
    fn negative_zero_is_zero() {
        assert_eq!(canonicalize(&json!([-0.0, 0.0, -0])), b"[0,0,0]");
        assert_eq!(canonicalize_text(b"[-0.0,-0e5,-0]").unwrap(), b"[0,0,0]");
    }

    #[test]
    fn len_matches_bytes() {
        let v = json!({"a":[1,2.5,"x\u{1}"],"b":null});
        assert_eq!(canonical_len(&v), canonicalize(&v).len());
    }
}
