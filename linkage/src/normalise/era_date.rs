//! Dates as Japanese extracts write them: ISO and Y/M/D with any separator, 和暦 (era_date) in
//! every common form (令和3年4月5日, 令和元年, R3.4.5, H28/04/01, H280401, 4280401, 平28.4.1),
//! 2016年4月1日, 20160401, and Excel serial numbers. Birth dates may also be partial, as
//! historical and foreign records write them ([`parse_partial`]): a year alone (1851, abt 1850,
//! 平成28年), a year and month (1848-03, March 1848), English month names (12 Mar 1848), and
//! day-first or month-first numeric dates (3/4/1849, by [`DayOrder`]).

use chrono::{Datelike, Days, NaiveDate};

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

/// A birth date as far as the source gives it: the year always, the month and the day when they
/// are written and unambiguous.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartialDate {
    pub year: i32,
    pub month: Option<u32>,
    pub day: Option<u32>,
    /// The year is an estimate (abt 1850, or derived from an age): the true year may be one
    /// either side.
    pub approximate: bool,
}

impl PartialDate {
    /// A whole calendar day.
    pub fn full(d: NaiveDate) -> Self {
        PartialDate { year: d.year(), month: Some(d.month()), day: Some(d.day()), approximate: false }
    }

    /// A year alone.
    pub fn year(year: i32) -> Self {
        PartialDate { year, month: None, day: None, approximate: false }
    }

    /// A year that is an estimate: the true year may be one either side.
    pub fn about(year: i32) -> Self {
        PartialDate { approximate: true, ..PartialDate::year(year) }
    }

    /// The calendar day, when year, month and day are all known.
    pub fn date(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month?, self.day?)
    }
}

/// Order of day and month in numeric dates that end with the year (3/4/1849): day first as in
/// Britain, month first as in the United States, or `auto`: the order is taken only when one of
/// the two is above 12 (or both are equal), and otherwise only the year is kept.
#[derive(Clone, Copy, Debug, Default, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DayOrder {
    #[default]
    Auto,
    Dmy,
    Mdy,
}

/// Years a lone four-digit number is read as (a text "1851" is a year, not Excel's day 1851).
const YEARS: std::ops::RangeInclusive<u32> = 1800..=2100;

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

/// The date before a time of day, if any (exports of date cells as text: "2016-04-01
/// 00:00:00", "2016-04-01T00:00").
fn without_time(folded: &str) -> &str {
    match folded.rfind([' ', 'T', 't']) {
        Some(i) if folded[i + 1..].contains(':') => &folded[..i],
        _ => folded,
    }
}

/// Parses a date; blank input is `Ok(None)`.
pub fn parse(s: &str) -> Result<Option<NaiveDate>, DateError> {
    let folded = width::fold(s);
    // spaces inside the date ("平成28年 4月 1日") are not kept
    let t: String = without_time(&folded).chars().filter(|c| *c != ' ').collect();
    if t.is_empty() {
        return Ok(None);
    }
    parse_folded(&t).map(Some)
}

/// Parses a birth date that may be partial; blank input is `Ok(None)`. Every form [`parse`]
/// reads gives the full date; besides, a lone year (1851; also read from a number cell), an
/// approximate year (abt 1850, c. 1850, circa 1850: the year only), a year and month (1848-03,
/// 3/1848, March 1848, 平成28年4月), English month names (12 Mar 1848, March 12, 1848,
/// 12th of March 1848) and numeric dates ending with the year (3/4/1849, by `order`).
pub fn parse_partial(s: &str, order: DayOrder) -> Result<Option<PartialDate>, DateError> {
    let folded = width::lower(width::fold(s));
    let t = without_time(&folded).trim();
    if t.is_empty() {
        return Ok(None);
    }
    // an approximate year: only the year is kept
    for prefix in ["about", "abt", "approx", "circa", "ca", "c", "~"] {
        if let Some(rest) = t.strip_prefix(prefix) {
            let rest = rest.trim_start_matches(['.', ' ']);
            if rest.starts_with(|c: char| c.is_ascii_digit() || c.is_alphabetic())
                && let Ok(Some(p)) = parse_partial(rest, order)
            {
                return Ok(Some(PartialDate::about(p.year)));
            }
        }
    }
    let compact: String = t.chars().filter(|c| *c != ' ').collect();
    if compact.len() == 4
        && compact.bytes().all(|b| b.is_ascii_digit())
        && let Ok(y) = compact.parse::<u32>()
        && YEARS.contains(&y)
    {
        return Ok(Some(PartialDate::year(y as i32)));
    }
    let first_error = match parse_folded(&compact) {
        Ok(d) => return Ok(Some(PartialDate::full(d))),
        Err(e) => e,
    };
    if let Some(p) = era_partial(&compact) {
        return p.map(Some);
    }
    match western_partial(t, order) {
        Some(r) => r.map(Some),
        None => Err(first_error),
    }
}

