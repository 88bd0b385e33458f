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

/// Values of one field whose tokens a tokeniser keeps, at most.
const MAX_CACHED_VALUES: usize = 1 << 16;

/// Lookups after which a field whose values seldom repeat (whole names, full dates) stops
/// keeping them: fewer than one in four found.
const CACHE_SAMPLE: u32 = 4096;

/// One field's key and the tokens of values met before (a birth year, a town, a common
/// surname): a repeated value costs a lookup instead of a hash. The cache changes how fast,
/// never what a token is.
struct FieldTokens {
    key: Zeroizing<[u8; KEY_BYTES]>,
    seen: std::collections::HashMap<Box<[u8]>, [u8; TOKEN_BYTES], ahash::RandomState>,
    lookups: u32,
    hits: u32,
    caching: bool,
}

impl FieldTokens {
    fn new(key: Zeroizing<[u8; KEY_BYTES]>) -> Self {
        FieldTokens { key, seen: Default::default(), lookups: 0, hits: 0, caching: true }
    }

    /// The first TOKEN_BYTES of the keyed BLAKE3 hash of `message` under this field's key.
    fn token(&mut self, message: &[u8]) -> [u8; TOKEN_BYTES] {
        if !self.caching {
            return keyed(&self.key, message);
        }
        self.lookups = self.lookups.saturating_add(1);
        if let Some(t) = self.seen.get(message) {
            self.hits = self.hits.saturating_add(1);
            return *t;
        }
        let t = keyed(&self.key, message);
        if self.lookups >= CACHE_SAMPLE && self.hits < self.lookups / 4 {
            // values of this field seldom repeat: hashing is cheaper than keeping them
            self.caching = false;
            super::wipe_cache(&mut self.seen);
        } else if self.seen.len() < MAX_CACHED_VALUES {
            self.seen.insert(message.into(), t);
        }
        t
    }
}

/// The kept values are normalised identifiers: they are zeroed when the tokeniser goes.
impl Drop for FieldTokens {
    fn drop(&mut self) {
        super::wipe_cache(&mut self.seen);
    }
}

/// The fields of one purpose (tokens, salted tokens), each with its key and kept tokens.
struct Fields {
    purpose: &'static str,
    index: std::collections::HashMap<String, usize, ahash::RandomState>,
    fields: Vec<FieldTokens>,
}

impl Fields {
    fn new(purpose: &'static str) -> Self {
        Fields { purpose, index: Default::default(), fields: Vec::new() }
    }

    /// The tokens of `field`, its key derived from the linkage key on first use.
    fn get(&mut self, key: &LinkageKey, field: &str) -> &mut FieldTokens {
        let i = match self.index.get(field) {
            Some(&i) => i,
            None => {
                self.fields.push(FieldTokens::new(key.field_key(self.purpose, field)));
                self.index.insert(field.to_string(), self.fields.len() - 1);
                self.fields.len() - 1
            }
        };
        &mut self.fields[i]
    }
}

/// Tokenises values of named fields; field keys are derived once and kept, with the tokens of
/// values that repeat. Each thread that encodes holds its own.
pub struct Tokeniser<'k> {
    key: &'k LinkageKey,
    fields: Fields,
    salted: Fields,
}

impl<'k> Tokeniser<'k> {
    pub fn new(key: &'k LinkageKey) -> Self {
        Tokeniser { key, fields: Fields::new("token"), salted: Fields::new("salted_token") }
    }

    /// The token of `value` in `field`.
    pub fn token(&mut self, field: &str, value: &str) -> [u8; TOKEN_BYTES] {
        self.fields.get(self.key, field).token(value.as_bytes())
    }

    /// `token` (of column `column`) bound to a birth year, under a key of its own: equal iff
    /// both the value and the year are equal, and unrelated to the unsalted token.
    pub fn salted(&mut self, column: &str, token: &[u8; TOKEN_BYTES], year: i32) -> [u8; TOKEN_BYTES] {
        let mut message = [0u8; TOKEN_BYTES + 4];
        message[..TOKEN_BYTES].copy_from_slice(token);
        message[TOKEN_BYTES..].copy_from_slice(&year.to_le_bytes());
        self.salted.get(self.key, column).token(&message)
    }
}

/// The first TOKEN_BYTES of the keyed BLAKE3 hash of `message` under `key`.
fn keyed(key: &[u8; KEY_BYTES], message: &[u8]) -> [u8; TOKEN_BYTES] {
    let h = blake3::keyed_hash(key, message);
    let mut t = [0u8; TOKEN_BYTES];
    t.copy_from_slice(&h.as_bytes()[..TOKEN_BYTES]);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field whose values repeat keeps them, one whose values do not stops; either way a
    /// token is the hash of its value.
    #[test]
    fn kept_tokens_are_the_tokens_and_unrepeated_fields_stop_keeping() {
        let key = LinkageKey::from_bytes(Zeroizing::new([9; KEY_BYTES]));
        let mut t = Tokeniser::new(&key);
        for i in 0..3 * CACHE_SAMPLE {
            let year = format!("{}", 1950 + i % 60);
            let unique = format!("{i}");
            assert_eq!(t.token("birth_year", &year), Tokeniser::new(&key).token("birth_year", &year));
            assert_eq!(t.token("name", &unique), Tokeniser::new(&key).token("name", &unique));
        }
        let year = t.fields.get(&key, "birth_year");
        assert!(year.caching && year.seen.len() == 60);
        let name = t.fields.get(&key, "name");
        assert!(!name.caching && name.seen.is_empty());
    }

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
