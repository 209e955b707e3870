//! Timestamps and the injectable clock.
//!
//! The core never reads the system clock on its own: every check that depends on time takes a
//! [`Timestamp`] from the caller (or a [`Clock`] the caller provides). That keeps verification
//! deterministic in tests and vectors, and makes "what time did the gate think it was" explicit.

use crate::error::{Code, Error, Result};
use ::time::format_description::well_known::Rfc3339;
use ::time::OffsetDateTime;

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
        // RFC 3339 allows a lowercase 't'/'z' and a space separator; Modei writes the uppercase
        // ISO form, and so do we. Keep the accepted set small.
        let b = s.as_bytes();
        if b.len() < 20 || b.len() > 40 || b[10] != b'T' {
            return Err(invalid_ts(s));
        }
        let dt = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| invalid_ts(s))?;
        let nanos = dt.unix_timestamp_nanos();
        let ms = nanos.div_euclid(1_000_000);
        i64::try_from(ms).map(Timestamp).map_err(|_| invalid_ts(s))
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
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
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
}
