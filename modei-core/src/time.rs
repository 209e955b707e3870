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
        // Written by hand (civil-from-days, Hinnant) rather than through `time`'s formatter:
        // every gate decision carries one, and this is several times faster.
        let days = self.0.div_euclid(86_400_000);
        let ms_of_day = self.0.rem_euclid(86_400_000);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        if !(0..=9999).contains(&year) {
            return Err(Error::new(
                Code::TimestampInvalid,
                format!("year {year} cannot be written as YYYY"),
            ));
        }
        let mut out = String::with_capacity(24);
        let mut put = |v: i64, width: u32, sep: char| {
            for i in (0..width).rev() {
                let d = (v / 10i64.pow(i)) % 10;
                out.push(char::from(b'0' + d as u8));
            }
            out.push(sep);
        };
        put(year, 4, '-');
        put(month, 2, '-');
        put(day, 2, 'T');
        put(ms_of_day / 3_600_000, 2, ':');
        put(ms_of_day / 60_000 % 60, 2, ':');
        put(ms_of_day / 1000 % 60, 2, '.');
        put(ms_of_day % 1000, 3, 'Z');
        Ok(out)
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

    /// The hand-written formatter agrees with the `time` crate over its whole range.
    #[test]
    fn rfc3339_millis_agrees_with_the_time_crate() {
        let reference = |ms: i64| {
            let dt = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap();
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second(),
                dt.millisecond()
            )
        };
        let min = -62_167_219_200_000i64; // 0000-01-01T00:00:00.000Z
        let max = 253_402_300_799_999i64; // 9999-12-31T23:59:59.999Z
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut cases = vec![min, max, 0, -1, 1, 951_782_400_000, 4_107_542_400_000];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push(min + (x % (max - min + 1) as u64) as i64);
        }
        for ms in cases {
            assert_eq!(
                Timestamp(ms).to_rfc3339_millis().unwrap(),
                reference(ms),
                "{ms}"
            );
        }
        assert!(Timestamp(min - 1).to_rfc3339_millis().is_err());
        assert!(Timestamp(max + 1).to_rfc3339_millis().is_err());
        assert!(Timestamp(i64::MIN).to_rfc3339_millis().is_err());
        assert!(Timestamp(i64::MAX).to_rfc3339_millis().is_err());
    }
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
