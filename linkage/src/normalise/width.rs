//! Unicode compatibility folding (NFKC) as Japanese data needs it: full-width ASCII and
//! half-width katakana to their standard widths, spacing voiced marks joined to their kana, and
//! lost characters turned into the wildcard.

use unicode_normalization::UnicodeNormalization;

use super::WILDCARD;

/// Whether `s` holds a character that stands for one lost on the way; the same test as
/// `has_wildcard(&fold(s))` without folding.
pub fn has_lost(s: &str) -> bool {
    s.chars().any(is_lost)
}

/// Characters that stand for a character lost on the way (CP932 `?`, the geta mark 〓,
/// U+FFFD from a decoder).
fn is_lost(c: char) -> bool {
    matches!(c, '?' | '？' | '〓' | '\u{FFFD}')
}

/// NFKC, with the spacing marks ゛ ゜ (U+309B/C) and half-width ﾞ ﾟ joined to the preceding
/// kana instead of becoming a space plus a combining mark, lost characters as [`WILDCARD`], and
/// runs of white space (any width) as one ASCII space, trimmed.
pub fn fold(s: &str) -> String {
    // printable ASCII without '?', kana and kanji are already NFKC (the common case)
    if s.chars().all(plain) {
        return s.to_string();
    }
    // most Japanese text is already NFKC with no marks, lost characters or odd spaces
    if unicode_normalization::is_nfkc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes
        && !s.chars().any(|c| matches!(c, '゛' | '゜' | 'ﾞ' | 'ﾟ') || is_lost(c) || c.is_whitespace())
    {
        return s.to_string();
    }
    let joined: String = s
        .chars()
        .map(|c| match c {
            '゛' | 'ﾞ' => '\u{3099}',
            '゜' | 'ﾟ' => '\u{309A}',
            c if is_lost(c) => WILDCARD,
            c => c,
        })
        .collect();
    let mut out = String::with_capacity(joined.len());
    let mut space = false;
    for c in joined.nfkc() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(if is_lost(c) { WILDCARD } else { c });
    }
    out
}

/// Characters that [`fold`] leaves as they are wherever they stand: NFKC keeps them (quick check
/// Yes), they compose with nothing before them (canonical combining class 0), and they are no
/// white space, spacing voiced mark or lost character. Printable ASCII but `?`, 々〆〇, hiragana,
/// katakana (but ヿ) and the CJK unified ideographs, tested by range instead of the Unicode
/// tables; a test checks every one of them against those tables.
fn plain(c: char) -> bool {
    matches!(c as u32, 0x21..=0x3E | 0x40..=0x7E | 0x3005..=0x3007 | 0x3041..=0x3096 | 0x30A1..=0x30FE | 0x4E00..=0x9FFF)
}

/// `s` lower-cased (`str::to_lowercase`), returned as it is when it holds no letter with case:
/// ASCII but capitals, and the kana, kanji and CJK punctuation of U+3000..U+9FFF.
pub fn lower(s: String) -> String {
    if s.chars().all(|c| (c.is_ascii() && !c.is_ascii_uppercase()) || matches!(c as u32, 0x3000..=0x9FFF)) {
        return s;
    }
    s.to_lowercase()
}

/// NFC of `s`, returned as it is when the quick check passes it (no combining mark or other
/// character that may compose: the common case, and exact).
pub fn nfc(s: String) -> String {
    if s.chars().all(plain)
        || unicode_normalization::is_nfc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes
    {
        return s;
    }
    s.nfc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_width_marks_and_spaces() {
        assert_eq!(fold("ｶﾞｯｺｳ　ﾊﾟﾝ"), "ガッコウ パン");
        assert_eq!(fold("カ゛ッコウ"), "ガッコウ");
        assert_eq!(fold("  １２３ー４  "), "123ー4");
        assert_eq!(fold("吉?"), format!("吉{WILDCARD}"));
        assert_eq!(fold("\u{FA10}"), "塚");
    }

    /// Every character the shortcut passes is one the whole definition leaves as it is, alone
    /// and after any other character.
    #[test]
    fn plain_characters_are_left_as_they_are() {
        use unicode_normalization::char::canonical_combining_class;
        use unicode_normalization::{IsNormalized, is_nfc_quick, is_nfkc_quick};
        let plain_chars: Vec<char> = (0..=0x10FFFFu32).filter_map(char::from_u32).filter(|&c| plain(c)).collect();
        assert!(plain_chars.len() > 20_000);
        for &c in &plain_chars {
            let one = std::iter::once(c);
            assert_eq!(is_nfkc_quick(one.clone()), IsNormalized::Yes, "{:X}", c as u32);
            assert_eq!(is_nfc_quick(one), IsNormalized::Yes, "{:X}", c as u32);
            assert_eq!(canonical_combining_class(c), 0, "{:X}", c as u32);
            assert!(!is_lost(c) && !c.is_whitespace() && !matches!(c, '゛' | '゜' | 'ﾞ' | 'ﾟ'));
        }
    }

    #[test]
    fn characters_without_case_are_their_own_lower_case() {
        for c in (0..0x80u32).chain(0x3000..=0x9FFF).filter_map(char::from_u32).filter(|c| !c.is_ascii_uppercase()) {
            assert_eq!(c.to_lowercase().collect::<String>(), c.to_string(), "{:X}", c as u32);
        }
        assert_eq!(lower("ÉCOLE Smith 山田".into()), "école smith 山田");
    }

    proptest::proptest! {
        /// The shortcut gives what NFKC and the rest of folding give.
        #[test]
        fn plain_text_folds_to_itself(s in "[!-~ぁ-ゖァ-ヾ一-鿿々〆〇]{0,16}") {
            let whole: String = s.nfkc().map(|c| if is_lost(c) { WILDCARD } else { c }).collect();
            proptest::prop_assert_eq!(fold(&s), whole);
        }

        #[test]
        fn idempotent(s in "\\PC{0,24}") {
            let once = fold(&s);
            proptest::prop_assert_eq!(fold(&once), once);
        }
    }
}
