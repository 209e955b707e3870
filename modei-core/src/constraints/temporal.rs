//! Temporal: `core:time:operating_hours` (and the v2 envelope's `operating_hours`),
//! `core:time:blackout_windows`. Time zones are IANA names resolved with `jiff`'s bundled
//! tz database (crate feature `tzdb`, on by default), so a native build and a WASM build
//! agree; without it only `UTC` and fixed offsets are accepted.

use super::{invalid, Decision, EvalContext, Evaluation};
use crate::error::Result;
use crate::time::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};
use std::sync::Arc;

const MAX_SCHEDULES: usize = 64;
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A weekly schedule: `{"start":"09:00","end":"17:00","timezone":"America/New_York",
/// "days":["mon","tue","wed","thu","fri"]}`. `start` is inclusive, `end` exclusive, both local
/// `HH:MM` (`end` may be `24:00`). `start > end` is an overnight window (`22:00`–`06:00`),
/// which belongs to the day it starts on. `timezone` is `UTC` (the default), a fixed offset
/// (`+05:30`), or an IANA name (with the `tzdb` feature); `days` defaults to every day.
#[derive(Debug, Clone)]
pub struct Schedule {
    start: u16,
    end: u16,
    tz: TimeZone,
    days: u8,
    source: Value,
}

impl PartialEq for Schedule {
    fn eq(&self, o: &Self) -> bool {
        self.source == o.source
    }
}

fn hhmm(key: &str, s: &str, allow_24: bool) -> Result<u16> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' || ![0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit()) {
        return Err(invalid(key, format!("time {s:?} must be HH:MM")));
    }
    let h = ((b[0] - b'0') * 10 + (b[1] - b'0')) as u16;
    let m = ((b[3] - b'0') * 10 + (b[4] - b'0')) as u16;
    if m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)) {
        return Err(invalid(key, format!("time {s:?} is out of range")));
    }
    Ok(h * 60 + m)
}

impl Schedule {
    /// Parses one schedule object.
    pub fn parse(key: &str, v: &Value) -> Result<Schedule> {
        let o = v.as_object().ok_or_else(|| {
            invalid(
                key,
                "a schedule must be an object {start, end, timezone?, days?}",
            )
        })?;
        for k in o.keys() {
            if !matches!(k.as_str(), "start" | "end" | "timezone" | "days") {
                return Err(invalid(key, format!("unknown schedule field {k:?}")));
            }
        }
        let field = |name: &str| -> Result<&str> {
            o.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(key, format!("schedule needs a string {name:?}")))
        };
        let start = hhmm(key, field("start")?, false)?;
        let end = hhmm(key, field("end")?, true)?;
        if start == end {
            return Err(invalid(
                key,
                "schedule start equals end; use 00:00-24:00 for a whole day",
            ));
        }
        let tz_name = match o.get("timezone") {
            None => "UTC",
            Some(Value::String(s)) if s.len() <= 64 => s.as_str(),
            Some(_) => return Err(invalid(key, "timezone must be an IANA name string")),
        };
        let tz = time_zone(key, tz_name)?;
        let days = match o.get("days") {
            None => 0x7f,
            Some(Value::Array(a)) if !a.is_empty() && a.len() <= 7 => {
                let mut bits = 0u8;
                for d in a {
                    let s = d
                        .as_str()
                        .map(|s| s.trim().to_ascii_lowercase())
                        .unwrap_or_default();
                    let i = DAY_NAMES
                        .iter()
                        .position(|n| s == *n || (s.len() > 3 && s.starts_with(n) && full_day(&s)))
                        .ok_or_else(|| invalid(key, format!("day {d} must be one of mon..sun")))?;
                    bits |= 1 << i;
                }
                bits
            }
            Some(_) => {
                return Err(invalid(
                    key,
                    "days must be a non-empty list like [\"mon\",\"fri\"]",
                ))
            }
        };
        Ok(Schedule {
            start,
            end,
            tz,
            days,
            source: v.clone(),
        })
    }

    /// Whether the instant falls inside the schedule.
    pub fn contains(&self, now: Timestamp) -> bool {
        let Ok(ts) = jiff::Timestamp::from_millisecond(now.unix_millis()) else {
            return false;
        };
        let z = self.tz.to_datetime(ts);
        let minute = z.hour() as u16 * 60 + z.minute() as u16;
        let wd = z.weekday().to_monday_zero_offset() as u8;
        let prev = (wd + 6) % 7;
        let on = |d: u8| self.days & (1 << d) != 0;
        if self.start < self.end {
            on(wd) && minute >= self.start && minute < self.end
        } else {
            (on(wd) && minute >= self.start) || (on(prev) && minute < self.end)
        }
    }
}

/// `UTC`, a fixed offset `+HH:MM` / `-HH:MM`, or an IANA name (needs the `tzdb` feature).
fn time_zone(key: &str, name: &str) -> Result<TimeZone> {
    if name == "UTC" || name == "Etc/UTC" {
        return Ok(TimeZone::UTC);
    }
    let b = name.as_bytes();
    if b.len() == 6 && (b[0] == b'+' || b[0] == b'-') && b[3] == b':' {
        let h = hhmm(key, &name[1..], false)?;
        if h > 18 * 60 {
            return Err(invalid(key, format!("offset {name:?} is beyond 18 hours")));
        }
        let secs = i32::from(h) * 60 * if b[0] == b'-' { -1 } else { 1 };
        let off = jiff::tz::Offset::from_seconds(secs)
            .map_err(|_| invalid(key, format!("offset {name:?} is out of range")))?;
        return Ok(TimeZone::fixed(off));
    }
    #[cfg(feature = "tzdb")]
    {
        TimeZone::get(name).map_err(|_| invalid(key, format!("unknown IANA time zone {name:?}")))
    }
    #[cfg(not(feature = "tzdb"))]
    {
        Err(invalid(
            key,
            format!("time zone {name:?}: this build has no tz database (crate feature `tzdb` is off); use \"UTC\" or a fixed offset like \"-05:00\""),
        ))
    }
}

