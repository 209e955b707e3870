//! Request targets: canonical form and domain patterns.
//!
//! A gate sees a target as text written by an agent: a URL (`https://API.Example.com:443/a/./b`),
//! a bare domain (`api.example.com`, `GOOD.com.`) or an opaque resource (`db:customers`).
//! Scope constraints compare it against allow and block lists, so two spellings of the same
//! host must compare equal and no spelling may smuggle a different host past a list. This
//! module turns the text into one canonical [`Target`] first, and matches hosts against
//! [`DomainPattern`]s second.
//!
//! Rules (see `docs/constraints.md` for the reasons):
//! - scheme and host are lowercased; the host goes through UTS 46 (IDNA) to ASCII, so
//!   `bücher.example` and `xn--bcher-kva.example` are the same host; invalid punycode is refused;
//! - one trailing dot on the host is dropped (`good.com.` is `good.com`); empty labels are refused;
//! - the default port is dropped (80 for `http`/`ws`, 443 for `https`/`wss`; for a bare domain
//!   both 80 and 443), other ports are kept; a port of 0 or above 65535 is refused;
//! - **userinfo is refused** (`https://evil.com@good.com`): credentials have no place in a gate
//!   target, and `@` in an authority is the classic parser-differential bypass. A backslash
//!   in the authority is refused for the same reason (browsers read it as `/`);
//! - IPv4 hosts in the WHATWG numeric forms (`2130706433`, `0x7f.1`, `0177.0.0.1`) are
//!   normalised to dotted decimal; IPv6 literals are lowercased and kept in brackets;
//! - the path has `.` and `..` segments resolved (also when percent-encoded), percent escapes of
//!   unreserved characters decoded, other escapes upper-cased, and characters outside the
//!   RFC 3986 path set percent-encoded; `%2F` stays encoded (it is not a separator); an empty
//!   path becomes `/`, and a trailing `/` is dropped except for the root (Uniplex rule);
//! - query parameters are sorted by byte order of (name, value), stable; the fragment is dropped;
//! - anything that is neither a URL nor a host is a resource: lowercased, trimmed, runs of `:`
//!   collapsed and a trailing `:` dropped (Uniplex rule). A resource has no host.

use crate::error::{Code, Error, Result};
use std::borrow::Cow;
use std::fmt;
use std::net::Ipv6Addr;

/// Longest target accepted, in bytes.
pub const MAX_TARGET_LEN: usize = 4096;

/// What kind of text a target was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// `scheme://authority/path?query`.
    Url,
    /// A host with an optional port and path, no scheme (`api.example.com/v1`).
    Domain,
    /// Anything else (`db:customers`, `tool:search`); has no host.
    Resource,
}

/// A canonical request target: the canonical text and where its parts are in it (one
/// allocation per target).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    kind: TargetKind,
    canonical: String,
    scheme: Option<Span>,
    host: Option<Span>,
    port: Option<u16>,
    path: Span,
    query: Option<Span>,
}

/// A byte range of the canonical text.
type Span = (usize, usize);

impl Target {
    /// Parses and canonicalises a target. Errors are `request_invalid`, naming what is wrong.
    pub fn parse(input: &str) -> Result<Target> {
        Self::parse_at(input, 0)
    }

    fn parse_at(input: &str, depth: u8) -> Result<Target> {
        if input.len() > MAX_TARGET_LEN {
            return Err(bad(format!(
                "target is {} bytes, more than {MAX_TARGET_LEN}",
                input.len()
            )));
        }
        let s = input.trim_matches(|c: char| c.is_ascii_whitespace());
        if s.is_empty() {
            return Err(bad("target is empty".into()));
        }
        if s.chars().any(|c| c.is_control()) {
            return Err(bad("target contains a control character".into()));
        }
        if let Some(idx) = s.find("://") {
            let scheme = &s[..idx];
            if is_scheme(scheme) {
                return parse_url(Some(scheme), &s[idx + 3..]);
            }
        }
        // A special scheme without "//" (`https:evil.com`, `https:\\evil.com`): WHATWG URL
        // parsers read the host from it, so we do too.
        if let Some(idx) = s.find(':') {
            let scheme = &s[..idx];
            if SPECIAL_SCHEMES
                .iter()
                .any(|x| x.eq_ignore_ascii_case(scheme))
            {
                let rest = s[idx + 1..].trim_start_matches(['/', '\\']);
                return parse_url(Some(scheme), rest);
            }
        }
        // Scheme-relative (`//evil.com/x`). The authority must look like a host, so that the
        // canonical form (written without `//`) reads back as the same host.
        if let Some(rest) = s.strip_prefix("//") {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            if !looks_like_host(&rest[..end]) && !rest[..end].contains(['@', '\\']) {
                return Err(bad(format!(
                    "scheme-relative target {:?} does not name a host",
                    clip(s)
                )));
            }
            return parse_url(None, rest);
        }
        // No scheme: a host (with optional port and path) or a resource. An '@' before the
        // first '/' is refused: `user:pw@evil.com` is a URL with userinfo to curl.
        let auth_end = s.find(['/', '?', '#']).unwrap_or(s.len());
        if s[..auth_end].contains(['@', '\\']) {
            return Err(bad(
                "target has '@' or '\\' before its first '/' (userinfo is refused: it is a host-confusion bypass)".into(),
            ));
        }
        if looks_like_host(&s[..auth_end]) {
            return parse_url(None, s);
        }
        let r = resource(s)?;
        // Canonicalising a resource can make it read as a URL or host (`a.com :` becomes
        // `a.com`): read the canonical text once more, so the canonical form is a fixed point.
        if r.as_str() != s && depth == 0 {
            return Self::parse_at(r.as_str(), 1);
        }
        if r.as_str() != s {
            return Err(bad(format!(
                "target {:?} has no stable canonical form",
                clip(s)
            )));
        }
        Ok(r)
    }

