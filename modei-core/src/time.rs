//! Timestamps and the injectable clock.
//!
//! The core never reads the system clock on its own: every check that depends on time takes a
//! [`Timestamp`] from the caller (or a [`Clock`] the caller provides). That keeps verification
//! deterministic in tests and vectors, and makes "what time did the gate think it was" explicit.

use crate::error::{Code, Error, Result};

/// An instant, in milliseconds since the Unix epoch (UTC). Millisecond precision is what Modei's
/// envelopes carry (`YYYY-MM-DDTHH:MM:SS.mmmZ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From milliseconds since the Unix epoch.
    pub const fn from_unix_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    /// From whole seconds since the Unix epoch (JWT `iat` / `exp`). Saturates on overflow.
    pub const fn from_unix_seconds(s: i64) -> Self {
        Timestamp(s.saturating_mul(1000))
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the Unix epoch (floor).
    pub const fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This instant plus `ms` milliseconds (saturating).
    pub const fn plus_millis(self, ms: i64) -> Self {
        Timestamp(self.0.saturating_add(ms))
    }

    /// Parses an RFC 3339 timestamp (`2026-01-01T00:00:00.000Z`, offsets allowed). Anything
    /// else, including the bare dates and "yesterday" that Modei's reference lets through, is
    /// `timestamp_invalid`. Sub-millisecond digits are truncated.
    pub fn parse_rfc3339(s: &str) -> Result<Self> {
        // RFC 3339 also allows a lowercase 't' and a space as the separator; Modei writes the
        // uppercase ISO form, so only 'T' is accepted. A lowercase 'z' is read as 'Z' (as the
        // `time` crate this parser replaced did; a differential test holds it to that).
        let b = s.as_bytes();
        if b.len() < 20 || b.len() > 40 || b[10] != b'T' {
            return Err(invalid_ts(s));
        }
        rfc3339_millis(b)
            .map(Timestamp)
            .ok_or_else(|| invalid_ts(s))
    }

    /// Formats as Modei's pinned envelope form `YYYY-MM-DDTHH:MM:SS.mmmZ` (JavaScript's
    /// `toISOString()`). Years outside 0000..=9999 cannot be written in that form.
    pub fn to_rfc3339_millis(self) -> Result<String> {
        let mut out = Vec::with_capacity(24);
        if !push_rfc3339_millis(&mut out, self) {
            let year = self.0.div_euclid(31_556_952_000) + 1970;
            return Err(Error::new(
                Code::TimestampInvalid,
                format!(
                    "{} ms (about year {year}) cannot be written as YYYY",
                    self.0
                ),
            ));
        }
        Ok(String::from_utf8(out).unwrap_or_default())
    }

    /// Formats with whole seconds, `YYYY-MM-DDTHH:MM:SSZ` (Modei's credentials `created_at`).
    pub fn to_rfc3339_seconds(self) -> Result<String> {
        let s = self.to_rfc3339_millis()?;
        Ok(format!("{}Z", &s[..19]))
    }
}

fn invalid_ts(s: &str) -> Error {
    let shown: String = s.chars().take(48).collect();
    Error::new(
        Code::TimestampInvalid,
        format!("{shown:?} is not an RFC 3339 timestamp like 2026-01-01T00:00:00.000Z"),
    )
}

