//! Dates as Japanese systems write them: 和暦 (era_date) in its common forms and Western forms.
//!
//! Every form here is one that real municipal exports use; the normaliser in `linkage` must read
//! all of them back to the same day.

use chrono::{Datelike, NaiveDate};
use rand::Rng;

/// How a department writes a date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateForm {
    /// 令和3年4月5日 (元年 for the first year of an era)
    EraKanji,
    /// 平成28年04月01日
    EraKanjiPadded,
    /// R3.4.5
    EraLetterDots,
    /// H28/04/01
    EraLetterSlashPadded,
    /// H280401
    EraLetterCompact,
    /// 4280401: legacy numeric era code (1 明治 … 4 平成, 5 令和) + YYMMDD
    EraCodeCompact,
    /// 2016/4/1
    WesternSlash,
    /// 2016-04-01
    Iso,
    /// 20160401
    WesternCompact,
    /// 2016年4月1日
    WesternKanji,
}

impl DateForm {
    /// All forms, for drawing a variant.
    pub const ALL: [DateForm; 10] = [
        DateForm::EraKanji,
        DateForm::EraKanjiPadded,
        DateForm::EraLetterDots,
        DateForm::EraLetterSlashPadded,
        DateForm::EraLetterCompact,
        DateForm::EraCodeCompact,
        DateForm::WesternSlash,
        DateForm::Iso,
        DateForm::WesternCompact,
        DateForm::WesternKanji,
    ];

    /// A form other than `self`, uniformly.
    pub fn other<R: Rng>(self, rng: &mut R) -> DateForm {
        loop {
            let f = DateForm::ALL[rng.random_range(0..DateForm::ALL.len())];
            if f != self {
                return f;
            }
        }
    }
}

struct Era {
    kanji: &'static str,
    letter: char,
    code: u8,
    start: (i32, u32, u32),
}

/// Era start dates (改元日).
const ERAS: [Era; 5] = [
    Era { kanji: "令和", letter: 'R', code: 5, start: (2019, 5, 1) },
    Era { kanji: "平成", letter: 'H', code: 4, start: (1989, 1, 8) },
    Era { kanji: "昭和", letter: 'S', code: 3, start: (1926, 12, 25) },
    Era { kanji: "大正", letter: 'T', code: 2, start: (1912, 7, 30) },
    Era { kanji: "明治", letter: 'M', code: 1, start: (1868, 1, 25) },
];

fn era_of(d: NaiveDate) -> (&'static Era, i32) {
    for era in &ERAS {
        let (y, m, dd) = era.start;
        if (d.year(), d.month(), d.day()) >= (y, m, dd) {
            return (era, d.year() - y + 1);
        }
    }
    // Dates before 明治 do not occur in the generator; fall back to the oldest era.
    let era = &ERAS[ERAS.len() - 1];
    (era, d.year() - era.start.0 + 1)
}

/// Writes `d` in `form`.
pub fn format(d: NaiveDate, form: DateForm) -> String {
    let (era, ey) = era_of(d);
    let (y, m, dd) = (d.year(), d.month(), d.day());
    let year_kanji = if ey == 1 { "元".to_string() } else { ey.to_string() };
    match form {
        DateForm::EraKanji => format!("{}{}年{}月{}日", era.kanji, year_kanji, m, dd),
        DateForm::EraKanjiPadded => format!("{}{}年{:02}月{:02}日", era.kanji, year_kanji, m, dd),
        DateForm::EraLetterDots => format!("{}{}.{}.{}", era.letter, ey, m, dd),
        DateForm::EraLetterSlashPadded => format!("{}{:02}/{:02}/{:02}", era.letter, ey, m, dd),
        DateForm::EraLetterCompact => format!("{}{:02}{:02}{:02}", era.letter, ey, m, dd),
        DateForm::EraCodeCompact => format!("{}{:02}{:02}{:02}", era.code, ey, m, dd),
        DateForm::WesternSlash => format!("{y}/{m}/{dd}"),
        DateForm::Iso => format!("{y}-{m:02}-{dd:02}"),
        DateForm::WesternCompact => format!("{y}{m:02}{dd:02}"),
        DateForm::WesternKanji => format!("{y}年{m}月{dd}日"),
    }
}

/// A plausible data-entry error: one component off by one, or day and month transposed.
pub fn typo<R: Rng>(d: NaiveDate, rng: &mut R) -> NaiveDate {
    let candidates = [
        d.with_day(d.day() % 28 + 1),
        d.with_month(d.month() % 12 + 1),
        d.with_year(d.year() + if rng.random_bool(0.5) { 1 } else { -1 }),
        if d.day() <= 12 && d.day() != d.month() {
            NaiveDate::from_ymd_opt(d.year(), d.day(), d.month())
        } else {
            None
        },
    ];
    let start = rng.random_range(0..candidates.len());
    (0..candidates.len()).filter_map(|i| candidates[(start + i) % candidates.len()]).find(|c| *c != d).unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default()
    }

    #[test]
    fn era_forms_follow_the_era_boundaries() {
        assert_eq!(format(d(2021, 4, 5), DateForm::EraKanji), "令和3年4月5日");
        assert_eq!(format(d(2019, 5, 1), DateForm::EraKanji), "令和元年5月1日");
        assert_eq!(format(d(2019, 4, 30), DateForm::EraKanji), "平成31年4月30日");
        assert_eq!(format(d(2016, 4, 1), DateForm::EraLetterCompact), "H280401");
        assert_eq!(format(d(2016, 4, 1), DateForm::EraCodeCompact), "4280401");
        assert_eq!(format(d(2021, 4, 5), DateForm::EraLetterDots), "R3.4.5");
        assert_eq!(format(d(1989, 1, 7), DateForm::EraLetterDots), "S64.1.7");
        assert_eq!(format(d(1989, 1, 8), DateForm::EraKanjiPadded), "平成元年01月08日");
    }
}