    /// The kind of text this target was.
    pub fn kind(&self) -> TargetKind {
        self.kind
    }
    /// Lowercased scheme of a URL target.
    pub fn scheme(&self) -> Option<&str> {
        self.scheme.map(|s| self.part(s))
    }
    /// Canonical ASCII host (no trailing dot, IPv6 in brackets), if the target has one.
    pub fn host(&self) -> Option<&str> {
        self.host.map(|s| self.part(s))
    }
    /// Non-default port, if any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
    /// Canonical path (`/` at least) for URL and domain targets; the whole resource otherwise.
    pub fn path(&self) -> &str {
        self.part(self.path)
    }
    /// Canonical query (sorted), without the `?`.
    pub fn query(&self) -> Option<&str> {
        self.query.map(|s| self.part(s))
    }
    fn part(&self, (from, to): Span) -> &str {
        self.canonical.get(from..to).unwrap_or("")
    }
    /// The whole canonical form.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

fn bad(detail: String) -> Error {
    Error::new(Code::RequestInvalid, detail)
}

/// Schemes whose URLs WHATWG parsers accept without `//`.
const SPECIAL_SCHEMES: [&str; 5] = ["http", "https", "ws", "wss", "ftp"];

fn is_scheme(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

/// A bare authority: host characters (any non-ASCII allowed for IDNA), at least one dot or
/// `localhost` or a bracketed IPv6, and an optional all-digit port.
fn looks_like_host(a: &str) -> bool {
    if a.is_empty() {
        return false;
    }
    if a.starts_with('[') {
        return true;
    }
    let (h, port) = match a.rfind(':') {
        Some(i) => (&a[..i], Some(&a[i + 1..])),
        None => (a, None),
    };
    if let Some(p) = port {
        if !p.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    let host_chars = h
        .chars()
        .all(|c| !c.is_ascii() || c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    // A bare number (`2130706433`, `0x7f000001`) is an IPv4 host to URL parsers and curl.
    let last = h.rsplit('.').next().unwrap_or("");
    let numeric = !last.is_empty()
        && (last.bytes().all(|c| c.is_ascii_digit())
            || ((last.starts_with("0x") || last.starts_with("0X"))
                && last[2..].bytes().all(|c| c.is_ascii_hexdigit())));
    host_chars && (h.contains('.') || numeric || h.eq_ignore_ascii_case("localhost"))
}

fn default_port(scheme: Option<&str>, port: u16) -> bool {
    match scheme {
        Some("http") | Some("ws") => port == 80,
        Some("https") | Some("wss") => port == 443,
        None => port == 80 || port == 443,
        Some(_) => false,
    }
}

fn parse_url(scheme: Option<&str>, rest: &str) -> Result<Target> {
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let after = &rest[auth_end..];
    if authority.contains('@') {
        return Err(bad(
            "target authority contains '@' (userinfo is refused: credentials do not belong in a target, and '@' is a host-confusion bypass)".into(),
        ));
    }
    if authority.contains('\\') {
        return Err(bad("target authority contains a backslash".into()));
    }
    let mut out = String::with_capacity(rest.len() + 16);
    let scheme = scheme.map(|sc| {
        out.extend(sc.chars().map(|c| c.to_ascii_lowercase()));
        out.push_str("://");
        (0, sc.len())
    });
    // For the default port: the special scheme this is, if any ("" for another scheme).
    let special = scheme.map(|(a, b)| {
        let sc = &out[a..b];
        SPECIAL_SCHEMES.into_iter().find(|x| *x == sc).unwrap_or("")
    });
    let (host_part, port_part) = split_port(authority)?;
    let h0 = out.len();
    push_host(&mut out, host_part)?;
    let host = (h0, out.len());
    let host_str = &out[h0..];
    if scheme.is_none()
        && !host_str.contains('.')
        && !host_str.starts_with('[')
        && host_str != "localhost"
    {
        // A scheme-less single-label host (`good.`) would read back as a resource.
        return Err(bad(format!(
            "scheme-less target host {host_str:?} has a single label; write a URL"
        )));
    }
    let port = match port_part {
        None | Some("") => None,
        Some(p) => {
            if p.len() > 5 || !p.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad(format!("port {p:?} is not a number 1-65535")));
            }
            let n: u32 = p
                .parse()
                .map_err(|_| bad(format!("port {p:?} is invalid")))?;
            if n == 0 || n > 65535 {
                return Err(bad(format!("port {n} is out of range 1-65535")));
            }
            let n = n as u16;
            if default_port(special, n) {
                None
            } else {
                Some(n)
            }
        }
    };
    if let Some(p) = port {
        out.push(':');
        out.push_str(&p.to_string());
    }
    // Drop the fragment; split path and query.
    let after = match after.find('#') {
        Some(i) => &after[..i],
        None => after,
    };
    let (raw_path, raw_query) = match after.find('?') {
        Some(i) => (&after[..i], Some(&after[i + 1..])),
        None => (after, None),
    };
    let p0 = out.len();
    push_path(&mut out, raw_path)?;
    let path = (p0, out.len());
    let query = match raw_query {
        Some(q) => {
            out.push('?');
            let q0 = out.len();
            push_query(&mut out, q)?;
            if out.len() == q0 {
                out.pop();
                None
            } else {
                Some((q0, out.len()))
            }
        }
        None => None,
    };
    Ok(Target {
        kind: if scheme.is_some() {
            TargetKind::Url
        } else {
            TargetKind::Domain
        },
        canonical: out,
        scheme,
        host: Some(host),
        port,
        path,
        query,
    })
}

fn split_port(authority: &str) -> Result<(&str, Option<&str>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let close = rest
            .find(']')
            .ok_or_else(|| bad("IPv6 literal is missing ']'".into()))?;
        let after = &rest[close + 1..];
        let host = &authority[..close + 2];
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(p) => Ok((host, Some(p))),
                None => Err(bad("unexpected text after an IPv6 literal".into())),
            },
        };
    }
    match authority.rfind(':') {
        Some(i) => Ok((&authority[..i], Some(&authority[i + 1..]))),
        None => Ok((authority, None)),
    }
}

