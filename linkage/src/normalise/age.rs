//! Ages as censuses and registers write them, read into an estimated birth year.
//!
//! Historical censuses and some registers give an age on a known day instead of a birth date.
//! An age of A whole years on day R means a birth between R − (A+1) years and R − A years: two
//! calendar years, and people misreport their age by a year or more. So the birth year read from
//! an age is always [approximate](super::era_date::PartialDate::approximate): the year of the
//! middle of that span, with the years either side as near candidates.
//!
//! Forms read: `34`, `34 years`, `34 yrs`, `34y`, `34歳`, `34才`; infants in months, weeks or
//! days (`3 months`, `3m`, `3mths`, `3か月`, `6 weeks`, `6w`, `10 days`, `10d`, `10日`); the
//! census fractions `3/12` (months), `2/52` (weeks), `5/365` (days); compounds such as
//! `1y 3m` or `1歳3か月`; `under 1`, `<1`, `infant`; an approximate prefix (`abt 34`, `c. 34`,
//! `~34`, `aged 34`) and a trailing `+` (a `?` marks a lost character in these extracts, so
//! such an age is unknown, as every field holding one is); number cells (34, or 0.25 for three months).

use chrono::{Datelike, Days, NaiveDate};

use super::era_date::PartialDate;
use super::width;

/// Why a value is not an age; never holds the value itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AgeError {
    #[error("not an age in a known form (expected e.g. 34, 34 years, 3 months, 3/12, 34歳, 3か月)")]
    Unrecognised,
    #[error("an age below 0 or above 130 years")]
    OutOfRange,
}

/// The oldest age read.
const MAX_YEARS: f64 = 130.0;
const DAYS_PER_YEAR: f64 = 365.2425;
const DAYS_PER_MONTH: f64 = DAYS_PER_YEAR / 12.0;

/// An age as a span of time: at least `days`, less than `days + width` (the unit it was written
/// in: a year for `34`, a month for `3 months`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Age {
    pub days: f64,
    pub width: f64,
}

impl Age {
    fn new(days: f64, width: f64) -> Result<Age, AgeError> {
        if !(0.0..=MAX_YEARS * DAYS_PER_YEAR).contains(&days) {
            return Err(AgeError::OutOfRange);
        }
        Ok(Age { days, width })
    }

    /// The estimated birth year of someone of this age on day `on`: the year of the middle of the
    /// span of possible birth days. Always approximate.
    pub fn birth_year(&self, on: NaiveDate) -> PartialDate {
        let back = (self.days + self.width / 2.0).round() as u64;
        let year = on.checked_sub_days(Days::new(back)).map_or(on.year(), |d| d.year());
        PartialDate::about(year)
    }
}

/// An age from a number cell: whole years, or a fraction of a year (0.25 is three months).
pub fn from_number(n: f64) -> Result<Age, AgeError> {
    if n.fract() == 0.0 {
        Age::new(n * DAYS_PER_YEAR, DAYS_PER_YEAR)
    } else {
        Age::new(n * DAYS_PER_YEAR, DAYS_PER_MONTH)
    }
}

/// The length in days of a unit as written, lower-cased (`None` for an unknown unit).
fn unit_days(unit: &str) -> Option<f64> {
    Some(match unit {
        "" | "y" | "yr" | "yrs" | "year" | "years" | "歳" | "才" => DAYS_PER_YEAR,
        "m" | "mo" | "mos" | "mth" | "mths" | "mon" | "month" | "months" | "か月" | "ヶ月" | "ヵ月" | "カ月"
        | "ケ月" | "箇月" => DAYS_PER_MONTH,
        "w" | "wk" | "wks" | "week" | "weeks" | "週" | "週間" => 7.0,
        "d" | "dy" | "dys" | "day" | "days" | "日" => 1.0,
        _ => return None,
    })
}

