//! Exact-match tokens: a keyed BLAKE3 hash (128 bits) of a normalised value, one key per field.
//! Equal normalised values give equal tokens; anything else gives unrelated tokens.

use zeroize::Zeroizing;

use super::key::{KEY_BYTES, LinkageKey};

pub const TOKEN_BYTES: usize = 16;

/// Token columns of name parts, whose frequencies alone tell which token is 佐藤 (the
/// frequency attack): under [`TokenSalt::BirthYear`] each is bound to the record's birth year,
/// so that a token stands for a (name part, birth year) pair, whose frequencies are flat.
/// Whole names, addresses and their parts, dates, sex and codes are left as they are: binding
/// towns and postcodes too leaves the address unknown wherever birth years differ or are
/// missing, which cost FEBRL4 0.027 of F1 (docs/pseudonymise.md).
pub const SALTED_TOKENS: &[&str] = &[
    "tok_family",
    "tok_given",
    "tok_given_first",
    "tok_family_sound",
    "tok_given_sound",
    "tok_family_kana",
    "tok_given_kana",
    "tok_family_kana_loose",
    "tok_given_kana_loose",
];

/// How the tokens of name parts are written (see [`SALTED_TOKENS`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSalt {
    /// Every token stands for its value alone (the default, and extracts made before salting
    /// existed).
    #[default]
    None,
    /// Name-part tokens stand for the part together with the birth year; a record without a
    /// birth year has none of them. The birth-year token is written as before: the linker
    /// compares name parts only between records it sees born in the same year.
    BirthYear,
}

impl TokenSalt {
    pub fn name(self) -> &'static str {
        match self {
            TokenSalt::None => "none",
            TokenSalt::BirthYear => "birth_year",
        }
    }

    /// Whether `column` is bound to the birth year under this setting.
    pub fn salts(self, column: &str) -> bool {
        self == TokenSalt::BirthYear && SALTED_TOKENS.contains(&column)
    }
}

/// Tokenises values of named fields; field keys are derived once and cached.
pub struct Tokeniser<'k> {
    key: &'k LinkageKey,
    keys: std::collections::HashMap<String, Zeroizing<[u8; KEY_BYTES]>, ahash::RandomState>,
    salt_keys: std::collections::HashMap<String, Zeroizing<[u8; KEY_BYTES]>, ahash::RandomState>,
}

impl<'k> Tokeniser<'k> {
    pub fn new(key: &'k LinkageKey) -> Self {
        Tokeniser { key, keys: Default::default(), salt_keys: Default::default() }
    }

    /// The token of `value` in `field`.
    pub fn token(&mut self, field: &str, value: &str) -> [u8; TOKEN_BYTES] {
        keyed(self.key, &mut self.keys, "token", field, value.as_bytes())
    }

    /// `token` (of column `column`) bound to a birth year, under a key of its own: equal iff
    /// both the value and the year are equal, and unrelated to the unsalted token.
    pub fn salted(&mut self, column: &str, token: &[u8; TOKEN_BYTES], year: i32) -> [u8; TOKEN_BYTES] {
        let mut message = [0u8; TOKEN_BYTES + 4];
        message[..TOKEN_BYTES].copy_from_slice(token);
        message[TOKEN_BYTES..].copy_from_slice(&year.to_le_bytes());
        keyed(self.key, &mut self.salt_keys, "salted_token", column, &message)
    }
}

/// The first TOKEN_BYTES of the keyed BLAKE3 hash of `message` under the key of (`purpose`,
/// `field`), derived from the linkage key on first use and kept in `cache`.
fn keyed(
    key: &LinkageKey,
    cache: &mut std::collections::HashMap<String, Zeroizing<[u8; KEY_BYTES]>, ahash::RandomState>,
    purpose: &str,
    field: &str,
    message: &[u8],
) -> [u8; TOKEN_BYTES] {
    let h = match cache.get(field) {
        Some(k) => blake3::keyed_hash(k, message),
        None => {
            let k = key.field_key(purpose, field);
            let h = blake3::keyed_hash(&k, message);
            cache.insert(field.to_string(), k);
            h
        }
    };
    let mut t = [0u8; TOKEN_BYTES];
    t.copy_from_slice(&h.as_bytes()[..TOKEN_BYTES]);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Tokens are equal iff the normalised values are equal (within one field and key).
        #[test]
        fn equal_iff_values_equal(a in "\\PC{0,10}", b in "\\PC{0,10}") {
            let key = LinkageKey::from_bytes(Zeroizing::new([9; KEY_BYTES]));
            let mut t = Tokeniser::new(&key);
            let (ta, tb) = (t.token("family", &a), t.token("family", &b));
            proptest::prop_assert_eq!(ta == tb, a == b);
            proptest::prop_assert_ne!(t.token("family", &a), t.token("given", &a));
        }

        /// Salted tokens are equal iff value and year are both equal, and never equal the
        /// unsalted token.
        #[test]
        fn salted_equal_iff_value_and_year_equal(a in "\\PC{0,10}", b in "\\PC{0,10}", ya in 2000i32..2003, yb in 2000i32..2003) {
            let key = LinkageKey::from_bytes(Zeroizing::new([9; KEY_BYTES]));
            let mut t = Tokeniser::new(&key);
            let (ta, tb) = (t.token("family", &a), t.token("family", &b));
            let (sa, sb) = (t.salted("tok_family", &ta, ya), t.salted("tok_family", &tb, yb));
            proptest::prop_assert_eq!(sa == sb, a == b && ya == yb);
            proptest::prop_assert_ne!(sa, ta);
            proptest::prop_assert_ne!(sa, t.salted("tok_given", &ta, ya));
        }
    }
}