/// Canonicalises a host name: IPv6 literal, WHATWG IPv4 forms, or a DNS name through UTS 46
/// to lowercase ASCII with the trailing dot dropped. Errors are `request_invalid`.
pub fn canonical_host(host: &str) -> Result<String> {
    let mut out = String::with_capacity(host.len());
    push_host(&mut out, host)?;
    Ok(out)
}

/// [`canonical_host`], appended to `out`.
fn push_host(out: &mut String, host: &str) -> Result<()> {
    if host.is_empty() {
        return Err(bad("target has an empty host".into()));
    }
    if host.len() > 1024 {
        return Err(bad("host is too long".into()));
    }
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| bad("IPv6 literal is missing ']'".into()))?;
        let ip: Ipv6Addr = inner
            .parse()
            .map_err(|_| bad(format!("{inner:?} is not an IPv6 address")))?;
        out.push_str(&format!("[{ip}]"));
        return Ok(());
    }
    if host.contains('%') {
        return Err(bad("percent-encoded host names are refused".into()));
    }
    let ascii = to_ascii(host)?;
    let mut name: &str = &ascii;
    if let Some(stripped) = name.strip_suffix('.') {
        name = stripped;
    }
    if name.is_empty() {
        return Err(bad("target has an empty host".into()));
    }
    if let Some(v4) = whatwg_ipv4(name)? {
        out.push_str(&v4);
        return Ok(());
    }
    if name.len() > 253 {
        return Err(bad("host name is longer than 253 bytes".into()));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad(format!(
                "host {:?} has an empty or over-long label",
                clip(host)
            )));
        }
        if !label
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
        {
            return Err(bad(format!(
                "host {:?} has characters outside letters, digits, '-' and '_'",
                clip(host)
            )));
        }
    }
    out.push_str(name);
    Ok(())
}

