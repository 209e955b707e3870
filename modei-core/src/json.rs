//! The JSON reader for everything modei verifies.
//!
//! `serde_json` is the right parser for data we produce, but signed material needs rules it does
//! not enforce: duplicate object keys must be refused (two parsers that disagree on which
//! duplicate wins is a signature bypass), nesting and size must be bounded before any work, and a
//! number literal that overflows a double must be seen (RFC 8785 cannot express it) rather than
//! fail deep inside a generic error. This reader is a small recursive-descent parser over the
//! already-UTF-8-validated input that produces an ordinary [`serde_json::Value`].
//!
//! Two modes:
//! - [`parse_strict`]: duplicate keys rejected; the mode for passports, catalogs, attestations.
//! - [`parse_lenient`]: duplicate keys collapse with the last one winning, as RFC 8785's
//!   reference implementations and Modei's SDKs do; used by the general `canonicalize` tool.

use crate::error::{Code, Error, Result};
use serde_json::{Map, Number, Value};

/// Resource bounds for one parse. The defaults suit passports and requests; raise them for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Maximum input size in bytes.
    pub max_bytes: usize,
    /// Maximum nesting of arrays and objects (the root container is depth 1).
    pub max_depth: usize,
}

impl JsonLimits {
    /// 1 MiB, depth 64.
    pub const DEFAULT: JsonLimits = JsonLimits {
        max_bytes: 1 << 20,
        max_depth: 64,
    };
}

impl Default for JsonLimits {
    fn default() -> Self {
        JsonLimits::DEFAULT
    }
}

/// What to do with a number literal that overflows an IEEE-754 double (`1e400`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonFinite {
    /// Fail with `non_finite_number_in_canonical_input`.
    Reject,
    /// Read it as `null` and report it in [`Parsed::saw_non_finite`]. Used by the envelope
    /// verifier, which then refuses the envelope at the signature step (such a number can never
    /// have been signed).
    NullAndFlag,
}

/// Options for [`parse_with`].
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// Size and depth bounds.
    pub limits: JsonLimits,
    /// Refuse duplicate object keys (`true`) or let the last one win (`false`).
    pub reject_duplicates: bool,
    /// Overflowing number literals.
    pub non_finite: NonFinite,
}

impl ParseOptions {
    /// Strict: duplicates and non-finite numbers rejected, default limits.
    pub const STRICT: ParseOptions = ParseOptions {
        limits: JsonLimits::DEFAULT,
        reject_duplicates: true,
        non_finite: NonFinite::Reject,
    };
    /// Lenient (RFC 8785 reference conventions): last duplicate wins.
    pub const LENIENT: ParseOptions = ParseOptions {
        limits: JsonLimits::DEFAULT,
        reject_duplicates: false,
        non_finite: NonFinite::Reject,
    };
}

/// A parsed document plus what the parser noticed.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The value.
    pub value: Value,
    /// Whether an overflowing number literal was read as `null` ([`NonFinite::NullAndFlag`]).
    pub saw_non_finite: bool,
}

/// Parses with duplicate keys rejected and default limits.
pub fn parse_strict(input: &[u8]) -> Result<Value> {
    parse_with(input, &ParseOptions::STRICT).map(|p| p.value)
}

/// Parses with the last duplicate key winning and default limits.
pub fn parse_lenient(input: &[u8]) -> Result<Value> {
    parse_with(input, &ParseOptions::LENIENT).map(|p| p.value)
}

/// Parses `input` as one JSON text under `opts`.
pub fn parse_with(input: &[u8], opts: &ParseOptions) -> Result<Parsed> {
    if input.len() > opts.limits.max_bytes {
        return Err(Error::new(
            Code::JsonTooLarge,
            format!(
                "input is {} bytes; the limit is {}",
                input.len(),
                opts.limits.max_bytes
            ),
        ));
    }
    let text = std::str::from_utf8(input).map_err(|e| {
        Error::new(
            Code::JsonSyntax,
            format!("input is not valid UTF-8 (byte {})", e.valid_up_to()),
        )
    })?;
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        pos: 0,
        depth: 0,
        opts,
        saw_non_finite: false,
    };
    p.skip_ws();
    let value = p.value()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.syntax("trailing characters after the JSON value"));
    }
    Ok(Parsed {
        value,
        saw_non_finite: p.saw_non_finite,
    })
}

