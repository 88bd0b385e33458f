//! 異体字 (kanji_variant) folding: each variant glyph to the standard form names are compared
//! in (髙 → 高, 﨑 → 崎, 齋 → 斎, 邊 → 辺, 澤 → 沢, 𠮷 → 吉 …).
//!
//! The table (`data/kanji_variants.tsv`) is generated from the MJ縮退マップ 1.2.0 of the
//! 文字情報基盤 (IPA / 文字情報技術促進協議会, CC BY-SA 2.1 JP; read through the `jntajis`
//! crate) and the 人名用漢字 旧字体 pairs of Unihan kJinmeiyoKanji; `data/kanji-variants-gen/`
//! regenerates it and states the selection rules. Chains are resolved, so folding is idempotent.

use std::sync::LazyLock;

/// Sorted by variant, for binary search (faster than hashing one `char` at a time).
static TABLE: LazyLock<Vec<(char, char)>> = LazyLock::new(|| {
    let mut pairs: Vec<(char, char)> = include_str!("../../data/kanji_variants.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut it = l.split('\t').map(|f| f.chars());
            let (mut a, mut b) = (it.next()?, it.next()?);
            Some((a.next()?, b.next()?))
        })
        .collect();
    pairs.sort_unstable();
    pairs.dedup_by_key(|p| p.0);
    pairs
});

/// Number of variant → standard pairs in the table.
pub fn table_len() -> usize {
    TABLE.len()
}

/// The standard form of one character (itself when it has none).
pub fn fold_char(c: char) -> char {
    // ASCII and kana have no variants
    if (c as u32) < 0x3400 {
        return c;
    }
    match TABLE.binary_search_by_key(&c, |p| p.0) {
        Ok(i) => TABLE[i].1,
        Err(_) => c,
    }
}

/// Folds every character of `s` to its standard form.
pub fn fold(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_name_variants_fold() {
        assert!(table_len() > 500, "table has {} pairs", table_len());
        assert_eq!(fold("髙﨑"), "高崎");
        assert_eq!(fold("齋藤"), "斎藤");
        assert_eq!(fold("渡邊"), "渡辺");
        assert_eq!(fold("渡邉"), "渡辺");
        assert_eq!(fold("澤田"), "沢田");
        assert_eq!(fold("濱田"), "浜田");
        assert_eq!(fold("𠮷田"), "吉田");
        assert_eq!(fold("國廣"), "国広");
        assert_eq!(fold("佐藤"), "佐藤");
    }

    #[test]
    fn table_is_closed_under_folding() {
        for &(v, s) in TABLE.iter() {
            assert_eq!(fold_char(s), s, "{v} folds to {s}, which folds further");
        }
    }
}