#[cfg(feature = "idna")]
fn to_ascii(host: &str) -> Result<Cow<'_, str>> {
    // Fast path for the common case: UTS #46 maps lowercase ASCII letters, digits, '-' and '.'
    // to themselves and, without an `xn--` label to decode, validates nothing else for them.
    let plain = host
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.');
    if plain && !host.split('.').any(|l| l.starts_with("xn--")) {
        return Ok(Cow::Borrowed(host));
    }
    idna::domain_to_ascii_cow(host.as_bytes(), idna::AsciiDenyList::URL)
        .map(|c| Cow::Owned(c.into_owned()))
        .map_err(|_| {
            bad(format!(
                "host {:?} is not a valid (IDNA) domain name",
                clip(host)
            ))
        })
}

/// Without the `idna` feature: ASCII hosts only, lowercased; `xn--` labels are taken as
/// written (not decoded or validated), non-ASCII hosts are refused.
#[cfg(not(feature = "idna"))]
fn to_ascii(host: &str) -> Result<Cow<'_, str>> {
    if !host.is_ascii() {
        return Err(bad(format!(
            "host {:?} is not ASCII, and this build has no IDNA support (crate feature `idna` is off); write it in punycode",
            clip(host)
        )));
    }
    if !host.bytes().any(|c| c.is_ascii_uppercase()) {
        return Ok(Cow::Borrowed(host));
    }
    Ok(Cow::Owned(host.to_ascii_lowercase()))
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

/// WHATWG "ends in a number" IPv4 parsing: returns dotted decimal, `None` for a DNS name, or an
/// error for a host that ends in a number but is not a valid address.
fn whatwg_ipv4(name: &str) -> Result<Option<String>> {
    let numeric = |p: &str| {
        !p.is_empty()
            && (p.bytes().all(|c| c.is_ascii_digit())
                || ((p.starts_with("0x") || p.starts_with("0X"))
                    && p[2..].bytes().all(|c| c.is_ascii_hexdigit())))
    };
    if !numeric(name.rsplit('.').next().unwrap_or("")) {
        return Ok(None);
    }
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() > 4 || !parts.iter().all(|p| numeric(p)) {
        return Err(bad(format!("host {name:?} is not a valid IPv4 address")));
    }
    let mut nums = Vec::with_capacity(parts.len());
    for p in &parts {
        let v = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            if h.is_empty() {
                0
            } else if h.len() > 8 {
                u64::MAX
            } else {
                u64::from_str_radix(h, 16).unwrap_or(u64::MAX)
            }
        } else if p.len() > 1 && p.starts_with('0') {
            if p.len() > 12 {
                u64::MAX
            } else {
                u64::from_str_radix(&p[1..], 8).unwrap_or(u64::MAX)
            }
        } else if p.len() > 10 {
            u64::MAX
        } else {
            p.parse::<u64>().unwrap_or(u64::MAX)
        };
        nums.push(v);
    }
    let n = nums.len();
    let (head, tail) = nums.split_at(n - 1);
    if head.iter().any(|&v| v > 255) {
        return Err(bad(format!("host {name:?} is not a valid IPv4 address")));
    }
    let max_tail = 256u64.pow((5 - n) as u32);
    if tail[0] >= max_tail {
        return Err(bad(format!("host {name:?} is not a valid IPv4 address")));
    }
    let mut v: u64 = tail[0];
    for (i, h) in head.iter().enumerate() {
        v += h << (8 * (3 - i));
    }
    let b = (v as u32).to_be_bytes();
    Ok(Some(format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])))
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

/// Normalises percent-encoding in one component. `keep` lists ASCII characters that stay
/// literal besides the unreserved set; everything else is encoded. Escapes of unreserved
/// characters are decoded; other escapes are upper-cased. A bad escape is an error.
fn normalise_pct(s: &str, keep: &[u8]) -> Result<String> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            let (h, l) = match (
                b.get(i + 1).and_then(|x| hex_val(*x)),
                b.get(i + 2).and_then(|x| hex_val(*x)),
            ) {
                (Some(h), Some(l)) => (h, l),
                _ => return Err(bad("target has a malformed percent escape".into())),
            };
            let v = h * 16 + l;
            if is_unreserved(v) {
                out.push(v as char);
            } else {
                out.push_str(&format!("%{v:02X}"));
            }
            i += 3;
        } else if is_unreserved(c) || keep.contains(&c) {
            out.push(c as char);
            i += 1;
        } else {
            out.push_str(&format!("%{c:02X}"));
            i += 1;
        }
    }
    Ok(out)
}