/// Reads one strict JSON value that starts at byte `start` of `text` (no leading whitespace),
/// nested at most `max_depth` deep, and returns it with the position just after it: for readers
/// that walk a larger document themselves (the JWT claims reader) and hand nested values to
/// the strict reader without scanning them twice. `None` wherever [`parse_strict`] of that
/// value alone would fail.
pub(crate) fn strict_value_at(
    text: &str,
    start: usize,
    max_depth: usize,
) -> Option<(Value, usize)> {
    if text.len() > JsonLimits::DEFAULT.max_bytes || !text.is_char_boundary(start) {
        return None;
    }
    let opts = ParseOptions {
        limits: JsonLimits {
            max_depth,
            ..JsonLimits::DEFAULT
        },
        ..ParseOptions::STRICT
    };
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        pos: start,
        depth: 0,
        opts: &opts,
        saw_non_finite: false,
    };
    let v = p.value().ok()?;
    Some((v, p.pos))
}

/// Where the object or array opening at byte `start` of `s` closes (the position just after
/// its bracket), by counting brackets outside strings (escapes honoured); `None` if the text
/// ends first. Not a validator: it finds the candidate text of a value so that a reader can
/// look the exact bytes up among values the strict reader already accepted.
#[cfg_attr(not(feature = "shared-sets"), allow(dead_code))]
pub(crate) fn container_end(s: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut i = start;
    while let Some(&c) = s.get(i) {
        if in_string {
            match c {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match c {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    None
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
    depth: usize,
    opts: &'a ParseOptions,
    saw_non_finite: bool,
}

impl<'a> Parser<'a> {
    fn syntax(&self, what: &str) -> Error {
        Error::new(Code::JsonSyntax, format!("{what} at byte {}", self.pos))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect_lit(&mut self, lit: &[u8], v: Value) -> Result<Value> {
        if self.s.get(self.pos..self.pos + lit.len()) == Some(lit) {
            self.pos += lit.len();
            Ok(v)
        } else {
            Err(self.syntax("invalid literal"))
        }
    }

    fn value(&mut self) -> Result<Value> {
        match self.peek() {
            None => Err(self.syntax("unexpected end of input")),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.expect_lit(b"true", Value::Bool(true)),
            Some(b'f') => self.expect_lit(b"false", Value::Bool(false)),
            Some(b'n') => self.expect_lit(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.syntax("unexpected character")),
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > self.opts.limits.max_depth {
            return Err(Error::new(
                Code::JsonTooDeep,
                format!(
                    "nesting exceeds {} levels at byte {}",
                    self.opts.limits.max_depth, self.pos
                ),
            ));
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Value> {
        self.enter()?;
        self.pos += 1; // '{'
        let mut map = Map::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.syntax("expected a string key"));
            }
            let key_pos = self.pos;
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.syntax("expected ':'"));
            }
            self.pos += 1;
            self.skip_ws();
            let v = self.value()?;
            if self.opts.reject_duplicates && map.contains_key(&key) {
                let shown: String = key.chars().take(64).collect();
                return Err(Error::new(
                    Code::JsonDuplicateKey,
                    format!("duplicate object key {shown:?} at byte {key_pos}"),
                ));
            }
            map.insert(key, v);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::Object(map));
                }
                _ => return Err(self.syntax("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self) -> Result<Value> {
        self.enter()?;
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.syntax("expected ',' or ']'")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u16> {
        let digits = self
            .s
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.syntax("truncated \\u escape"))?;
        let mut v: u16 = 0;
        for &d in digits {
            let n = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return Err(self.syntax("invalid hex digit in \\u escape")),
            };
            v = (v << 4) | u16::from(n);
        }
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            // Copy the run of plain characters in one go.
            let start = self.pos;
            self.pos = crate::canonical::skip_plain_words(self.s, self.pos);
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // `start..pos` lies on char boundaries: both ends sit at ASCII bytes or the input end.
            out.push_str(
                self.text
                    .get(start..self.pos)
                    .ok_or_else(|| self.syntax("invalid string"))?,
            );
            match self.peek() {
                None => return Err(self.syntax("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let esc = self
                        .peek()
                        .ok_or_else(|| self.syntax("unterminated escape"))?;
                    self.pos += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                if self.s.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return Err(self.syntax("lone high surrogate in \\u escape"));
                                }
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self
                                        .syntax("high surrogate not followed by a low surrogate"));
                                }
                                let cp = 0x10000
                                    + ((u32::from(hi) - 0xD800) << 10)
                                    + (u32::from(lo) - 0xDC00);
                                char::from_u32(cp)
                                    .ok_or_else(|| self.syntax("invalid surrogate pair"))?
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(self.syntax("lone low surrogate in \\u escape"));
                            } else {
                                char::from_u32(u32::from(hi))
                                    .ok_or_else(|| self.syntax("invalid \\u escape"))?
                            };
                            out.push(c);
                        }
                        _ => return Err(self.syntax("invalid escape")),
                    }
                }
                Some(_) => return Err(self.syntax("unescaped control character in string")),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.syntax("invalid number")),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            integer = false;
            if self.digits() == 0 {
                return Err(self.syntax("digit expected after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            integer = false;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.syntax("digit expected in exponent"));
            }
        }
        let lit = self
            .text
            .get(start..self.pos)
            .ok_or_else(|| self.syntax("invalid number"))?;
        if integer {
            if let Ok(u) = lit.parse::<u64>() {
                return Ok(Value::Number(Number::from(u)));
            }
            if let Ok(i) = lit.parse::<i64>() {
                return Ok(Value::Number(Number::from(i)));
            }
        }
        // Rust's float parsing is correctly rounded, as ECMAScript's is.
        let f: f64 = lit.parse().map_err(|_| self.syntax("invalid number"))?;
        match Number::from_f64(f) {
            Some(n) => Ok(Value::Number(n)),
            None => match self.opts.non_finite {
                NonFinite::NullAndFlag => {
                    self.saw_non_finite = true;
                    Ok(Value::Null)
                }
                NonFinite::Reject => Err(Error::new(
                    Code::NonFiniteNumber,
                    format!("number literal at byte {start} overflows a double; RFC 8785 cannot represent it"),
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_end_counts_brackets_outside_strings() {
        let s = br#"x:{"a":"}]\"{","b":[1,{"c":[]}]},"rest":1"#;
        assert_eq!(container_end(s, 2), Some(32));
        assert_eq!(&s[2..32], br#"{"a":"}]\"{","b":[1,{"c":[]}]}"#);
        assert_eq!(container_end(br#"[1,[2]]"#, 0), Some(7));
        // Unclosed, a closing bracket first, or an escape at the very end: no end.
        for bad in [&br#"{"a":[1"#[..], b"}{}", br#"{"a":""#] {
            assert_eq!(
                container_end(bad, 0),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn strict_rejects_duplicates_lenient_takes_the_last() {
        let text = br#"{"a":1,"a":2}"#;
        assert_eq!(
            parse_strict(text).unwrap_err().code(),
            Code::JsonDuplicateKey
        );
        assert_eq!(parse_lenient(text).unwrap(), serde_json::json!({"a":2}));
    }

    #[test]
    fn depth_and_size_are_bounded() {
        let deep = "[".repeat(65) + &"]".repeat(65);
        assert_eq!(
            parse_strict(deep.as_bytes()).unwrap_err().code(),
            Code::JsonTooDeep
        );
        let ok = "[".repeat(64) + &"]".repeat(64);
        assert!(parse_strict(ok.as_bytes()).is_ok());
        // A million levels must fail fast on the bound, not overflow the stack.
        let huge = "[".repeat(1_000_000);
        assert_eq!(
            parse_strict(huge.as_bytes()).unwrap_err().code(),
            Code::JsonTooDeep
        );
        let big = vec![b' '; (1 << 20) + 1];
        assert_eq!(parse_strict(&big).unwrap_err().code(), Code::JsonTooLarge);
    }

    #[test]
    fn surrogates_and_utf8() {
        assert_eq!(
            parse_strict(br#""\ud83d\ude00""#).unwrap(),
            Value::String("😀".into())
        );
        for bad in [
            &br#""\ud800""#[..],
            br#""\udc00""#,
            br#""\ud800\u0041""#,
            b"\"\xc0\xaf\"",
            b"\"\xed\xa0\x80\"",
        ] {
            assert_eq!(
                parse_strict(bad).unwrap_err().code(),
                Code::JsonSyntax,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_strict(b"-0").unwrap(), serde_json::json!(0));
        assert_eq!(
            parse_strict(b"18446744073709551615").unwrap(),
            serde_json::json!(u64::MAX)
        );
        assert_eq!(
            parse_strict(b"1e400").unwrap_err().code(),
            Code::NonFiniteNumber
        );
        let p = parse_with(
            b"[-1e400]",
            &ParseOptions {
                non_finite: NonFinite::NullAndFlag,
                ..ParseOptions::STRICT
            },
        )
        .unwrap();
        assert_eq!(p.value, serde_json::json!([null]));
        assert!(p.saw_non_finite);
        for bad in ["01", "1.", ".5", "+1", "1e", "-", "NaN", "Infinity", "0x10"] {
            assert!(parse_strict(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn syntax_errors_never_panic() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\"}",
            "{\"a\":}",
            "\"abc",
            "[1 2]",
            "{} {}",
            "tru",
            "\"\\x\"",
            "\"\\u12\"",
            "\"a\nb\"",
        ] {
            assert!(parse_strict(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
