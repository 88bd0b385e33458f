//! Addresses as departments write them: 1丁目2番3号, 1-2-3, 一丁目2番地3, with or without the
//! city, with or without the building (方書), and full-width digits.

use rand::Rng;

/// A structured address inside the municipality.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub town: &'static str,
    /// 丁目; 0 for towns without 丁目.
    pub chome: u32,
    pub ban: u32,
    pub go: u32,
    /// Building and room (方書), e.g. "コーポ桜 101".
    pub building: Option<String>,
}

/// How a department writes the street part of an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressForm {
    /// 桜台2丁目14番3号
    Banchi,
    /// 桜台2-14-3
    Hyphen,
    /// 桜台二丁目14番地3
    KanjiChome,
    /// 桜台2丁目14-3
    Mixed,
}

impl AddressForm {
    pub const ALL: [AddressForm; 4] =
        [AddressForm::Banchi, AddressForm::Hyphen, AddressForm::KanjiChome, AddressForm::Mixed];

    pub fn other<R: Rng>(self, rng: &mut R) -> AddressForm {
        loop {
            let f = AddressForm::ALL[rng.random_range(0..AddressForm::ALL.len())];
            if f != self {
                return f;
            }
        }
    }
}

const KANJI_DIGITS: [&str; 10] = ["〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

fn kanji_number(n: u32) -> String {
    match n {
        0..=9 => KANJI_DIGITS[n as usize].to_string(),
        10 => "十".to_string(),
        11..=19 => format!("十{}", KANJI_DIGITS[(n - 10) as usize]),
        _ => n.to_string(),
    }
}

/// Writes the street part (town onward) of `a` in `form`, without the building.
pub fn street(a: &Address, form: AddressForm) -> String {
    let t = a.town;
    match (form, a.chome) {
        (AddressForm::Banchi, 0) => format!("{t}{}番地{}", a.ban, a.go),
        (AddressForm::Banchi, c) => format!("{t}{c}丁目{}番{}号", a.ban, a.go),
        (AddressForm::Hyphen, 0) => format!("{t}{}-{}", a.ban, a.go),
        (AddressForm::Hyphen, c) => format!("{t}{c}-{}-{}", a.ban, a.go),
        (AddressForm::KanjiChome, 0) => format!("{t}{}番地の{}", a.ban, a.go),
        (AddressForm::KanjiChome, c) => format!("{t}{}丁目{}番地{}", kanji_number(c), a.ban, a.go),
        (AddressForm::Mixed, 0) => format!("{t}{}番{}", a.ban, a.go),
        (AddressForm::Mixed, c) => format!("{t}{c}丁目{}-{}", a.ban, a.go),
    }
}

/// ASCII digits and hyphens to full width (１２３, －), as hand-keyed records have them.
pub fn fullwidth_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c),
            '-' => '－',
            '/' => '／',
            '.' => '．',
            _ => c,
        })
        .collect()
}

/// Whether `s` has an ASCII digit to widen.
pub fn has_digit(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let a = Address { town: "桜台", chome: 2, ban: 14, go: 3, building: None };
        assert_eq!(street(&a, AddressForm::Banchi), "桜台2丁目14番3号");
        assert_eq!(street(&a, AddressForm::Hyphen), "桜台2-14-3");
        assert_eq!(street(&a, AddressForm::KanjiChome), "桜台二丁目14番地3");
        assert_eq!(fullwidth_digits("2-14-3"), "２－１４－３");
    }
}