const PATH_KEEP: &[u8] = b"!$&'()*+,;=:@";
const QUERY_KEEP: &[u8] = b"!$'()*+,;:@/?";

pub(crate) fn canonical_path(raw: &str) -> Result<String> {
    let mut out = String::with_capacity(raw.len().max(1));
    push_path(&mut out, raw)?;
    Ok(out)
}

/// Whether `raw` is already a canonical path: `/`, or `/`-separated segments that are
/// non-empty, not `.` or `..`, and need no percent-encoding change.
fn is_canonical_path(raw: &str) -> bool {
    if raw == "/" {
        return true;
    }
    raw.starts_with('/')
        && raw[1..].split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|c| is_unreserved(c) || PATH_KEEP.contains(&c))
        })
}

/// [`canonical_path`], appended to `out`.
fn push_path(out: &mut String, raw: &str) -> Result<()> {
    if is_canonical_path(raw) {
        out.push_str(raw);
        return Ok(());
    }
    push_path_slow(out, raw)
}

/// The definition: split, normalise each segment, resolve dot segments, join.
fn push_path_slow(out: &mut String, raw: &str) -> Result<()> {
    let mut segs: Vec<String> = Vec::new();
    let trailing = raw.ends_with('/');
    for seg in raw.split('/').skip(1) {
        let norm = normalise_pct(seg, PATH_KEEP)?;
        match norm.as_str() {
            "." => {}
            ".." => {
                segs.pop();
            }
            "" => {}
            _ => segs.push(norm),
        }
    }
    // Empty segments (`a//b`) are collapsed: servers commonly treat them as one separator.
    let _ = trailing;
    if segs.is_empty() {
        out.push('/');
        return Ok(());
    }
    for s in segs {
        out.push('/');
        out.push_str(&s);
    }
    Ok(())
}

/// One `name[=value]` of a query as `(name, "=value" or "")`, the order queries sort by.
fn query_pair(p: &str) -> (&str, &str) {
    match p.find('=') {
        Some(i) => (&p[..i], &p[i..]),
        None => (p, ""),
    }
}

/// Whether `raw` is already a canonical query: non-empty pairs in sorted order, with nothing
/// to percent-encode or decode (at most one `=` per pair).
fn is_canonical_query(raw: &str) -> bool {
    let mut prev: Option<(&str, &str)> = None;
    for p in raw.split('&') {
        let pair = query_pair(p);
        let plain = |s: &str| {
            s.bytes()
                .all(|c| is_unreserved(c) || QUERY_KEEP.contains(&c))
        };
        if p.is_empty() || !plain(pair.0) || !plain(pair.1.get(1..).unwrap_or("")) {
            return false;
        }
        if prev.is_some_and(|q| q > pair) {
            return false;
        }
        prev = Some(pair);
    }
    true
}

/// The canonical query (sorted pairs, normalised escapes), appended to `out`.
fn push_query(out: &mut String, raw: &str) -> Result<()> {
    if is_canonical_query(raw) {
        out.push_str(raw);
        return Ok(());
    }
    push_query_slow(out, raw)
}

/// The definition: split, normalise each name and value, sort, join.
fn push_query_slow(out: &mut String, raw: &str) -> Result<()> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for p in raw.split('&') {
        if p.is_empty() {
            continue;
        }
        let (k, v) = match p.find('=') {
            Some(i) => (&p[..i], Some(&p[i + 1..])),
            None => (p, None),
        };
        let k = normalise_pct(k, QUERY_KEEP)?;
        let v = match v {
            Some(v) => format!("={}", normalise_pct(v, QUERY_KEEP)?),
            None => String::new(),
        };
        pairs.push((k, v));
    }
    pairs.sort();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push_str(v);
    }
    Ok(())
}

fn resource(s: &str) -> Result<Target> {
    let lower = s.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    let mut prev_colon = false;
    for c in lower.chars() {
        if c == ':' {
            if !prev_colon {
                out.push(c);
            }
            prev_colon = true;
        } else {
            out.push(c);
            prev_colon = false;
        }
    }
    // Dropping a trailing ':' can expose whitespace and the other way round: repeat.
    loop {
        let trimmed = out
            .trim_end_matches(|c: char| c == ':' || c.is_ascii_whitespace())
            .trim_start_matches(|c: char| c.is_ascii_whitespace());
        if trimmed.len() == out.len() {
            break;
        }
        out = trimmed.to_string();
    }
    if out.is_empty() {
        return Err(bad("target is empty once canonicalised".into()));
    }
    Ok(Target {
        kind: TargetKind::Resource,
        path: (0, out.len()),
        canonical: out,
        scheme: None,
        host: None,
        port: None,
        query: None,
    })
}

