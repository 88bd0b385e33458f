//! Dates as Japanese extracts write them: ISO and Y/M/D with any separator, 和暦 (era_date) in
//! every common form (令和3年4月5日, 令和元年, R3.4.5, H28/04/01, H280401, 4280401, 平28.4.1),
//! 2016年4月1日, 20160401, and Excel serial numbers.

use chrono::{Days, NaiveDate};

use super::width;

/// Why a value is not a date; never holds the value itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("not a date in a known form (expected e.g. 2016-04-01, 2016/4/1, 平成28年4月1日, H28.4.1, H280401)")]
    Unrecognised,
    #[error("a date in a known form but not a day of the calendar")]
    Impossible,
}

/// (kanji, letter, legacy code, start year) of each era.
const ERAS: [(&str, char, char, char, i32); 5] = [
    ("令和", 'R', '令', '5', 2019),
    ("平成", 'H', '平', '4', 1989),
    ("昭和", 'S', '昭', '3', 1926),
    ("大正", 'T', '大', '2', 1912),
    ("明治", 'M', '明', '1', 1868),
];

fn ymd(y: i32, m: u32, d: u32) -> Result<NaiveDate, DateError> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or(DateError::Impossible)
}

/// Splits into runs of ASCII digits, keeping everything else as separators.
fn numbers(s: &str) -> Vec<u32> {
    s.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).filter_map(|p| p.parse().ok()).collect()
}

/// Excel's day 0 is 1899-12-30 (so that its 1900 leap-year bug needs no correction after
/// February 1900).
pub fn from_excel_serial(serial: f64) -> Result<NaiveDate, DateError> {
    if !(1.0..=2_958_465.0).contains(&serial) {
        return Err(DateError::Impossible);
    }
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).ok_or(DateError::Impossible)?;
    epoch.checked_add_days(Days::new(serial.floor() as u64)).ok_or(DateError::Impossible)
}

/// Parses a date; blank input is `Ok(None)`.
pub fn parse(s: &str) -> Result<Option<NaiveDate>, DateError> {
    let folded = width::fold(s);
    // a time of day after the date (exports of date cells as text: "2016-04-01 00:00:00",
    // "2016-04-01T00:00") is dropped; spaces inside the date ("平成28年 4月 1日") are not kept
    let date_part = match folded.rfind([' ', 'T']) {
        Some(i) if folded[i + 1..].contains(':') => &folded[..i],
        _ => folded.as_str(),
    };
    let t: String = date_part.chars().filter(|c| *c != ' ').collect();
    if t.is_empty() {
        return Ok(None);
    }
    parse_folded(&t).map(Some)
}

fn parse_folded(t: &str) -> Result<NaiveDate, DateError> {
    let first = t.chars().next().ok_or(DateError::Unrecognised)?;
    // 和暦: era name, letter, one-kanji abbreviation, or legacy code + 6 digits
    for (kanji, letter, short, code, start) in ERAS {
        let rest = if let Some(r) = t.strip_prefix(kanji) {
            Some(r)
        } else if first.to_ascii_uppercase() == letter || first == short {
            Some(&t[first.len_utf8()..])
        } else if first == code && t.len() == 7 && t.bytes().all(|b| b.is_ascii_digit()) {
            Some(&t[1..])
        } else {
            None
        };
        let Some(rest) = rest else { continue };
        // "H.28.4.1", "H 28/4/1": a separator right after the era letter
        let rest = rest.trim_start().trim_start_matches(['.', '/', '-', ' ']);
        let (era_year, rest) = match rest.strip_prefix('元') {
            Some(r) => (1, r),
            None => {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let all_digits = digits.len() == rest.len();
                if all_digits && digits.len() == 6 {
                    // compact YYMMDD
                    let n = |i: usize| digits[i..i + 2].parse::<u32>().map_err(|_| DateError::Unrecognised);
                    let (ey, m, d) = (n(0)?, n(2)?, n(4)?);
                    if ey == 0 {
                        return Err(DateError::Impossible);
                    }
                    return ymd(start + ey as i32 - 1, m, d);
                }
                let ey: u32 = digits.parse().map_err(|_| DateError::Unrecognised)?;
                (ey, &rest[digits.len()..])
            }
        };
        let parts = numbers(rest);
        if era_year == 0 || parts.len() != 2 {
            return Err(if era_year == 0 { DateError::Impossible } else { DateError::Unrecognised });
        }
        return ymd(start + era_year as i32 - 1, parts[0], parts[1]);
    }
    if !first.is_ascii_digit() {
        return Err(DateError::Unrecognised);
    }
    let parts = numbers(t);
    let only_digits = t.bytes().all(|b| b.is_ascii_digit());
    match (parts.as_slice(), only_digits) {
        ([n], true) if t.len() == 8 => ymd((n / 10_000) as i32, n / 100 % 100, n % 100),
        // an Excel serial written as text (1–5 digits, or with a fraction)
        ([n], true) if t.len() <= 5 => from_excel_serial(f64::from(*n)),
        ([n, _frac], false) if t.contains('.') && t.len() <= 12 && t.split('.').count() == 2 => {
            from_excel_serial(f64::from(*n))
        }
        ([y, m, d], false) if *y >= 1000 => ymd(*y as i32, *m, *d),
        _ => Err(DateError::Unrecognised),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, dd)
    }

    #[test]
    fn every_common_form() {
        let cases = [
            ("2016-04-01", d(2016, 4, 1)),
            ("2016/4/1", d(2016, 4, 1)),
            ("2016.04.01", d(2016, 4, 1)),
            ("2016年4月1日", d(2016, 4, 1)),
            ("20160401", d(2016, 4, 1)),
            ("２０１６／０４／０１", d(2016, 4, 1)),
            ("平成28年4月1日", d(2016, 4, 1)),
            ("平成28年04月01日", d(2016, 4, 1)),
            ("H28.4.1", d(2016, 4, 1)),
            ("h28/04/01", d(2016, 4, 1)),
            ("H280401", d(2016, 4, 1)),
            ("4280401", d(2016, 4, 1)),
            ("平28.4.1", d(2016, 4, 1)),
            ("令和元年5月1日", d(2019, 5, 1)),
            ("H.28.4.1", d(2016, 4, 1)),
            ("平成２８年　４月　１日", d(2016, 4, 1)),
            ("平成28年4月1日生", d(2016, 4, 1)),
            ("令和元.5.1", d(2019, 5, 1)),
            ("R3.4.5", d(2021, 4, 5)),
            ("S64.1.7", d(1989, 1, 7)),
            ("昭和55年12月31日", d(1980, 12, 31)),
            ("2016-04-01 00:00:00", d(2016, 4, 1)),
            ("2016-04-01T00:00", d(2016, 4, 1)),
            ("2016/4/1 0:00", d(2016, 4, 1)),
            ("42461", d(2016, 4, 1)),
            ("", None),
        ];
        for (s, e) in cases {
            assert_eq!(parse(s), Ok(e), "{s}");
        }
    }

    #[test]
    fn impossible_and_unknown_forms_are_errors() {
        assert_eq!(parse("2016-02-30"), Err(DateError::Impossible));
        assert_eq!(parse("H28.13.1"), Err(DateError::Impossible));
        assert_eq!(parse("R0.4.1"), Err(DateError::Impossible));
        assert_eq!(parse("April 1"), Err(DateError::Unrecognised));
        assert_eq!(parse("160401"), Err(DateError::Unrecognised));
        // the message never holds the value
        assert!(!DateError::Impossible.to_string().contains("2016-02-30"));
    }
}