/// A year alone from a number cell (1851), or Excel's serial day otherwise.
pub fn from_number(n: f64) -> Result<PartialDate, DateError> {
    if n >= 0.0 && n.fract() == 0.0 && YEARS.contains(&(n as u32)) {
        return Ok(PartialDate::year(n as i32));
    }
    from_excel_serial(n).map(PartialDate::full)
}

/// 平成28年, 平成28年4月, H28.4: an era year with no day.
fn era_partial(t: &str) -> Option<Result<PartialDate, DateError>> {
    let (_, start, rest) = ERAS.iter().find_map(|(kanji, letter, short, _, start)| {
        let first = t.chars().next()?;
        let rest = t
            .strip_prefix(kanji)
            .or_else(|| (first.to_ascii_uppercase() == *letter || first == *short).then(|| &t[first.len_utf8()..]))?;
        Some((kanji, *start, rest))
    })?;
    let rest = rest.trim_start_matches(['.', '/', '-']);
    let (era_year, rest) = match rest.strip_prefix('元') {
        Some(r) => (1, r),
        None => {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (digits.parse::<u32>().ok()?, &rest[digits.len()..])
        }
    };
    // only 年 / 月 and separators may remain: anything else is not a partial era date
    if rest.chars().any(|c| !(c.is_ascii_digit() || matches!(c, '年' | '月' | '.' | '/' | '-' | '生'))) {
        return None;
    }
    let parts = numbers(rest);
    if era_year == 0 {
        return Some(Err(DateError::Impossible));
    }
    let year = start + era_year as i32 - 1;
    match parts.as_slice() {
        [] => Some(Ok(PartialDate::year(year))),
        [m] if (1..=12).contains(m) => Some(Ok(PartialDate { month: Some(*m), ..PartialDate::year(year) })),
        [_] => Some(Err(DateError::Impossible)),
        _ => None,
    }
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// An English month name or its abbreviation (jan, january, sept).
fn month_name(w: &str) -> Option<u32> {
    if w.len() < 3 {
        return None;
    }
    let full = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let i = MONTHS.iter().position(|m| w.starts_with(m))?;
    (full[i].starts_with(w) || w == "sept").then_some(i as u32 + 1)
}

/// Dates written with the year last or with a month name: 12 Mar 1848, March 12, 1848,
/// 3/4/1849, 3/1848, 1848-03. None when the text is not of these forms.
fn western_partial(t: &str, order: DayOrder) -> Option<Result<PartialDate, DateError>> {
    let mut nums: Vec<(u32, usize)> = Vec::new();
    let mut month = None;
    let mut word = String::new();
    let mut digits = String::new();
    let flush_word = |word: &mut String, month: &mut Option<u32>| -> Option<()> {
        if !word.is_empty() {
            match (word.as_str(), month_name(word)) {
                ("st" | "nd" | "rd" | "th" | "of", _) => {}
                (_, Some(m)) if month.is_none() => *month = Some(m),
                _ => return None,
            }
            word.clear();
        }
        Some(())
    };
    for c in t.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            flush_word(&mut word, &mut month)?;
            digits.push(c);
            continue;
        }
        if !digits.is_empty() {
            nums.push((digits.parse().ok()?, digits.len()));
            digits.clear();
        }
        if c.is_alphabetic() {
            word.push(c);
        } else {
            flush_word(&mut word, &mut month)?;
            if !matches!(c, ' ' | '/' | '-' | '.' | ',') {
                return None;
            }
        }
    }
    let is_year = |(n, len): (u32, usize)| len == 4 && n >= 1000;
    let full =
        |year: u32, m: u32, d: u32| -> Result<PartialDate, DateError> { ymd(year as i32, m, d).map(PartialDate::full) };
    let year_month = |year: u32, m: u32| -> Result<PartialDate, DateError> {
        if (1..=12).contains(&m) {
            Ok(PartialDate { month: Some(m), ..PartialDate::year(year as i32) })
        } else {
            Err(DateError::Impossible)
        }
    };
    Some(match (month, nums.as_slice()) {
        // 12 Mar 1848, Mar 12 1848, 1848 Mar 12
        (Some(m), [a, b]) if is_year(*b) && !is_year(*a) => full(b.0, m, a.0),
        (Some(m), [a, b]) if is_year(*a) && !is_year(*b) => full(a.0, m, b.0),
        // March 1848
        (Some(m), [y]) if is_year(*y) => year_month(y.0, m),
        // 3/4/1849
        (None, [a, b, y]) if is_year(*y) && !is_year(*a) && !is_year(*b) => {
            let (a, b) = (a.0, b.0);
            match order {
                DayOrder::Dmy => full(y.0, b, a),
                DayOrder::Mdy => full(y.0, a, b),
                DayOrder::Auto if a == b || b > 12 => full(y.0, a, b),
                DayOrder::Auto if a > 12 => full(y.0, b, a),
                // day and month cannot be told apart: the year is still known
                DayOrder::Auto => Ok(PartialDate::year(y.0 as i32)),
            }
        }
        // 3/1848, 1848-03
        (None, [m, y]) if is_year(*y) && !is_year(*m) => year_month(y.0, m.0),
        (None, [y, m]) if is_year(*y) && !is_year(*m) => year_month(y.0, m.0),
        _ => return None,
    })
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

    fn p(year: i32, month: Option<u32>, day: Option<u32>) -> Option<PartialDate> {
        Some(PartialDate { year, month, day, approximate: false })
    }

    #[test]
    fn partial_and_western_birth_dates() {
        let auto = DayOrder::Auto;
        let cases = [
            // every full form still reads as the full date
            ("平成28年4月1日", p(2016, Some(4), Some(1))),
            ("42461", p(2016, Some(4), Some(1))),
            ("19560409", p(1956, Some(4), Some(9))),
            // a lone year is a year, not Excel's day 1851
            ("1851", p(1851, None, None)),
            ("abt 1850", Some(PartialDate::about(1850))),
            ("c. 1850", Some(PartialDate::about(1850))),
            ("Circa 1850", Some(PartialDate::about(1850))),
            ("~1850", Some(PartialDate::about(1850))),
            ("abt Mar 1850", Some(PartialDate::about(1850))),
            ("1848-03", p(1848, Some(3), None)),
            ("3/1848", p(1848, Some(3), None)),
            ("March 1848", p(1848, Some(3), None)),
            ("平成28年", p(2016, None, None)),
            ("平成28年4月", p(2016, Some(4), None)),
            ("12 Mar 1848", p(1848, Some(3), Some(12))),
            ("12-MAR-1848", p(1848, Some(3), Some(12))),
            ("March 12, 1848", p(1848, Some(3), Some(12))),
            ("12th of March 1848", p(1848, Some(3), Some(12))),
            ("Sept 3 1901", p(1901, Some(9), Some(3))),
            ("1848 Mar 12", p(1848, Some(3), Some(12))),
            // day and month told apart only when evident
            ("25/4/1849", p(1849, Some(4), Some(25))),
            ("4/25/1849", p(1849, Some(4), Some(25))),
            ("3/3/1849", p(1849, Some(3), Some(3))),
            ("3/4/1849", p(1849, None, None)),
            ("", None),
        ];
        for (s, e) in cases {
            assert_eq!(parse_partial(s, auto), Ok(e), "{s}");
        }
        assert_eq!(parse_partial("3/4/1849", DayOrder::Dmy), Ok(p(1849, Some(4), Some(3))));
        assert_eq!(parse_partial("3/4/1849", DayOrder::Mdy), Ok(p(1849, Some(3), Some(4))));
        assert_eq!(p(1849, Some(4), Some(3)).and_then(|d| d.date()), d(1849, 4, 3));
        assert_eq!(p(1849, None, None).and_then(|d| d.date()), None);
        assert_eq!(from_number(1851.0), Ok(PartialDate::year(1851)));
        assert_eq!(from_number(42461.0).map(|p| p.date()), Ok(d(2016, 4, 1)));
    }

    #[test]
    fn partial_dates_that_are_not_dates_are_errors() {
        let auto = DayOrder::Auto;
        assert_eq!(parse_partial("1850-13-40", auto), Err(DateError::Impossible));
        assert_eq!(parse_partial("30 Feb 1850", auto), Err(DateError::Impossible));
        assert_eq!(parse_partial("13/1848", auto), Err(DateError::Impossible));
        assert_eq!(parse_partial("14/13/1849", auto), Err(DateError::Impossible));
        assert_eq!(parse_partial("平成28年13月", auto), Err(DateError::Impossible));
        assert_eq!(parse_partial("unknown", auto), Err(DateError::Unrecognised));
        assert_eq!(parse_partial("before 1850", auto), Err(DateError::Unrecognised));
        assert_eq!(parse_partial("Smarch 12 1848", auto), Err(DateError::Unrecognised));
        assert_eq!(parse_partial("12 Mar", auto), Err(DateError::Unrecognised));
        assert_eq!(parse_partial("160401", auto), Err(DateError::Unrecognised));
    }

    /// Every date `parse` reads, `parse_partial` reads the same, whole.
    #[test]
    fn partial_parse_agrees_with_the_full_parse() {
        let mut day = NaiveDate::from_ymd_opt(1900, 1, 1);
        while let Some(x) = day.filter(|x| x.year() < 2030) {
            for s in
                [x.format("%Y-%m-%d").to_string(), x.format("%Y/%-m/%-d").to_string(), x.format("%Y%m%d").to_string()]
            {
                assert_eq!(parse_partial(&s, DayOrder::Auto).map(|p| p.and_then(|p| p.date())), Ok(Some(x)), "{s}");
            }
            day = x.checked_add_days(Days::new(37));
        }
    }
}