/// A host pattern in a domain allow or block list.
///
/// - `example.com`: exactly that host;
/// - `*.example.com`: any subdomain, **not** the apex `example.com` itself (list both if both
///   are meant);
/// - `.example.com`: the apex and any subdomain;
/// - `*`: any host.
///
/// Patterns are canonicalised like hosts (IDNA, lowercase, trailing dot), so `*.BÜCHER.de`
/// works. Ports and paths are not part of a pattern; matching ignores the target's port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DomainPattern {
    /// `*`.
    Any,
    /// `example.com`.
    Exact(String),
    /// `*.example.com`.
    Subdomains(String),
    /// `.example.com`.
    ApexAndSubdomains(String),
}

impl DomainPattern {
    /// Parses a pattern. Errors are `constraint_invalid`.
    pub fn parse(p: &str) -> Result<DomainPattern> {
        let inv = |d: String| Error::new(Code::ConstraintInvalid, d);
        let t = p.trim();
        if t == "*" {
            return Ok(DomainPattern::Any);
        }
        let (ctor, rest): (fn(String) -> DomainPattern, &str) =
            if let Some(r) = t.strip_prefix("*.") {
                (DomainPattern::Subdomains, r)
            } else if let Some(r) = t.strip_prefix('.') {
                (DomainPattern::ApexAndSubdomains, r)
            } else {
                (DomainPattern::Exact, t)
            };
        if rest.contains(['*', '/', '@', ':', '?', '#']) && !rest.starts_with('[') {
            return Err(inv(format!(
                "domain pattern {:?} must be a host, '*.host', '.host' or '*'",
                clip(p)
            )));
        }
        let host = canonical_host(rest)
            .map_err(|e| inv(format!("domain pattern {:?}: {}", clip(p), e.detail())))?;
        Ok(ctor(host))
    }

    /// Whether a canonical host (from [`Target::host`]) matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            DomainPattern::Any => true,
            DomainPattern::Exact(h) => host == h,
            DomainPattern::Subdomains(base) => is_strict_subdomain(host, base),
            DomainPattern::ApexAndSubdomains(base) => {
                host == base || is_strict_subdomain(host, base)
            }
        }
    }

    /// Whether every host this pattern matches is also matched by `other` (used by merge).
    pub fn covered_by(&self, other: &DomainPattern) -> bool {
        use DomainPattern::*;
        match (self, other) {
            (_, Any) => true,
            (Any, _) => false,
            (Exact(h), o) => o.matches(h),
            (Subdomains(b), Subdomains(o)) | (Subdomains(b), ApexAndSubdomains(o)) => {
                b == o || is_strict_subdomain(b, o)
            }
            (ApexAndSubdomains(b), Subdomains(o)) => is_strict_subdomain(b, o),
            (ApexAndSubdomains(b), ApexAndSubdomains(o)) => b == o || is_strict_subdomain(b, o),
            (_, Exact(_)) => false,
        }
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainPattern::Any => f.write_str("*"),
            DomainPattern::Exact(h) => f.write_str(h),
            DomainPattern::Subdomains(h) => write!(f, "*.{h}"),
            DomainPattern::ApexAndSubdomains(h) => write!(f, ".{h}"),
        }
    }
}