/// Parses an age; blank input is `Ok(None)`.
pub fn parse(s: &str) -> Result<Option<Age>, AgeError> {
    let folded = width::lower(width::fold(s));
    let mut t = folded.trim();
    if t.is_empty() {
        return Ok(None);
    }
    // an approximate prefix and a doubtful suffix: every age is approximate anyway
    for prefix in ["about", "abt", "approx", "circa", "ca", "c", "~", "aged", "age"] {
        if let Some(rest) = t.strip_prefix(prefix) {
            let rest = rest.trim_start_matches(['.', ' ', ':']);
            if rest.starts_with(|c: char| c.is_ascii_digit()) {
                t = rest;
                break;
            }
        }
    }
    let t = t.trim_end_matches(['+', '.', ' ']);
    if t.is_empty() {
        // a ditto or "unknown" mark ("+", "."), not an age of 0
        return Err(AgeError::Unrecognised);
    }
    if matches!(t, "under 1" | "under 1 year" | "<1" | "< 1" | "infant" | "inf" | "0歳未満") {
        return Age::new(0.0, DAYS_PER_YEAR).map(Some);
    }
    // census fractions of a year: 3/12 months, 2/52 weeks, 5/365 days
    if let Some((n, d)) = t.split_once('/') {
        let n: f64 = n.trim().parse().map_err(|_| AgeError::Unrecognised)?;
        let width = match d.trim() {
            "12" => DAYS_PER_MONTH,
            "52" => 7.0,
            "365" => 1.0,
            _ => return Err(AgeError::Unrecognised),
        };
        return Age::new(n * width, width).map(Some);
    }
    // (number, unit) pairs: 34, 34 years, 1y 3m, 1歳3か月
    let mut days = 0.0;
    let mut width = None::<f64>;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if digits == 0 {
            return Err(AgeError::Unrecognised);
        }
        let n: f64 = rest[..digits].parse().map_err(|_| AgeError::Unrecognised)?;
        rest = rest[digits..].trim_start_matches([' ', ',']);
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == ' ' || c == ',').unwrap_or(rest.len());
        let unit = unit_days(&rest[..unit_len]).ok_or(AgeError::Unrecognised)?;
        rest = rest[unit_len..].trim_start_matches([' ', ',']);
        // a later part must be a finer unit than the one before it (1y 3m, not 3m 1y)
        if width.is_some_and(|w| unit >= w) {
            return Err(AgeError::Unrecognised);
        }
        days += n * unit;
        // a fractional number of the unit is known to a twelfth of it at best
        width = Some(if n.fract() == 0.0 { unit } else { unit / 12.0 });
    }
    Age::new(days, width.unwrap_or(DAYS_PER_YEAR)).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn year_on(age: &str, on: (i32, u32, u32)) -> i32 {
        let on = NaiveDate::from_ymd_opt(on.0, on.1, on.2).unwrap_or_default();
        parse(age).ok().flatten().map(|a| a.birth_year(on).year).unwrap_or(0)
    }

    #[test]
    fn an_age_in_years_gives_the_year_most_of_its_birth_span_falls_in() {
        // census night 30 March 1851: a 34-year-old was born between 31 March 1816 and 30 March
        // 1817, three quarters of that span in 1816
        assert_eq!(year_on("34", (1851, 3, 30)), 1816);
        // in an autumn census most of the span falls in the later year
        assert_eq!(year_on("34", (1851, 10, 30)), 1817);
        for form in ["34 years", "34 yrs", "34y", "34歳", "３４歳", "34才", "abt 34", "c. 34", "~34", "34+", "Aged 34"]
        {
            assert_eq!(year_on(form, (1851, 3, 30)), 1816, "{form}");
        }
        // every age is approximate: the year either side may be the true one
        let on = NaiveDate::from_ymd_opt(1851, 3, 30).unwrap_or_default();
        assert!(parse("34").ok().flatten().is_some_and(|a| a.birth_year(on).approximate));
    }

    #[test]
    fn infants_in_months_weeks_days_and_census_fractions() {
        let on = (1851, 3, 30);
        for form in ["3 months", "3m", "3mths", "3 mo", "3か月", "3ヶ月", "3/12"] {
            assert_eq!(year_on(form, on), 1850, "{form}");
        }
        for form in ["2 weeks", "2w", "2wks", "2/52", "10 days", "10d", "10日", "10/365", "under 1", "<1", "infant"] {
            // born within the last few weeks, or within the last year (middle: autumn 1850)
            let want = if form.contains("under") || form.contains('<') || form == "infant" { 1850 } else { 1851 };
            assert_eq!(year_on(form, on), want, "{form}");
        }
        assert_eq!(year_on("1y 3m", (1851, 3, 30)), 1849);
        assert_eq!(year_on("1歳3か月", (1851, 3, 30)), 1849);
        assert_eq!(
            from_number(0.25).map(|a| a.birth_year(NaiveDate::from_ymd_opt(1851, 3, 30).unwrap_or_default()).year),
            Ok(1850)
        );
    }

    #[test]
    fn bad_ages_are_errors_that_never_hold_the_value() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("  "), Ok(None));
        for bad in ["old", "34 score", "3m 1y", "3/7", "-4", "x34", "+", ". +"] {
            assert_eq!(parse(bad), Err(AgeError::Unrecognised), "{bad}");
        }
        assert_eq!(parse("150"), Err(AgeError::OutOfRange));
        assert_eq!(from_number(-1.0), Err(AgeError::OutOfRange));
        assert!(!AgeError::Unrecognised.to_string().contains("score"));
    }

    proptest::proptest! {
        /// Any whole age on any day gives a year at most one from the day's year minus the age.
        #[test]
        fn whole_ages_land_within_a_year_of_the_subtraction(age in 0u32..=120, days in 0u64..80_000) {
            let on = NaiveDate::from_ymd_opt(1800, 1, 1).unwrap_or_default() + Days::new(days);
            let y = parse(&age.to_string()).ok().flatten().map(|a| a.birth_year(on).year);
            let want = on.year() - age as i32;
            proptest::prop_assert!(y.is_some_and(|y| y == want || y == want - 1), "{y:?} vs {want}");
        }
    }
}
