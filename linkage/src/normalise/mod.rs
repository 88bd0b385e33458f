//! Japanese-aware normalisation of identity fields, applied by the custodian before anything is
//! hashed. Every function is idempotent (`f(f(x)) == f(x)`, property-tested) and never returns
//! or logs the value it was given inside an error.
//!
//! Characters that were lost before the extract reached us (undecodable bytes, `?` written for
//! a 外字 by a CP932 export, the 〓 geta mark) become [`WILDCARD`]; a field that holds one is
//! unknown, not different.

pub mod address;
pub mod age;
pub mod era_date;
pub mod kana;
pub mod kanji;
pub mod latin;
pub mod name;
pub mod placeholder;
pub mod sex;
pub mod width;

/// Version of the normalisation rules, written into every manifest: extracts normalised by
/// different versions must not be linked. 2: birth dates may be partial (a lone four-digit year is
/// a year, no longer Excel's serial day; month names; day-first dates). 3: the kana loose key
/// shortens long vowels written with a vowel kana (オオノ, サトウ) as it did those written with ー.
/// 4: placeholders for "not known" (不明, a dash, 1900-01-01) are blank ([`placeholder`]).
pub const NORMALISER_VERSION: &str = "4";

/// Marks a character that was lost (外字, undecodable byte).
pub const WILDCARD: char = '\u{FFFD}';

/// Whether a normalised value holds a lost character.
pub fn has_wildcard(s: &str) -> bool {
    s.contains(WILDCARD)
}
