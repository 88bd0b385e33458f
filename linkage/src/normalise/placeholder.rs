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
    built_in: HashSet<String>,
    listed: HashSet<String>,
    /// Byte length of the longest text, after folding: longer cells are not looked at.
    longest: usize,
    /// Byte length of the longest ASCII text: a longer ASCII cell is no placeholder.
    longest_ascii: usize,
    dates: Vec<NaiveDate>,
}

fn key(s: &str) -> String {
    width::fold(s).trim().to_lowercase()
}

/// Whether a listed value may be meant as a date (then read as one if it can be): anything but
/// a number of other than eight digits. A short number ("9999", a dummy id) is no date, though
/// it reads as a spreadsheet's serial day.
fn looks_like_a_date(s: &str) -> bool {
    let s = width::fold(s);
    !s.chars().all(|c| c.is_ascii_digit()) || s.len() == 8
}

impl Placeholders {
    /// The built-in placeholders and `listed` (a listed value written as a date is a
    /// placeholder date in every form it may be written).
    pub fn new(listed: &[String]) -> Self {
        let keys = |v: &mut dyn Iterator<Item = String>| v.filter(|s| !s.is_empty()).collect::<HashSet<String>>();
        let built_in = keys(&mut BUILT_IN_TEXTS.iter().map(|s| key(s)));
        let listed_texts = keys(&mut listed.iter().map(|s| key(s)));
        let mut dates: Vec<NaiveDate> =
            BUILT_IN_DATES.iter().filter_map(|&(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)).collect();
        dates.extend(listed.iter().filter(|s| looks_like_a_date(s)).filter_map(|s| era_date::parse(s).ok().flatten()));
        let longest = built_in.iter().chain(&listed_texts).map(String::len).max().unwrap_or(0);
        let longest_ascii =
            built_in.iter().chain(&listed_texts).filter(|t| t.is_ascii()).map(String::len).max().unwrap_or(0);
        Placeholders { built_in, listed: listed_texts, longest, longest_ascii, dates }
    }

    /// Whether the text `s` is a placeholder, built-in or listed. Allocates nothing unless `s`
    /// holds half- or full-width forms (ＮＵＬＬ, ｰ), which are folded first.
    pub fn text(&self, s: &str) -> bool {
        self.matches(s, true)
    }

    /// Whether `s` is a built-in placeholder: for a column of codes and numbers (sex, age), where
    /// a listed dummy ("0", "1") may be a real value.
    pub fn built_in_text(&self, s: &str) -> bool {
        self.matches(s, false)
    }

    fn matches(&self, s: &str, listed: bool) -> bool {
        let s = s.trim();
        // width folding never lengthens a text more than threefold; a longer cell cannot fold
        // to a placeholder
        if s.len() > 3 * self.longest {
            return false;
        }
        let sets: &[&HashSet<String>] = if listed { &[&self.built_in, &self.listed] } else { &[&self.built_in] };
        if s.is_ascii() {
            // only an ASCII text of the same length equals it, ignoring case
            if s.len() > self.longest_ascii {
                return false;
            }
            return sets.iter().any(|set| set.iter().any(|t| t.eq_ignore_ascii_case(s)));
        }
        if sets.iter().any(|set| set.contains(s)) {
            return true;
        }
        if !s.chars().any(|c| ('\u{FF00}'..='\u{FFEF}').contains(&c)) {
            return false;
        }
        let folded = key(s);
        sets.iter().any(|set| set.contains(&folded))
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
        // a listed code is no date, though "9999" reads as a spreadsheet's day of 1927
        let codes = Placeholders::new(&["9999".into(), "0".into(), "20000101".into()]);
        assert!(!codes.date(d(1927, 5, 18)) && codes.date(d(2000, 1, 1)));
        // and not a placeholder where a code or a number is a value (an infant's age 0)
        assert!(codes.text("0") && !codes.built_in_text("0") && codes.built_in_text("不明"));
    }
}
