//! Values that stand for "not known" in an identity column: 不明, a dash, a system's dummy
//! birthday (1900-01-01). Read as blank: were they encoded, every record holding one would
//! agree with every other on that field, and a thousand "births" on 1900-01-01 would block and
//! score together as if they were one person.

use std::collections::HashSet;

use chrono::NaiveDate;

use super::{era_date, width};

/// Texts that never name, read, date or place a person (compared after width folding,
/// case-insensitively). Short Latin words that are also surnames ("Na", "None") are left out.
const BUILT_IN_TEXTS: &[&str] = &[
    "不明",
    "不詳",
    "未詳",
    "未入力",
    "未記入",
    "未登録",
    "該当なし",
    "-",
    "--",
    "---",
    "ー",
    "―",
    "*",
    "**",
    "***",
    "n/a",
    "unknown",
    "null",
    "#n/a",
];

/// Dates that registers and spreadsheets write for an unknown birthday: the first day of 1900,
/// the spreadsheet day zero (1899-12-30 and -31) and the last day of 9999.
const BUILT_IN_DATES: &[(i32, u32, u32)] = &[(1900, 1, 1), (1899, 12, 30), (1899, 12, 31), (9999, 12, 31)];

/// The placeholder values of one extract: the built-in ones and those its mapping lists
/// (`[source] unknown`).
#[derive(Clone, Debug)]
pub struct Placeholders {
    texts: HashSet<String>,
    /// Byte length of the longest text, after folding: longer cells are not looked at.
    longest: usize,
    dates: Vec<NaiveDate>,
}

fn key(s: &str) -> String {
    width::fold(s).trim().to_lowercase()
}

impl Placeholders {
    /// The built-in placeholders and `listed` (a listed value that reads as a date is a
    /// placeholder date in every form it may be written).
    pub fn new(listed: &[String]) -> Self {
        let texts: HashSet<String> = BUILT_IN_TEXTS
            .iter()
            .map(|s| key(s))
            .chain(listed.iter().map(|s| key(s)))
            .filter(|s| !s.is_empty())
            .collect();
        let mut dates: Vec<NaiveDate> =
            BUILT_IN_DATES.iter().filter_map(|&(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)).collect();
        dates.extend(listed.iter().filter_map(|s| era_date::parse(s).ok().flatten()));
        let longest = texts.iter().map(String::len).max().unwrap_or(0);
        Placeholders { texts, longest, dates }
    }

    /// Whether the text `s` is a placeholder. Allocates nothing unless `s` holds half- or
    /// full-width forms (ＮＵＬＬ, ｰ), which are folded first.
    pub fn text(&self, s: &str) -> bool {
        let s = s.trim();
        // width folding never lengthens a text more than threefold; a longer cell cannot fold
        // to a placeholder
        if s.len() > 3 * self.longest {
            return false;
        }
        if s.is_ascii() {
            return self.texts.iter().any(|t| t.eq_ignore_ascii_case(s));
        }
        self.texts.contains(s)
            || (s.chars().any(|c| ('\u{FF00}'..='\u{FFEF}').contains(&c)) && self.texts.contains(&key(s)))
    }

    /// Whether `d` is a placeholder date.
    pub fn date(&self, d: NaiveDate) -> bool {
        self.dates.contains(&d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_and_listed_placeholders_in_any_width_or_case() {
        let p = Placeholders::new(&["0000000000".into(), "令和元年5月1日".into()]);
        for s in ["不明", " 不明 ", "－", "ｰ", "＊＊", "N/A", "Unknown", "０００００００００0"] {
            assert!(p.text(s), "{s}");
        }
        for s in ["不明子", "Na", "None", "高橋", "000000000", "0000000001", "?"] {
            assert!(!p.text(s), "{s}");
        }
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default();
        assert!(p.date(d(1900, 1, 1)) && p.date(d(2019, 5, 1)) && p.date(d(9999, 12, 31)));
        assert!(!p.date(d(1900, 1, 2)) && !p.date(d(2019, 5, 2)));
    }
}
