//! One module per top-level command.

pub mod canonicalize;
pub mod gate;
pub mod keys;
pub mod passport;

use modei_core::time::{Clock, SystemClock, Timestamp};

/// `--now` if given (RFC 3339), else the system clock.
pub fn now_from(arg: Option<&str>) -> Result<Timestamp, crate::CliError> {
    match arg {
        Some(s) => Timestamp::parse_rfc3339(s).map_err(|e| {
            crate::CliError::input("invalid_argument", format!("--now: {}", e.detail()))
        }),
        None => Ok(SystemClock.now()),
    }
}