fn is_strict_subdomain(host: &str, base: &str) -> bool {
    host.len() > base.len() + 1
        && host.ends_with(base)
        && host.as_bytes()[host.len() - base.len() - 1] == b'.'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Target::parse(s).unwrap().as_str().to_string()
    }

    #[test]
    fn hosts_are_canonical() {
        assert_eq!(canon("HTTPS://GOOD.com.:443/"), "https://good.com/");
        assert_eq!(canon("http://good.com:80"), "http://good.com/");
        assert_eq!(canon("https://good.com:8443/x"), "https://good.com:8443/x");
        assert_eq!(canon("GOOD.com."), "good.com/");
        assert_eq!(canon("good.com:443"), "good.com/");
        assert_eq!(canon("good.com:8080/a"), "good.com:8080/a");
        assert_eq!(
            canon("https://XN--BCHER-KVA.example/"),
            "https://xn--bcher-kva.example/"
        );
        assert_eq!(
            Target::parse("good.com.evil.com").unwrap().host(),
            Some("good.com.evil.com")
        );
    }

    #[test]
    fn userinfo_and_backslash_are_refused() {
        for t in [
            "https://evil.com@good.com",
            "https://good.com@evil.com/",
            "https://user:pw@good.com/",
            "good.com@evil.com",
            "https://good.com\\@evil.com/",
            "user:pw@evil.com",
            "mailbox:bob@example.com",
            "good.com\\evil.com",
        ] {
            let e = Target::parse(t).unwrap_err();
            assert_eq!(e.code(), Code::RequestInvalid, "{t}");
        }
    }

    #[test]
    fn bad_hosts_and_ports_are_refused() {
        for t in [
            "https://a..com/",
            "https://good.com:0/",
            "https://good.com:65536/",
            "https://good.com:http/",
            "https:///path",
            "https://go%6fd.com/",
            "https://256.1.1.1/",
            "https://[::1/",
        ] {
            assert!(Target::parse(t).is_err(), "{t} should be refused");
        }
    }

    #[cfg(feature = "idna")]
    #[test]
    fn unicode_hosts_go_through_uts46() {
        assert_eq!(
            canon("https://bücher.example/"),
            "https://xn--bcher-kva.example/"
        );
        assert_eq!(
            canon("https://BÜCHER.example/"),
            "https://xn--bcher-kva.example/"
        );
        assert!(Target::parse("https://xn--a.com/").is_err());
        assert!(DomainPattern::parse("*.bücher.de")
            .unwrap()
            .matches("shop.xn--bcher-kva.de"));
    }

    #[cfg(not(feature = "idna"))]
    #[test]
    fn without_idna_hosts_must_be_ascii() {
        assert!(Target::parse("https://bücher.example/").is_err());
        assert_eq!(
            canon("https://XN--BCHER-KVA.example/"),
            "https://xn--bcher-kva.example/"
        );
    }

    #[test]
    fn fast_paths_take_only_what_the_definition_leaves_unchanged() {
        // Random paths and queries over an alphabet full of the cases that matter.
        let alphabet = b"ab/./..%2e%41=&?~-_:@!$'()*+,;Z \x7f\xc3\xa9";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let (mut fast_paths, mut fast_queries) = (0, 0);
        for _ in 0..200_000 {
            let mut bytes = Vec::new();
            let len = (seed % 12) as usize;
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                bytes.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let Ok(raw) = String::from_utf8(bytes) else {
                continue;
            };
            for text in [format!("/{raw}"), raw.clone()] {
                if is_canonical_path(&text) {
                    fast_paths += 1;
                    let mut slow = String::new();
                    push_path_slow(&mut slow, &text).unwrap();
                    assert_eq!(slow, text, "path {text:?}");
                }
                if is_canonical_query(&text) {
                    fast_queries += 1;
                    let mut slow = String::new();
                    push_query_slow(&mut slow, &text).unwrap();
                    assert_eq!(slow, text, "query {text:?}");
                }
            }
        }
        assert!(
            fast_paths > 1000 && fast_queries > 1000,
            "{fast_paths} {fast_queries}"
        );
    }

    #[test]
    fn canonical_form_is_a_fixed_point() {
        for t in [
            "HTTPS://GOOD.com.:443/a/./b/../c/?z=1&a=%41#x",
            "https://a.com/%7e/%2f/ä b/[x]",
            "http://0x7f.1:8080/x/",
            "http://[0:0::1]/",
            "GOOD.com.:80",
            "//evil.com/x",
            "https:evil.com",
            "DB::Customers:",
            "tool:search",
            "https://a.com/%25/%2525",
            "https://a.com?b&a=&c=%20",
        ] {
            let once = canon(t);
            assert_eq!(canon(&once), once, "{t}");
        }
    }

    #[test]
    fn random_inputs_never_panic_and_canonical_forms_are_stable() {
        // Deterministic xorshift over an alphabet rich in URL syntax.
        let alphabet: Vec<char> = "aZ09.-_~:/?#[]@!$&'()*+,;=%\\ \téß\u{2024}xn--"
            .chars()
            .collect();
        let mut x: u64 = std::env::var("FUZZ_SEED")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let prefixes = ["", "https://", "http://", "//", "https:", "a.com", "[::1]"];
        for _ in 0..std::env::var("FUZZ_N")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(20_000)
        {
            let mut s = String::from(prefixes[(next() % prefixes.len() as u64) as usize]);
            for _ in 0..(next() % 24) {
                s.push(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
            if let Ok(t) = Target::parse(&s) {
                let again = Target::parse(t.as_str())
                    .unwrap_or_else(|e| panic!("{s:?} -> {:?} does not re-parse: {e}", t.as_str()));
                assert_eq!(again.as_str(), t.as_str(), "input {s:?}");
                assert_eq!(again.host(), t.host(), "input {s:?}");
            }
        }
    }

    #[test]
    fn whatwg_host_forms() {
        assert_eq!(canon("https:evil.com/x"), "https://evil.com/x");
        assert_eq!(canon("HTTPS:\\\\evil.com"), "https://evil.com/");
        assert_eq!(canon("http:/evil.com:80"), "http://evil.com/");
        assert_eq!(canon("//evil.com/x"), "evil.com/x");
        assert!(Target::parse("//99-/x").is_err());
        assert_eq!(
            Target::parse("2130706433/admin").unwrap().host(),
            Some("127.0.0.1")
        );
        assert_eq!(
            Target::parse("0x7f000001").unwrap().host(),
            Some("127.0.0.1")
        );
        assert!(Target::parse("https:////").is_err());
    }

    #[test]
    fn ipv4_numeric_forms() {
        assert_eq!(
            Target::parse("http://2130706433/").unwrap().host(),
            Some("127.0.0.1")
        );
        assert_eq!(
            Target::parse("http://0x7f.1/").unwrap().host(),
            Some("127.0.0.1")
        );
        assert_eq!(
            Target::parse("http://0177.0.0.1/").unwrap().host(),
            Some("127.0.0.1")
        );
        assert_eq!(
            Target::parse("http://[0:0:0:0:0:0:0:1]:80/")
                .unwrap()
                .as_str(),
            "http://[::1]/"
        );
    }

    #[test]
    fn paths_and_queries() {
        assert_eq!(canon("https://a.com/x/./y/../z/"), "https://a.com/x/z");
        assert_eq!(canon("https://a.com/x/%2e%2E/y"), "https://a.com/y");
        assert_eq!(canon("https://a.com/../../etc"), "https://a.com/etc");
        assert_eq!(
            canon("https://a.com/%7euser/%2f/a b"),
            "https://a.com/~user/%2F/a%20b"
        );
        assert_eq!(canon("https://a.com/%c3%a9"), "https://a.com/%C3%A9");
        assert_eq!(canon("https://a.com/é"), "https://a.com/%C3%A9");
        assert_eq!(
            canon("https://a.com?b=2&a=1&a=0#frag"),
            "https://a.com/?a=0&a=1&b=2"
        );
        assert!(Target::parse("https://a.com/%zz").is_err());
    }

    #[test]
    fn resources() {
        let t = Target::parse(" DB::Customers: ").unwrap();
        assert_eq!(t.kind(), TargetKind::Resource);
        assert_eq!(t.as_str(), "db:customers");
        assert_eq!(t.host(), None);
        assert_eq!(canon("table::users::"), "table:users");
    }

    #[test]
    fn domain_patterns() {
        let host = |s: &str| Target::parse(s).unwrap().host().unwrap().to_string();
        let exact = DomainPattern::parse("Good.COM.").unwrap();
        let subs = DomainPattern::parse("*.good.com").unwrap();
        let apex = DomainPattern::parse(".good.com").unwrap();
        assert!(exact.matches(&host("https://good.com:443/x")));
        assert!(!exact.matches(&host("https://api.good.com/")));
        assert!(subs.matches(&host("https://api.good.com/")));
        assert!(subs.matches(&host("https://a.b.good.com/")));
        assert!(!subs.matches(&host("https://good.com/")));
        assert!(!subs.matches(&host("https://evilgood.com/")));
        assert!(!subs.matches(&host("good.com.evil.com")));
        assert!(apex.matches(&host("good.com")));
        assert!(apex.matches(&host("x.good.com")));
        assert!(DomainPattern::parse("*")
            .unwrap()
            .matches("anything.example"));
        for p in [
            "good.*.com",
            "https://good.com",
            "good.com/x",
            "",
            "*good.com",
        ] {
            assert!(DomainPattern::parse(p).is_err(), "{p}");
        }
        assert!(subs.covered_by(&apex));
        assert!(!apex.covered_by(&subs));
        assert!(DomainPattern::parse("*.a.good.com")
            .unwrap()
            .covered_by(&subs));
    }

    /// The plain-ASCII fast path of `to_ascii` gives what the IDNA algorithm gives.
    #[cfg(feature = "idna")]
    #[test]
    fn plain_ascii_fast_path_agrees_with_idna() {
        for h in [
            "example.com",
            "api.example.com",
            "a-b.c-d.e",
            "-a.com",
            "a-.com",
            "a--b.com",
            "1.2.3.4",
            "0x7f.1",
            "123",
            "a..b",
            "a.b.",
            ".",
            "xn.com",
            "ab--cd.com",
        ] {
            let idna = idna::domain_to_ascii_cow(h.as_bytes(), idna::AsciiDenyList::URL)
                .map(|c| c.into_owned())
                .ok();
            assert_eq!(to_ascii(h).ok().map(Cow::into_owned), idna, "{h}");
        }
    }
}
