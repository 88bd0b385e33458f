//! Readings (フリガナ): any script and width to full-width katakana, and a loose key for fuzzy
//! comparison levels.

use super::width;

/// Full-width katakana from any mix of hiragana, half-width and full-width katakana; spaces
/// between family and given reading kept as one ASCII space.
pub fn katakana(s: &str) -> String {
    let hiragana = |c: char| matches!(c as u32, 0x3041..=0x3096 | 0x309D..=0x309E);
    let folded = width::fold(s);
    if !folded.chars().any(hiragana) {
        // already katakana (the common case): folding left it NFKC, hence NFC
        return folded;
    }
    let mapped: String = folded
        .chars()
        // ぁ..ゖ and ゝゞ to katakana
        .map(|c| if hiragana(c) { char::from_u32(c as u32 + 0x60).unwrap_or(c) } else { c })
        .collect();
    // わ゛ has no composed form but ヷ has: compose again after the change of script
    width::nfc(mapped)
}

/// The vowel a (large, unvoiced) katakana ends in; None for ン and marks.
fn vowel(c: char) -> Option<char> {
    const ROWS: [(&str, char); 5] = [
        ("アカサタナハマヤラワ", 'a'),
        ("イキシチニヒミリ", 'i'),
        ("ウクスツヌフムユル", 'u'),
        ("エケセテネヘメレ", 'e'),
        ("オコソトノホモヨロ", 'o'),
    ];
    ROWS.iter().find(|(row, _)| row.contains(c)).map(|(_, v)| *v)
}

/// Whether kana `c` after a kana ending in vowel `before` only lengthens it: オオ, オウ, ウウ,
/// アア, イイ, エエ (オオノ, サトウ, ユウコ, ニイガタ), as ー does (オーノ, サトー, ユーコ).
fn lengthens(before: Option<char>, c: char) -> bool {
    matches!(
        (before, c),
        (Some('o'), 'オ' | 'ウ') | (Some('u'), 'ウ') | (Some('a'), 'ア') | (Some('i'), 'イ') | (Some('e'), 'エ')
    )
}

/// The loose key: katakana with small kana written large, voiced and semi-voiced marks dropped,
/// spaces removed, ヲ as オ, ヰ ヱ as イ エ, and long vowels short whether written with ー or
/// with a vowel kana (オーノ, オオノ, オノ; サトウ, サトー). Readings that differ only in the
/// ways keyboards, legacy systems and people vary (シヨウ/ショウ, ヅ/ズ, オオノ/オーノ) share a
/// key.
pub fn loose(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut before: Option<char> = None;
    let table = &*LOOSE_KATAKANA;
    for c in katakana(s).chars() {
        let (mapped, vowel) = match (c as u32).checked_sub(KATAKANA_BLOCK) {
            Some(i) if (i as usize) < table.len() => table[i as usize],
            _ => loose_char(c),
        };
        let Some(mapped) = mapped else { continue };
        if lengthens(before, mapped) {
            continue;
        }
        before = vowel;
        out.push(mapped);
    }
    out
}

/// The first character of the katakana block (U+30A0..U+30FF).
const KATAKANA_BLOCK: u32 = 0x30A0;

/// [`loose_char`] of each character of the katakana block, worked out once.
static LOOSE_KATAKANA: std::sync::LazyLock<[(Option<char>, Option<char>); 96]> = std::sync::LazyLock::new(|| {
    std::array::from_fn(|i| char::from_u32(KATAKANA_BLOCK + i as u32).map_or((None, None), loose_char))
});

/// What the loose key writes for one katakana (None: nothing, as for marks, ー and spaces), and
/// the vowel that written kana ends in.
fn loose_char(c: char) -> (Option<char>, Option<char>) {
    let c = match c {
        'ヅ' => 'ズ',
        'ヂ' => 'ジ',
        c => c,
    };
    // the base kana of a voiced or semi-voiced one (ガ → カ), dropping the mark
    let mut base = c;
    unicode_normalization::char::decompose_canonical(c, |d| {
        if !matches!(d, '\u{3099}' | '\u{309A}') {
            base = d;
        }
    });
    let mapped = match base {
        '\u{3099}' | '\u{309A}' | 'ー' | '-' | ' ' | '・' => return (None, None),
        'ァ' => 'ア',
        'ィ' => 'イ',
        'ゥ' => 'ウ',
        'ェ' => 'エ',
        'ォ' => 'オ',
        'ッ' => 'ツ',
        'ャ' => 'ヤ',
        'ュ' => 'ユ',
        'ョ' => 'ヨ',
        'ヮ' => 'ワ',
        'ヵ' => 'カ',
        'ヶ' => 'ケ',
        'ヲ' => 'オ',
        'ヰ' => 'イ',
        'ヱ' => 'エ',
        c => c,
    };
    (Some(mapped), vowel(mapped))
}

#[cfg(test)]
mod tests {
    use unicode_normalization::UnicodeNormalization;

    use super::*;

    #[test]
    fn scripts_and_widths_meet() {
        assert_eq!(katakana("さとう　ゆうき"), "サトウ ユウキ");
        assert_eq!(katakana("ｻﾄｳ ﾕｳｷ"), "サトウ ユウキ");
        assert_eq!(katakana("ガッコウ"), "ガッコウ");
    }

    #[test]
    fn loose_key_merges_legacy_variants() {
        assert_eq!(loose("ショウタ"), loose("シヨウタ"));
        assert_eq!(loose("ミヅキ"), loose("ミズキ"));
        assert_eq!(loose("オーノ"), loose("オノ"));
        for (a, b) in [
            ("オオノ", "オーノ"),
            ("サトウ", "サトー"),
            ("ユウコ", "ユーコ"),
            ("タロウ", "タロー"),
            ("ニイガタ", "ニーガタ"),
        ] {
            assert_eq!(loose(a), loose(b), "{a} {b}");
        }
        assert_eq!(loose("きょうこ"), loose("キョーコ"));
        // a vowel that is not the one before stays: サイトウ is not サトウ, カオリ not カリ
        assert_ne!(loose("カオリ"), loose("カリ"));
        assert_ne!(loose("アオイ"), loose("アイ"));
        // the loose key ignores length, as the "long-vowel marks removed" does: long and
        // short readings meet at the loose level (the exact reading still tells them apart)
        assert_eq!(loose("ユウキ"), loose("ユキ"));
        assert_eq!(loose("オオウチ"), loose("オチ"));
        assert_eq!(loose("ｶﾞｯｺｳ"), loose("かつこう"));
        assert_ne!(loose("サトウ"), loose("サイトウ"));
    }

    proptest::proptest! {
        #[test]
        fn idempotent(s in "[ぁ-ゖァ-ヺｦ-ﾟー 　a-z]{0,16}") {
            let k = katakana(&s);
            proptest::prop_assert_eq!(katakana(&k), k.clone());
            let l = loose(&s);
            proptest::prop_assert_eq!(loose(&l), l);
        }

        /// The shortcuts (no hiragana; nothing to compose) give what the whole definition does.
        #[test]
        fn shortcuts_change_nothing(s in "[ぁ-ゖゝゞァ-ヺｦ-ﾟー゛゜\u{3099}\u{309A} 　a-z]{0,16}") {
            let whole: String = width::fold(&s)
                .chars()
                .map(|c| match c as u32 {
                    0x3041..=0x3096 | 0x309D..=0x309E => char::from_u32(c as u32 + 0x60).unwrap_or(c),
                    _ => c,
                })
                .nfc()
                .collect();
            proptest::prop_assert_eq!(katakana(&s), whole);
        }
    }
}
