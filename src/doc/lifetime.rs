//! How long a document is kept after its last edit: the operator's list of lifetimes
//! (`[retention] choices`), parsing and validating a chosen one, and the clock retention is
//! measured with. Pure, apart from reading the clock.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest finite lifetime accepted: a century, far below any overflow of `u64` seconds.
const MAX_SECS: u64 = 100 * 366 * DAY;
const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// A document's lifetime: erased this long after its last edit, or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Lifetime {
    /// Erased this many seconds after the last edit.
    After(u64),
    /// Kept until someone deletes it; offered only if the operator lists `forever`.
    Forever,
}

/// A lifetime that does not parse or is not offered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifetimeError {
    /// Not of the form `<number><s|m|h|d>` or `forever`.
    #[error(
        "`{0}` is not a lifetime: write a number and a unit (s, m, h, d), e.g. `30d`, or `forever`"
    )]
    Syntax(String),
    /// Zero or more than a century.
    #[error("`{0}` is out of range: from 1 second to 100 years")]
    Range(String),
    /// A valid lifetime the operator does not offer.
    #[error("`{0}` is not one of the offered lifetimes")]
    NotOffered(String),
}

impl Lifetime {
    /// Seconds after the last edit, `None` for forever.
    pub fn secs(self) -> Option<u64> {
        match self {
            Lifetime::After(secs) => Some(secs),
            Lifetime::Forever => None,
        }
    }

    /// When a document last edited at `last_edit` (Unix seconds) expires; `None` for never.
    pub fn expires_at(self, last_edit: u64) -> Option<u64> {
        self.secs().map(|secs| last_edit.saturating_add(secs))
    }

    /// The amount and unit it is best said in: the largest unit that divides it exactly.
    pub fn amount(self) -> Option<(u64, Unit)> {
        let secs = self.secs()?;
        Some(
            [(DAY, Unit::Day), (HOUR, Unit::Hour), (MINUTE, Unit::Minute)]
                .into_iter()
                .find(|(size, _)| secs % size == 0)
                .map_or((secs, Unit::Second), |(size, unit)| (secs / size, unit)),
        )
    }
}

/// A unit a lifetime is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// `s`
    Second,
    /// `m`
    Minute,
    /// `h`
    Hour,
    /// `d`
    Day,
}

impl FromStr for Lifetime {
    type Err = LifetimeError;

    fn from_str(raw: &str) -> Result<Self, LifetimeError> {
        let s = raw.trim();
        if s.eq_ignore_ascii_case("forever") {
            return Ok(Lifetime::Forever);
        }
        let syntax = || LifetimeError::Syntax(raw.to_owned());
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(syntax)?;
        let (digits, unit) = s.split_at(split);
        let size = match unit {
            "s" => 1,
            "m" => MINUTE,
            "h" => HOUR,
            "d" => DAY,
            _ => return Err(syntax()),
        };
        let n: u64 = digits.parse().map_err(|_| syntax())?;
        match n.checked_mul(size) {
            Some(secs) if secs > 0 && secs <= MAX_SECS => Ok(Lifetime::After(secs)),
            _ => Err(LifetimeError::Range(raw.to_owned())),
        }
    }
}

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.amount() {
            None => f.write_str("forever"),
            Some((n, unit)) => {
                let u = match unit {
                    Unit::Second => "s",
                    Unit::Minute => "m",
                    Unit::Hour => "h",
                    Unit::Day => "d",
                };
                write!(f, "{n}{u}")
            }
        }
    }
}

impl TryFrom<String> for Lifetime {
    type Error = LifetimeError;
    fn try_from(s: String) -> Result<Self, LifetimeError> {
        s.parse()
    }
}

impl From<Lifetime> for String {
    fn from(l: Lifetime) -> String {
        l.to_string()
    }
}

/// The lifetime of a document being created: `raw` if it is one of those `offered`, `default`
/// when `raw` is `None` or empty. Every creation path (home form, HTTP API) goes through this,
/// with the operator's `--retention-choices` and `--retention-default`.
pub fn choose_lifetime(
    offered: &[Lifetime],
    default: Lifetime,
    raw: Option<&str>,
) -> Result<Lifetime, LifetimeError> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(default),
        Some(raw) => {
            let lifetime: Lifetime = raw.parse()?;
            if offered.contains(&lifetime) {
                Ok(lifetime)
            } else {
                Err(LifetimeError::NotOffered(raw.to_owned()))
            }
        }
    }
}

/// A Unix time as a UTC calendar date and time: (year, month 1–12, day 1–31, hour, minute).
pub fn utc(unix: u64) -> (i64, u32, u32, u32, u32) {
    let days = (unix / DAY) as i64;
    let rem = unix % DAY;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / HOUR) as u32,
        ((rem % HOUR) / MINUTE) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_durations() {
        for (raw, secs, shown) in [
            ("30s", 30, "30s"),
            ("90s", 90, "90s"),
            ("120s", 120, "2m"),
            ("5m", 300, "5m"),
            ("12h", 43_200, "12h"),
            ("60d", 60 * DAY, "60d"),
            ("48h", 2 * DAY, "2d"),
        ] {
            let l: Lifetime = raw.parse().expect(raw);
            assert_eq!(l, Lifetime::After(secs), "{raw}");
            assert_eq!(l.to_string(), shown);
        }
        assert_eq!("forever".parse(), Ok(Lifetime::Forever));
        assert_eq!(Lifetime::Forever.to_string(), "forever");
        for bad in ["", "d", "10", "10 days", "-1d", "1y", "1.5d", "d10"] {
            assert!(
                matches!(bad.parse::<Lifetime>(), Err(LifetimeError::Syntax(_))),
                "{bad}"
            );
        }
        for bad in ["0s", "0d", "40000d", "99999999999999999999d"] {
            assert!(bad.parse::<Lifetime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_offered_lifetimes_are_chosen() {
        let offered = [Lifetime::After(DAY), Lifetime::After(7 * DAY)];
        let default = Lifetime::After(DAY);
        let choose = |raw| choose_lifetime(&offered, default, raw);
        assert_eq!(choose(None), Ok(default));
        assert_eq!(choose(Some(" ")), Ok(default));
        assert_eq!(choose(Some("7d")), Ok(Lifetime::After(7 * DAY)));
        assert!(matches!(
            choose(Some("forever")),
            Err(LifetimeError::NotOffered(_))
        ));
        assert!(matches!(
            choose(Some("8d")),
            Err(LifetimeError::NotOffered(_))
        ));
    }

    #[test]
    fn expiry_and_calendar() {
        assert_eq!(Lifetime::After(10).expires_at(5), Some(15));
        assert_eq!(Lifetime::Forever.expires_at(5), None);
        assert_eq!(utc(0), (1970, 1, 1, 0, 0));
        // 2024-02-29 13:37 UTC
        assert_eq!(utc(1_709_213_820), (2024, 2, 29, 13, 37));
        assert_eq!(utc(1_735_689_599), (2024, 12, 31, 23, 59));
    }
}
