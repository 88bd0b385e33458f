//! Kana as department systems write readings: full-width katakana (the canonical form here),
//! hiragana, half-width katakana (legacy systems), large kana for small ones (シヨウ for ショウ),
//! and voiced-mark variants (ヅ/ズ, ヂ/ジ, a separate ゛).

use rand::Rng;

const HALF_BASE: &[(char, &str)] = &[
    ('ア', "ｱ"),
    ('イ', "ｲ"),
    ('ウ', "ｳ"),
    ('エ', "ｴ"),
    ('オ', "ｵ"),
    ('カ', "ｶ"),
    ('キ', "ｷ"),
    ('ク', "ｸ"),
    ('ケ', "ｹ"),
    ('コ', "ｺ"),
    ('サ', "ｻ"),
    ('シ', "ｼ"),
    ('ス', "ｽ"),
    ('セ', "ｾ"),
    ('ソ', "ｿ"),
    ('タ', "ﾀ"),
    ('チ', "ﾁ"),
    ('ツ', "ﾂ"),
    ('テ', "ﾃ"),
    ('ト', "ﾄ"),
    ('ナ', "ﾅ"),
    ('ニ', "ﾆ"),
    ('ヌ', "ﾇ"),
    ('ネ', "ﾈ"),
    ('ノ', "ﾉ"),
    ('ハ', "ﾊ"),
    ('ヒ', "ﾋ"),
    ('フ', "ﾌ"),
    ('ヘ', "ﾍ"),
    ('ホ', "ﾎ"),
    ('マ', "ﾏ"),
    ('ミ', "ﾐ"),
    ('ム', "ﾑ"),
    ('メ', "ﾒ"),
    ('モ', "ﾓ"),
    ('ヤ', "ﾔ"),
    ('ユ', "ﾕ"),
    ('ヨ', "ﾖ"),
    ('ラ', "ﾗ"),
    ('リ', "ﾘ"),
    ('ル', "ﾙ"),
    ('レ', "ﾚ"),
    ('ロ', "ﾛ"),
    ('ワ', "ﾜ"),
    ('ヲ', "ｦ"),
    ('ン', "ﾝ"),
    ('ァ', "ｧ"),
    ('ィ', "ｨ"),
    ('ゥ', "ｩ"),
    ('ェ', "ｪ"),
    ('ォ', "ｫ"),
    ('ッ', "ｯ"),
    ('ャ', "ｬ"),
    ('ュ', "ｭ"),
    ('ョ', "ｮ"),
    ('ー', "ｰ"),
    ('ヰ', "ｲ"),
    ('ヱ', "ｴ"),
    ('ヮ', "ﾜ"),
    ('ヵ', "ｶ"),
    ('ヶ', "ｹ"),
    ('・', "･"),
    ('　', " "),
    (' ', " "),
];

/// The unvoiced kana for a voiced (゛) or semi-voiced (゜) one, with its mark.
fn devoice(c: char) -> Option<(char, char)> {
    let table: &[(char, char, char)] = &[
        ('ガ', 'カ', '゛'),
        ('ギ', 'キ', '゛'),
        ('グ', 'ク', '゛'),
        ('ゲ', 'ケ', '゛'),
        ('ゴ', 'コ', '゛'),
        ('ザ', 'サ', '゛'),
        ('ジ', 'シ', '゛'),
        ('ズ', 'ス', '゛'),
        ('ゼ', 'セ', '゛'),
        ('ゾ', 'ソ', '゛'),
        ('ダ', 'タ', '゛'),
        ('ヂ', 'チ', '゛'),
        ('ヅ', 'ツ', '゛'),
        ('デ', 'テ', '゛'),
        ('ド', 'ト', '゛'),
        ('バ', 'ハ', '゛'),
        ('ビ', 'ヒ', '゛'),
        ('ブ', 'フ', '゛'),
        ('ベ', 'ヘ', '゛'),
        ('ボ', 'ホ', '゛'),
        ('パ', 'ハ', '゜'),
        ('ピ', 'ヒ', '゜'),
        ('プ', 'フ', '゜'),
        ('ペ', 'ヘ', '゜'),
        ('ポ', 'ホ', '゜'),
        ('ヴ', 'ウ', '゛'),
    ];
    table.iter().find(|(v, _, _)| *v == c).map(|(_, b, m)| (*b, *m))
}

