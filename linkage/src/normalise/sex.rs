//! Sex codes: 1/2, 男/女, M/F, male/female; anything else (blank, 0, 9, 不明) is unknown.

use super::width;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "1",
            Sex::Female => "2",
        }
    }
}

/// The sex a code stands for; None when blank or unknown. Code-and-label forms that systems
/// export ("1:男", "2（女）") are read by their label.
pub fn parse(s: &str) -> Option<Sex> {
    let folded = width::fold(s).to_lowercase();
    match folded.trim().trim_end_matches('.') {
        "1" | "男" | "男性" | "m" | "male" | "man" | "boy" => return Some(Sex::Male),
        "2" | "女" | "女性" | "f" | "female" | "woman" | "girl" => return Some(Sex::Female),
        _ => {}
    }
    match (folded.contains('男'), folded.contains('女')) {
        (true, false) => Some(Sex::Male),
        (false, true) => Some(Sex::Female),
        _ => None,
    }
}

/// Whether a sex value says it is not known (ISO/IEC 5218: 0 not known, 9 not applicable;
/// 不明, unknown, u, ?, -): blank rather than unreadable.
pub fn is_unknown(s: &str) -> bool {
    // before folding: folding turns a lost-character mark into the wildcard
    if matches!(s.trim(), "?" | "？") {
        return true;
    }
    let folded = width::fold(s).to_lowercase();
    matches!(folded.trim().trim_end_matches('.'), "" | "0" | "9" | "不明" | "unknown" | "u" | "?" | "-" | "n/a")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        for (s, e) in
            [("1", Some(Sex::Male)), ("２", Some(Sex::Female)), ("男", Some(Sex::Male)), ("F", Some(Sex::Female))]
        {
            assert_eq!(parse(s), e, "{s}");
        }
        for s in ["", "0", "9", "不明", "x"] {
            assert_eq!(parse(s), None, "{s}");
        }
        for (s, e) in [("Male", Some(Sex::Male)), (" F. ", Some(Sex::Female)), ("girl", Some(Sex::Female))] {
            assert_eq!(parse(s), e, "{s}");
        }
        assert!(is_unknown("0") && is_unknown("不明") && is_unknown("Unknown") && is_unknown(" "));
        assert!(is_unknown("?") && is_unknown("？") && !is_unknown("男?"));
        assert!(!is_unknown("x") && !is_unknown("M"));
    }
}