/// RFC 3339 `date-time` (section 5.6) to Unix milliseconds, or `None`. The grammar is the one
/// the `time` crate's `Rfc3339` parser accepts (the core used it before; a differential test
/// below keeps the two in step): `YYYY-MM-DD`, any one byte as separator (the caller insists on
/// `T`), `HH:MM:SS`, an optional `.` with one or more digits (digits past nanoseconds are
/// ignored), then `Z`, `z` or `+HH:MM` / `-HH:MM` (offset hour at most 23, minute at most 59),
/// and nothing after. Dates must exist (leap years); second 60 is a leap second, read as
/// `:59.999999999` and accepted only where that lands on 23:59:59 UTC on the last day of a month.
/// Sub-millisecond digits are truncated (floor).
fn rfc3339_millis(b: &[u8]) -> Option<i64> {
    fn num(b: &[u8], at: usize, width: usize) -> Option<i64> {
        let digits = b.get(at..at + width)?;
        digits.iter().try_fold(0i64, |v, &c| {
            c.is_ascii_digit().then(|| v * 10 + i64::from(c - b'0'))
        })
    }
    let lit = |at: usize, c: u8| (b.get(at) == Some(&c)).then_some(());

    let year = num(b, 0, 4)?;
    lit(4, b'-')?;
    let month = num(b, 5, 2)?;
    lit(7, b'-')?;
    let day = num(b, 8, 2)?;
    // b[10]: the separator, any byte.
    let hour = num(b, 11, 2)?;
    lit(13, b':')?;
    let minute = num(b, 14, 2)?;
    lit(16, b':')?;
    let mut second = num(b, 17, 2)?;
    let mut i = 19;
    let mut nanos = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut scale = 100_000_000;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            nanos += i64::from(c - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_secs = match *b.get(i)? {
        b'Z' | b'z' => {
            i += 1;
            0
        }
        sign @ (b'+' | b'-') => {
            let oh = num(b, i + 1, 2).filter(|&h| h <= 23)?;
            lit(i + 3, b':')?;
            let om = num(b, i + 4, 2).filter(|&m| m <= 59)?;
            i += 6;
            let secs = oh * 3600 + om * 60;
            if sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    if i != b.len() {
        return None;
    }
    let leap = second == 60;
    if leap {
        second = 59;
        nanos = 999_999_999;
    }
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let utc = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_secs;
    if leap {
        // Only 23:59:59 UTC on the last day of a month can stand in for a leap second.
        let (y, m, d) = civil_from_days(utc.div_euclid(86_400));
        if utc.rem_euclid(86_400) != 86_399 || d != days_in_month(y, m) {
            return None;
        }
    }
    Some(utc * 1000 + nanos / 1_000_000)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (Howard
/// Hinnant's civil_from_days).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// A source of the current time. Gates and verifiers take one so tests can pin time.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// A clock that always returns the same instant (tests, vectors, replaying a decision).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// The operating system's clock. Not available on `wasm32-unknown-unknown`, where the
/// binding supplies `Date.now()` instead.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// Whether `t` falls in years 0000..=9999 (what `YYYY-MM-DDTHH:MM:SS.mmmZ` can express).
pub(crate) fn timestamp_writable(t: Timestamp) -> bool {
    // 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z in Unix ms.
    (-62_167_219_200_000..=253_402_300_799_999).contains(&t.unix_millis())
}

/// Appends `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ` without allocating (the attestation hot path).
/// Returns `false`, writing nothing, outside years 0000..=9999.
pub(crate) fn push_rfc3339_millis(out: &mut Vec<u8>, t: Timestamp) -> bool {
    if !timestamp_writable(t) {
        return false;
    }
    let ms = t.unix_millis();
    let rem = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(ms.div_euclid(86_400_000));
    let (h, m, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    let mut buf = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: i64| {
        for i in (0..width).rev() {
            if let Some(b) = buf.get_mut(at + i) {
                *b = b'0' + (v % 10) as u8;
            }
            v /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, h);
    put(14, 2, m);
    put(17, 2, s);
    put(20, 3, milli);
    out.extend_from_slice(&buf);
    true
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn parses_and_formats_the_pinned_form() {
        let t = Timestamp::parse_rfc3339("2026-01-01T00:00:00.000Z").unwrap();
        assert_eq!(t.unix_millis(), 1_767_225_600_000);
        assert_eq!(t.to_rfc3339_millis().unwrap(), "2026-01-01T00:00:00.000Z");
        assert_eq!(t.to_rfc3339_seconds().unwrap(), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn offsets_compare_as_instants() {
        let a = Timestamp::parse_rfc3339("2076-01-01T00:00:00.000-05:00").unwrap();
        let b = Timestamp::parse_rfc3339("2076-01-01T05:00:00.000Z").unwrap();
        assert_eq!(a, b);
        let c = Timestamp::parse_rfc3339("2076-01-01T00:00:00Z").unwrap();
        let d = Timestamp::parse_rfc3339("2076-01-01T00:00:00.000Z").unwrap();
        assert_eq!(c, d);
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for s in [
            "yesterday",
            "never",
            "2026-01-01",
            "2026-01-01 00:00:00Z",
            "2026-13-01T00:00:00Z",
            "",
            "1767225600000",
        ] {
            assert_eq!(
                Timestamp::parse_rfc3339(s).unwrap_err().code(),
                Code::TimestampInvalid,
                "{s}"
            );
        }
    }

    /// Unix ms of a timestamp, or the error.
    fn ok(s: &str) -> Result<i64> {
        Timestamp::parse_rfc3339(s).map(Timestamp::unix_millis)
    }

    #[test]
    fn leap_years_and_month_lengths() {
        assert_eq!(ok("2024-02-29T00:00:00Z").unwrap(), 1_709_164_800_000);
        assert_eq!(ok("2000-02-29T12:00:00Z").unwrap(), 951_825_600_000);
        assert_eq!(ok("0000-02-29T00:00:00Z").unwrap(), -62_162_121_600_000);
        for s in [
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-00-10T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-32T00:00:00Z",
        ] {
            assert!(ok(s).is_err(), "{s}");
        }
        assert_eq!(ok("0000-01-01T00:00:00.000Z").unwrap(), -62_167_219_200_000);
        assert_eq!(ok("9999-12-31T23:59:59.999Z").unwrap(), 253_402_300_799_999);
        assert_eq!(ok("1969-12-31T23:59:59.999Z").unwrap(), -1);
    }

    #[test]
    fn offsets_and_fractions() {
        let base = ok("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(ok("2026-01-01T05:30:00+05:30").unwrap(), base);
        assert_eq!(ok("2025-12-31T14:01:00-09:59").unwrap(), base);
        assert_eq!(ok("2026-01-01T00:00:00-00:00").unwrap(), base);
        assert_eq!(ok("2026-01-01T23:59:00+23:59").unwrap(), base);
        assert_eq!(ok("2026-01-01T00:00:00z").unwrap(), base);
        assert_eq!(ok("2026-01-01T00:00:00.5Z").unwrap(), base + 500);
        assert_eq!(ok("2026-01-01T00:00:00.0019Z").unwrap(), base + 1);
        assert_eq!(ok("2026-01-01T00:00:00.999999999999Z").unwrap(), base + 999);
        // Before the epoch, sub-millisecond digits still truncate toward the earlier instant.
        assert_eq!(ok("1969-12-31T23:59:59.9999Z").unwrap(), -1);
        // Offsets move an instant past 9999 or before 0000; still instants.
        assert_eq!(
            ok("9999-12-31T23:00:00-05:00").unwrap(),
            253_402_315_200_000
        );
        assert_eq!(
            ok("0000-01-01T00:00:00+01:00").unwrap(),
            -62_167_222_800_000
        );
        for s in [
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00+05:60",
            "2026-01-01T00:00:00+0500",
            "2026-01-01T00:00:00+05",
            "2026-01-01T00:00:00 05:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00,5Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00ZZ",
            "2026-01-01T00:00:00Z ",
            "2026-01-01T24:00:00Z",
            "2026-01-01T23:60:00Z",
            "2026-01-01T23:59:61Z",
            "2026-01-01t00:00:00Z",
            "+2026-01-01T00:00:00Z",
            "2026-1-01T00:00:00.000Z",
            "２026-01-01T00:00:00Z",
        ] {
            assert!(ok(s).is_err(), "{s}");
        }
    }

    #[test]
    fn leap_seconds_only_at_the_end_of_a_utc_month() {
        let end_2016 = ok("2016-12-31T23:59:59.999Z").unwrap();
        assert_eq!(ok("2016-12-31T23:59:60Z").unwrap(), end_2016);
        assert_eq!(ok("2016-12-31T23:59:60.5Z").unwrap(), end_2016);
        assert_eq!(ok("2017-01-01T00:59:60+01:00").unwrap(), end_2016);
        assert_eq!(ok("2016-12-31T18:59:60-05:00").unwrap(), end_2016);
        assert!(ok("2024-02-29T23:59:60Z").is_ok());
        assert!(ok("2016-12-31T23:59:60+01:00").is_err());
        assert!(ok("2016-12-30T23:59:60Z").is_err());
        assert!(ok("2016-12-31T23:58:60Z").is_err());
        assert!(ok("2023-02-28T23:59:60Z").is_ok());
        assert!(ok("2024-02-28T23:59:60Z").is_err());
        assert_eq!(
            ok("9999-12-31T18:59:60-05:00").unwrap(),
            253_402_300_799_999
        );
        assert!(ok("0000-01-01T00:00:60+00:01").is_ok());
    }

    /// The `time` crate's RFC 3339 parser, which `parse_rfc3339` replaced.
    fn reference(s: &str) -> Option<i64> {
        use ::time::format_description::well_known::Rfc3339;
        let dt = ::time::OffsetDateTime::parse(s, &Rfc3339).ok()?;
        i64::try_from(dt.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
    }

    fn same_as_reference(s: &str) {
        let b = s.as_bytes();
        let want = if b.len() < 20 || b.len() > 40 || b[10] != b'T' {
            None
        } else {
            reference(s)
        };
        let got = Timestamp::parse_rfc3339(s).ok().map(Timestamp::unix_millis);
        assert_eq!(got, want, "{s:?}");
        // The grammar itself, separator included, whatever the length.
        assert_eq!(rfc3339_millis(b), reference(s), "{s:?} (grammar)");
    }

    #[test]
    fn every_leap_second_candidate_matches_the_reference() {
        for year in [0, 1, 1900, 1972, 2000, 2016, 2023, 2024, 2100, 9998, 9999] {
            for month in 1..=12 {
                for day in [1, 27, 28, 29, 30, 31] {
                    for (time, off) in [
                        ("23:59:60", "Z"),
                        ("23:59:60.123", "Z"),
                        ("00:59:60", "+01:00"),
                        ("18:59:60", "-05:00"),
                        ("23:59:60", "-00:01"),
                        ("00:00:60", "+00:01"),
                        ("23:59:59", "-23:59"),
                        ("00:00:00", "+23:59"),
                    ] {
                        same_as_reference(&format!("{year:04}-{month:02}-{day:02}T{time}{off}"));
                    }
                }
            }
        }
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// Mostly well-formed timestamps with some fields out of range or mangled.
        #[test]
        fn matches_the_reference_parser(
            year in prop_oneof![0u32..=9999, prop::sample::select(vec![0u32, 1, 1600, 1900, 1970, 2000, 2024, 2100, 9999])],
            month in 0u32..=13,
            day in 0u32..=32,
            sep in prop::sample::select(vec!["T", "t", " ", "_", "é"]),
            hour in 0u32..=25,
            minute in 0u32..=61,
            second in prop_oneof![0u32..=61, Just(60u32)],
            frac in prop::option::of("[0-9]{0,13}"),
            offset in prop_oneof![
                prop::sample::select(vec!["Z".to_string(), "z".to_string(), String::new(), "-00:00".to_string(), "+0500".to_string(), "Zx".to_string()]),
                (any::<bool>(), 0u32..=25, 0u32..=61).prop_map(|(neg, h, m)| format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' })),
            ],
            mangle in prop::option::of((0usize..40, prop::char::range('\u{20}', '\u{7e}'))),
        ) {
            let frac = frac.map(|d| format!(".{d}")).unwrap_or_default();
            let mut s = format!("{year:04}-{month:02}-{day:02}{sep}{hour:02}:{minute:02}:{second:02}{frac}{offset}");
            if let Some((at, c)) = mangle {
                if s.is_char_boundary(at) && at < s.len() && s.is_char_boundary(at + 1) {
                    s.replace_range(at..at + 1, &c.to_string());
                }
            }
            same_as_reference(&s);
        }
    }
}
