//! Timestamps and the injectable clock.
//!
//! The core never reads the system clock on its own: every check that depends on time takes a
//! [`Timestamp`] from the caller (or a [`Clock`] the caller provides). That keeps verification
//! deterministic in tests and vectors, and makes "what time did the gate think it was" explicit.

use crate::error::{Code, Error, Result};
use ::time::format_description::well_known::Rfc3339;
use ::time::{OffsetDateTime, UtcOffset};

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
        let dt = OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000_000)
            .map_err(|_| {
                Error::new(
                    Code::TimestampInvalid,
                    format!("{} ms is out of range", self.0),
                )
            })?
            .to_offset(UtcOffset::UTC);
        let year = dt.year();
        if !(0..=9999).contains(&year) {
            return Err(Error::new(
                Code::TimestampInvalid,
                format!("year {year} cannot be written as YYYY"),
            ));
        }
        Ok(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            year,
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            dt.millisecond()
        ))
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
