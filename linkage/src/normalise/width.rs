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
    // printable ASCII without '?' is already NFKC; only spaces need collapsing
    if s.bytes().all(|b| (0x21..0x7f).contains(&b) && b != b'?') {
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

/// NFC of `s`, returned as it is when the quick check passes it (no combining mark or other
/// character that may compose: the common case, and exact).
pub fn nfc(s: String) -> String {
    if unicode_normalization::is_nfc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes {
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

    proptest::proptest! {
        #[test]
        fn idempotent(s in "\\PC{0,24}") {
            let once = fold(&s);
            proptest::prop_assert_eq!(fold(&once), once);
        }
    }
}
