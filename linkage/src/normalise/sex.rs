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
    match folded.as_str() {
        "1" | "男" | "男性" | "m" | "male" => return Some(Sex::Male),
        "2" | "女" | "女性" | "f" | "female" => return Some(Sex::Female),
        _ => {}
    }
    match (folded.contains('男'), folded.contains('女')) {
        (true, false) => Some(Sex::Male),
        (false, true) => Some(Sex::Female),
        _ => None,
    }
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
    }
}
