//! Kanji noise: 異体字 (kanji_variant) written for the standard form, and 外字 (gaiji) that a CP932
//! export cannot hold and turns into `?`.
//!
//! The variant pairs are ones registries actually hold in names (the 人名用漢字 異体字 and the
//! 戸籍統一文字 variants most often met in surnames); the normaliser in `linkage` folds them back
//! with its own, larger, published table.

use rand::Rng;

/// (standard, variant) pairs; the variant is inside CP932 unless it is listed in [`GAIJI`].
pub const VARIANTS: &[(char, char)] = &[
    ('高', '髙'),
    ('崎', '﨑'),
    ('斎', '齋'),
    ('斉', '齊'),
    ('辺', '邊'),
    ('沢', '澤'),
    ('浜', '濱'),
    ('島', '嶋'),
    ('広', '廣'),
    ('国', '國'),
    ('桜', '櫻'),
    ('竜', '龍'),
    ('恵', '惠'),
    ('栄', '榮'),
    ('富', '冨'),
    ('渕', '淵'),
    ('関', '關'),
    ('槙', '槇'),
    ('桧', '檜'),
    ('峰', '峯'),
    ('条', '條'),
    ('黒', '黑'),
    ('真', '眞'),
    ('礼', '禮'),
    ('曽', '曾'),
    ('万', '萬'),
    ('館', '舘'),
    ('徳', '德'),
    ('鉄', '鐵'),
    ('学', '學'),
    ('実', '實'),
    ('寿', '壽'),
    ('与', '與'),
    ('亜', '亞'),
    ('弥', '彌'),
    ('桑', '桒'),
    ('野', '埜'),
    ('嶋', '島'),
    ('瀬', '瀨'),
    ('滝', '瀧'),
    ('県', '縣'),
    ('晃', '晄'),
    ('来', '來'),
    ('将', '將'),
    ('穂', '穗'),
    ('涼', '凉'),
    ('凛', '凜'),
    ('蔵', '藏'),
    // CJK compatibility ideographs that registry systems use for their own glyphs (in CP932)
    ('塚', '\u{FA10}'),
    ('隆', '\u{F9DC}'),
    ('晴', '\u{FA12}'),
    ('福', '\u{FA1B}'),
    ('羽', '\u{FA1E}'),
    ('神', '\u{FA19}'),
    ('都', '\u{FA26}'),
    ('祥', '\u{FA1A}'),
    ('礼', '\u{FA18}'),
];

/// (standard, gaiji) pairs whose second character is outside CP932, so a CP932 export writes `?`.
pub const GAIJI: &[(char, char)] = &[
    ('吉', '𠮷'),
    ('土', '𡈽'),
    ('崎', '㟢'),
    ('鴎', '鷗'),
    ('剥', '剝'),
    ('叱', '𠮟'),
    ('頬', '頰'),
    ('填', '塡'),
    // compatibility ideographs outside CP932
    ('郎', '\u{F92C}'),
    ('祐', '\u{FA4F}'),
    ('海', '\u{FA45}'),
    ('奈', '\u{F90C}'),
    ('里', '\u{F9E9}'),
    ('理', '\u{F9E4}'),
    ('良', '\u{F97C}'),
    ('玲', '\u{F9AD}'),
];

/// Whether `s` has a character that can be written as a variant from `table`.
pub fn eligible(s: &str, table: &[(char, char)]) -> bool {
    s.chars().any(|c| table.iter().any(|(std, var)| *std == c && std != var))
}

/// Replaces one eligible character of `s` by its variant from `table`.
pub fn substitute<R: Rng>(s: &str, table: &[(char, char)], rng: &mut R) -> String {
    let chars: Vec<char> = s.chars().collect();
    let spots: Vec<(usize, char)> = chars
        .iter()
        .enumerate()
        .filter_map(|(i, c)| table.iter().find(|(std, var)| std == c && std != var).map(|(_, v)| (i, *v)))
        .collect();
    if spots.is_empty() {
        return s.to_string();
    }
    let (i, v) = spots[rng.random_range(0..spots.len())];
    let mut out = chars;
    out[i] = v;
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaiji_are_outside_cp932_and_variants_inside() {
        for (_, g) in GAIJI.iter().filter(|(s, g)| s != g) {
            let text = g.to_string();
            let (_, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
            assert!(unmappable, "{g} is expected to be outside CP932");
        }
        for (_, v) in VARIANTS.iter().filter(|(s, v)| s != v) {
            let text = v.to_string();
            let (_, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
            assert!(!unmappable, "{v} is expected to be inside CP932");
        }
    }
}