fn full_day(s: &str) -> bool {
    matches!(
        s,
        "monday" | "tuesday" | "wednesday" | "thursday" | "friday" | "saturday" | "sunday"
    )
}

/// `operating_hours` value: one schedule, a list of schedules (inside any), or
/// `{"all_of": [v, ...]}` (inside every one; what `merge` produces).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Hours {
    AnyOf(Vec<Schedule>),
    AllOf(Vec<Hours>),
}

impl Hours {
    fn contains(&self, now: Timestamp) -> bool {
        match self {
            Hours::AnyOf(v) => v.iter().any(|s| s.contains(now)),
            Hours::AllOf(v) => v.iter().all(|h| h.contains(now)),
        }
    }
}

pub(super) fn parse_hours(key: &str, v: &Value) -> Result<Hours> {
    parse_hours_depth(key, v, 0)
}

fn parse_hours_depth(key: &str, v: &Value, depth: usize) -> Result<Hours> {
    match v {
        Value::Object(o) if o.contains_key("all_of") => {
            if o.len() != 1 || depth > 4 {
                return Err(invalid(
                    key,
                    "all_of must be the only field, nested at most 4 deep",
                ));
            }
            match o.get("all_of") {
                Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_SCHEDULES => {
                    Ok(Hours::AllOf(
                        a.iter()
                            .map(|x| parse_hours_depth(key, x, depth + 1))
                            .collect::<Result<_>>()?,
                    ))
                }
                _ => Err(invalid(key, "all_of must be a non-empty list")),
            }
        }
        Value::Object(_) => Ok(Hours::AnyOf(vec![Schedule::parse(key, v)?])),
        Value::Array(a) if !a.is_empty() && a.len() <= MAX_SCHEDULES => Ok(Hours::AnyOf(
            a.iter()
                .map(|x| Schedule::parse(key, x))
                .collect::<Result<_>>()?,
        )),
        _ => Err(invalid(
            key,
            "must be a schedule object, a non-empty list of them, or {\"all_of\": [...]}",
        )),
    }
}

pub(super) fn operating_hours(key: &Arc<str>, h: &Hours, ctx: &EvalContext) -> Evaluation {
    let obs = Value::from(ctx.now.unix_millis());
    if h.contains(ctx.now) {
        Evaluation::of(
            key,
            Decision::Allow,
            obs,
            Value::Null,
            "inside operating hours",
        )
    } else {
        Evaluation::of(
            key,
            Decision::Block,
            obs,
            Value::Null,
            "outside operating hours",
        )
    }
}

/// A blackout window: absolute `{"start": RFC 3339, "end": RFC 3339}` (start inclusive, end
/// exclusive) or recurring (a [`Schedule`] with `HH:MM` times).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Blackout {
    Absolute {
        start: Timestamp,
        end: Timestamp,
        source: Value,
    },
    Recurring(Schedule),
}

pub(super) fn parse_blackouts(key: &str, v: &Value) -> Result<Vec<Blackout>> {
    let a = v
        .as_array()
        .filter(|a| a.len() <= MAX_SCHEDULES)
        .ok_or_else(|| {
            invalid(
                key,
                format!("must be a list of at most {MAX_SCHEDULES} windows"),
            )
        })?;
    a.iter()
        .map(|w| {
            let o: &Map<String, Value> = w
                .as_object()
                .ok_or_else(|| invalid(key, "each window must be an object {start, end}"))?;
            let start = o.get("start").and_then(Value::as_str).unwrap_or("");
            if start.len() == 5 {
                return Ok(Blackout::Recurring(Schedule::parse(key, w)?));
            }
            if o.len() != 2 {
                return Err(invalid(key, "an absolute window has exactly start and end"));
            }
            let end = o.get("end").and_then(Value::as_str).unwrap_or("");
            let s = Timestamp::parse_rfc3339(start).map_err(|e| invalid(key, e.detail()))?;
            let e = Timestamp::parse_rfc3339(end).map_err(|e| invalid(key, e.detail()))?;
            if e <= s {
                return Err(invalid(
                    key,
                    format!("window end {end} is not after start {start}"),
                ));
            }
            Ok(Blackout::Absolute {
                start: s,
                end: e,
                source: w.clone(),
            })
        })
        .collect()
}

pub(super) fn blackout(key: &Arc<str>, list: &[Blackout], ctx: &EvalContext) -> Evaluation {
    let obs = Value::from(ctx.now.unix_millis());
    for b in list {
        let (hit, src) = match b {
            Blackout::Absolute { start, end, source } => {
                (ctx.now >= *start && ctx.now < *end, source)
            }
            Blackout::Recurring(s) => (s.contains(ctx.now), &s.source),
        };
        if hit {
            return Evaluation::of(
                key,
                Decision::Block,
                obs,
                src.clone(),
                format!("inside blackout window {src}"),
            );
        }
    }
    Evaluation::of(
        key,
        Decision::Allow,
        obs,
        Value::Null,
        "outside every blackout window",
    )
}