/// Full-width katakana to hiragana (ヴ and the rare ヷ..ヺ stay katakana, as IMEs leave them).
pub fn to_hiragana(s: &str) -> String {
    s.chars()
        .map(|c| match c as u32 {
            0x30A1..=0x30F6 if c != 'ヴ' && c != 'ヵ' && c != 'ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Full-width katakana to half-width katakana, voiced marks as separate ﾞ/ﾟ.
pub fn to_halfwidth(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let (base, mark) = match devoice(c) {
            Some((b, m)) => (b, Some(m)),
            None => (c, None),
        };
        match HALF_BASE.iter().find(|(f, _)| *f == base) {
            Some((_, h)) => out.push_str(h),
            None => out.push(base),
        }
        match mark {
            Some('゛') => out.push('ﾞ'),
            Some(_) => out.push('ﾟ'),
            None => {}
        }
    }
    out
}

const SMALL: &[(char, char)] = &[
    ('ァ', 'ア'),
    ('ィ', 'イ'),
    ('ゥ', 'ウ'),
    ('ェ', 'エ'),
    ('ォ', 'オ'),
    ('ッ', 'ツ'),
    ('ャ', 'ヤ'),
    ('ュ', 'ユ'),
    ('ョ', 'ヨ'),
    ('ヮ', 'ワ'),
];

/// Whether the reading has a small kana to write large.
pub fn has_small(s: &str) -> bool {
    s.chars().any(|c| SMALL.iter().any(|(sm, _)| *sm == c))
}

/// Small kana written large, as systems without small kana do (ショウ → シヨウ).
pub fn enlarge_small(s: &str) -> String {
    s.chars().map(|c| SMALL.iter().find(|(sm, _)| *sm == c).map(|(_, l)| *l).unwrap_or(c)).collect()
}

/// Whether the reading has a voiced kana that can be written another way.
pub fn has_voiced(s: &str) -> bool {
    s.chars().any(|c| devoice(c).is_some())
}

/// One voiced kana written another way: ヅ↔ズ, ヂ↔ジ, or base + a spacing ゛/゜.
pub fn vary_voiced<R: Rng>(s: &str, rng: &mut R) -> String {
    let chars: Vec<char> = s.chars().collect();
    let voiced: Vec<usize> = (0..chars.len()).filter(|&i| devoice(chars[i]).is_some()).collect();
    if voiced.is_empty() {
        return s.to_string();
    }
    let i = voiced[rng.random_range(0..voiced.len())];
    let c = chars[i];
    let mut out: String = chars[..i].iter().collect();
    match c {
        'ヅ' => out.push('ズ'),
        'ズ' => out.push('ヅ'),
        'ヂ' => out.push('ジ'),
        'ジ' => out.push('ヂ'),
        _ => {
            if let Some((b, m)) = devoice(c) {
                out.push(b);
                out.push(m);
            }
        }
    }
    out.extend(&chars[i + 1..]);
    out
}

const KATAKANA_POOL: &[char] = &[
    'ア', 'イ', 'ウ', 'エ', 'オ', 'カ', 'キ', 'ク', 'ケ', 'コ', 'サ', 'シ', 'ス', 'セ', 'ソ', 'タ', 'チ', 'ツ', 'テ',
    'ト', 'ナ', 'ニ', 'ヌ', 'ネ', 'ノ', 'ハ', 'ヒ', 'フ', 'ヘ', 'ホ', 'マ', 'ミ', 'ム', 'メ', 'モ', 'ヤ', 'ユ', 'ヨ',
    'ラ', 'リ', 'ル', 'レ', 'ロ', 'ワ', 'ン',
];

/// One keying error in a reading: a kana substituted, dropped or doubled.
pub fn typo<R: Rng>(s: &str, rng: &mut R) -> String {
    let mut chars: Vec<char> = s.chars().filter(|c| *c != '　' && *c != ' ').collect();
    let spaces: Vec<usize> = s.chars().enumerate().filter(|(_, c)| *c == '　' || *c == ' ').map(|(i, _)| i).collect();
    if chars.len() < 2 {
        return s.to_string();
    }
    let i = rng.random_range(0..chars.len());
    match rng.random_range(0..3) {
        0 => {
            let original = chars[i];
            while chars[i] == original {
                chars[i] = KATAKANA_POOL[rng.random_range(0..KATAKANA_POOL.len())];
            }
        }
        1 => {
            chars.remove(i);
        }
        _ => chars.insert(i, chars[i]),
    }
    // put the family/given separator back where it was
    let mut out: String = chars.into_iter().collect();
    if let Some(&pos) = spaces.first() {
        let at = out.char_indices().nth(pos).map(|(b, _)| b).unwrap_or(out.len());
        out.insert(at, '　');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halfwidth_splits_voiced_marks() {
        assert_eq!(to_halfwidth("ガッコウ　パン"), "ｶﾞｯｺｳ ﾊﾟﾝ");
        assert_eq!(to_halfwidth("ヴ"), "ｳﾞ");
    }

    #[test]
    fn hiragana_keeps_long_vowel_mark() {
        assert_eq!(to_hiragana("サトウ　ユーキ"), "さとう　ゆーき");
    }

    #[test]
    fn small_kana_enlarged() {
        assert_eq!(enlarge_small("ショウタ"), "シヨウタ");
        assert!(has_small("キョウコ"));
        assert!(!has_small("サトウ"));
    }
}
