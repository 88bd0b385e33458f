//! Keyed Bloom-filter encodings for fuzzy comparison (Schnell, Bachteler and Reiher 2009), one
//! filter per field, as clkhash schemas do, with random hashing instead of double hashing.
//!
//! Each q-gram sets `k` bit positions drawn from one keyed BLAKE3 output, under a key
//! derived for this field, so positions of different q-grams share no linear pattern. Filters
//! are compared by Dice similarity.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::key::{KEY_BYTES, LinkageKey};

/// Bits of an unhardened filter.
pub const BLOOM_BITS: usize = 1024;

/// Positions per q-gram: sixteen 16-bit lanes of one 256-bit keyed hash.
pub const MAX_K: u32 = 16;

/// Hardening applied after encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hardening {
    /// Plain filters.
    None,
    /// Balanced filters (Schnell, Borgs and Encheva 2016): the filter and its complement,
    /// concatenated and permuted under a keyed permutation. Every filter then has exactly
    /// `BLOOM_BITS` set bits, so the Hamming weight no longer reveals the length or frequency
    /// of a value. Doubles the size.
    #[default]
    Balance,
    /// XOR-folding (Schnell, Borgs and Encheva 2016): the two halves XORed, so no output bit
    /// belongs to one q-gram. Halves the size and blurs similarities.
    XorFold,
}

impl Hardening {
    pub fn as_str(self) -> &'static str {
        match self {
            Hardening::None => "none",
            Hardening::Balance => "balance",
            Hardening::XorFold => "xor_fold",
        }
    }
}

/// What one field's filter is made of.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BloomSpec {
    pub field: String,
    /// Bit positions per q-gram.
    pub k: u32,
    pub hardening: Hardening,
    /// Bits of the stored filter after hardening.
    pub bits: usize,
}

/// Q-grams whose positions one encoder keeps, at most: about 5 MB. Names and addresses
/// repeat their q-grams (the same few thousand characters), so nearly every q-gram after the
/// first few thousand records is found here instead of hashed again.
const MAX_CACHED_GRAMS: usize = 1 << 17;

/// A q-gram of at most two characters (8 bytes of UTF-8), packed, and its length.
type Gram = (u64, u8);

/// Parts (a surname, a reading, an address) whose unhardened bits one encoder keeps for each way
/// of encoding them, at most: about 6 MB (an encoder uses one way).
const MAX_CACHED_PARTS: usize = 1 << 15;

/// Parts looked up after which an encoder whose parts seldom repeat stops keeping them: fewer
/// than one in four found.
const PART_SAMPLE: u32 = 4096;

/// The unhardened bits of whole parts met before, for each way of encoding them (bigrams
/// alone, bigrams and characters): a surname or an address shared by a household costs one
/// lookup instead of one per q-gram.
#[derive(Clone, Default)]
struct PartCache {
    bits: [std::collections::HashMap<Box<[u8]>, [u64; BLOOM_BITS / 64], ahash::RandomState>; 2],
    lookups: u32,
    hits: u32,
    caching: bool,
}

impl PartCache {
    fn new() -> Self {
        PartCache { caching: true, ..Default::default() }
    }

    /// Zeroes the kept parts (normalised identifiers) and their bits.
    fn wipe(&mut self) {
        self.bits.iter_mut().for_each(super::wipe_cache);
    }
}

/// Encodes q-gram sets of one field. Each thread that encodes holds its own (clone), with its
/// own cache of q-gram positions; the cache changes how fast, never what is encoded.
#[derive(Clone)]
pub struct BloomEncoder {
    key: Zeroizing<[u8; KEY_BYTES]>,
    spec: BloomSpec,
    /// Positions of q-grams already hashed under `key`.
    cache: std::collections::HashMap<Gram, [u16; MAX_K as usize], ahash::RandomState>,
    /// Bits of whole parts already encoded.
    parts: PartCache,
    /// For balancing: where input bit i goes.
    permutation: Vec<u16>,
    /// For balancing: the complement half of an empty filter, permuted.
    complement_all: [u64; 2 * BLOOM_BITS / 64],
}

impl BloomEncoder {
    pub fn new(linkage_key: &LinkageKey, field: &str, k: u32, hardening: Hardening) -> Self {
        let key = linkage_key.field_key("bloom", field);
        let bits = match hardening {
            Hardening::None => BLOOM_BITS,
            Hardening::Balance => 2 * BLOOM_BITS,
            Hardening::XorFold => BLOOM_BITS / 2,
        };
        let permutation = if hardening == Hardening::Balance {
            keyed_permutation(&linkage_key.field_key("balance", field), 2 * BLOOM_BITS)
        } else {
            Vec::new()
        };
        let mut complement_all = [0u64; 2 * BLOOM_BITS / 64];
        for &p in permutation.iter().skip(BLOOM_BITS) {
            complement_all[p as usize / 64] |= 1 << (p % 64);
        }
        BloomEncoder {
            key,
            spec: BloomSpec { field: field.to_string(), k: k.clamp(1, MAX_K), hardening, bits },
            permutation,
            complement_all,
            cache: Default::default(),
            parts: PartCache::new(),
        }
    }

    pub fn spec(&self) -> &BloomSpec {
        &self.spec
    }

    /// Bytes of an encoded filter.
    pub fn bytes(&self) -> usize {
        self.spec.bits / 8
    }

    /// The filter of the padded character bigrams of `parts` (`_高`, `高橋`, `橋_`), plus each
    /// character when `unigrams`, as little-endian 64-bit words. Repeated q-grams set the same
    /// bits, so nothing is de-duplicated; nothing is allocated per q-gram.
    pub fn encode_parts(&mut self, parts: &[&str], unigrams: bool) -> Vec<u8> {
        let mut words = [0u64; BLOOM_BITS / 64];
        for part in parts.iter().filter(|p| !p.is_empty()) {
            let bits = self.part_bits(part, unigrams);
            for (w, b) in words.iter_mut().zip(bits) {
                *w |= b;
            }
        }
        self.harden(&words)
    }

    /// The unhardened bits of one part: its padded bigrams, and its characters when `unigrams`.
    /// Taken from the part cache when the part was met before.
    fn part_bits(&mut self, part: &str, unigrams: bool) -> [u64; BLOOM_BITS / 64] {
        if self.parts.caching {
            self.parts.lookups = self.parts.lookups.saturating_add(1);
            if let Some(bits) = self.parts.bits[usize::from(unigrams)].get(part.as_bytes()) {
                self.parts.hits = self.parts.hits.saturating_add(1);
                return *bits;
            }
        }
        let mut words = [0u64; BLOOM_BITS / 64];
        let mut gram = [0u8; 8];
        let mut prev = '_';
        for c in part.chars().chain(std::iter::once('_')) {
            let a = prev.encode_utf8(&mut gram).len();
            let b = c.encode_utf8(&mut gram[a..]).len();
            self.set(&mut words, &gram[..a + b]);
            if unigrams && c != '_' {
                let n = c.encode_utf8(&mut gram).len();
                self.set(&mut words, &gram[..n]);
            }
            prev = c;
        }
        let cache = &mut self.parts;
        if cache.caching {
            if cache.lookups >= PART_SAMPLE && cache.hits < cache.lookups / 4 {
                // parts of this field seldom repeat: encoding them is cheaper than keeping them
                cache.caching = false;
                cache.wipe();
            } else if cache.bits[usize::from(unigrams)].len() < MAX_CACHED_PARTS {
                cache.bits[usize::from(unigrams)].insert(part.as_bytes().into(), words);
            }
        }
        words
    }

    /// Sets the `k` positions of one q-gram (at most 8 bytes): 16-bit lanes of one keyed
    /// BLAKE3 output, computed once and then taken from the cache.
    fn set(&mut self, words: &mut [u64; BLOOM_BITS / 64], gram: &[u8]) {
        let mut packed = [0u8; 8];
        packed[..gram.len()].copy_from_slice(gram);
        let id: Gram = (u64::from_le_bytes(packed), gram.len() as u8);
        let positions = match self.cache.get(&id) {
            Some(p) => *p,
            None => {
                let h = blake3::keyed_hash(&self.key, gram);
                let bytes = h.as_bytes();
                let p: [u16; MAX_K as usize] =
                    std::array::from_fn(|i| u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]) % BLOOM_BITS as u16);
                if self.cache.len() >= MAX_CACHED_GRAMS {
                    self.cache.clear();
                }
                self.cache.insert(id, p);
                p
            }
        };
        for &p in &positions[..self.spec.k as usize] {
            words[p as usize / 64] |= 1 << (p % 64);
        }
    }

    fn harden(&self, words: &[u64; BLOOM_BITS / 64]) -> Vec<u8> {
        match self.spec.hardening {
            Hardening::None => words_to_bytes(words),
            Hardening::XorFold => {
                let half = words.len() / 2;
                let folded: Vec<u64> = (0..half).map(|i| words[i] ^ words[i + half]).collect();
                words_to_bytes(&folded)
            }
            Hardening::Balance => {
                // out = P(bits) ∪ P'(¬bits): start from P'(all ones) and, for each set bit i,
                // set P(i) and clear P'(i); only the set bits are visited
                let mut out = self.complement_all;
                for (w, &word) in words.iter().enumerate() {
                    let mut bits = word;
                    while bits != 0 {
                        let i = w * 64 + bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        let on = self.permutation[i] as usize;
                        let off = self.permutation[i + BLOOM_BITS] as usize;
                        out[off / 64] &= !(1 << (off % 64));
                        out[on / 64] |= 1 << (on % 64);
                    }
                }
                words_to_bytes(&out)
            }
        }
    }
}

/// The cache holds what q-grams were met and where they go: it lives only in the custodian's
/// process, beside the extract itself, and its positions are zeroed when the encoder goes.
impl Drop for BloomEncoder {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for p in self.cache.values_mut() {
            p.zeroize();
        }
        self.cache.clear();
        self.parts.wipe();
    }
}

fn words_to_bytes(words: &[u64]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// A permutation of `0..n` from a keyed stream (Fisher–Yates with rejection sampling).
fn keyed_permutation(key: &[u8; KEY_BYTES], n: usize) -> Vec<u16> {
    let mut p: Vec<u16> = (0..n as u16).collect();
    let mut stream = blake3::Hasher::new_keyed(key).finalize_xof();
    let mut buf = [0u8; 4];
    for i in (1..n).rev() {
        let bound = (i + 1) as u32;
        let zone = u32::MAX - u32::MAX % bound;
        let j = loop {
            stream.fill(&mut buf);
            let x = u32::from_le_bytes(buf);
            if x < zone {
                break (x % bound) as usize;
            }
        };
        p.swap(i, j);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::dice::dice_bytes as dice;

    fn key() -> LinkageKey {
        LinkageKey::from_bytes(Zeroizing::new([5; KEY_BYTES]))
    }

    fn enc(e: &mut BloomEncoder, s: &[&str]) -> Vec<u8> {
        e.encode_parts(s, true)
    }

    /// Blocking on the encoding's exact key (`key_bf_name`) relies on this: the parts are one
    /// set of q-grams, so a swapped given and family name encodes the same.
    #[test]
    fn swapped_name_parts_encode_the_same_and_other_names_do_not() {
        for h in [Hardening::None, Hardening::Balance, Hardening::XorFold] {
            let mut e = BloomEncoder::new(&key(), "name", 16, h);
            assert_eq!(enc(&mut e, &["lucy", "fitzpatrick"]), enc(&mut e, &["fitzpatrick", "lucy"]), "{h:?}");
            assert_ne!(enc(&mut e, &["lucy", "fitzpatrick"]), enc(&mut e, &["lucy", "fitzpatric"]), "{h:?}");
            assert_ne!(
                enc(&mut e, &["高橋", "太郎"]),
                enc(&mut e, &["高橋太郎"]),
                "{h:?}: the split is part of the key"
            );
        }
    }

    #[test]
    fn similar_names_are_closer_than_different_ones_in_every_hardening() {
        for h in [Hardening::None, Hardening::Balance, Hardening::XorFold] {
            let mut e = BloomEncoder::new(&key(), "name", 16, h);
            let a = enc(&mut e, &["高橋", "太郎"]);
            let b = enc(&mut e, &["高橋", "太朗"]);
            let c = enc(&mut e, &["佐藤", "花子"]);
            assert_eq!(a.len(), e.bytes());
            assert_eq!(dice(&a, &a), 1.0);
            // balancing lifts every Dice toward 1; compare gaps relative to the room left
            let (near, far) = (dice(&a, &b), dice(&a, &c));
            assert!((near - far) / (1.0 - far) > 0.5, "{h:?}: {near} vs {far}");
        }
    }

    /// Each thread keeps the positions of q-grams it has hashed; a filter made from the cache
    /// is the filter made without it.
    #[test]
    fn cached_positions_encode_what_a_fresh_encoder_does() {
        let names: [&[&str]; 4] = [&["高橋", "太郎"], &["高橋", "花子"], &["たかはし"], &["高橋", "太郎"]];
        for h in [Hardening::None, Hardening::Balance, Hardening::XorFold] {
            let mut warm = BloomEncoder::new(&key(), "name", 16, h);
            for _ in 0..2 {
                for n in names {
                    let mut fresh = BloomEncoder::new(&key(), "name", 16, h);
                    assert_eq!(enc(&mut warm, n), enc(&mut fresh, n), "{h:?}");
                }
            }
            assert!(!warm.cache.is_empty() && !warm.parts.bits[1].is_empty());
        }
    }

    /// An encoder whose parts repeat keeps them, one whose parts do not stops (and forgets
    /// them); either way a filter is the filter of its parts.
    #[test]
    fn repeated_parts_are_kept_and_unrepeated_ones_stop_being_kept() {
        let mut repeated = BloomEncoder::new(&key(), "kana", 16, Hardening::Balance);
        let mut unrepeated = BloomEncoder::new(&key(), "address", 16, Hardening::Balance);
        for i in 0..2 * PART_SAMPLE {
            let family = format!("ヤマ{}", i % 50);
            let address = format!("本町{i}番");
            let mut fresh = BloomEncoder::new(&key(), "kana", 16, Hardening::Balance);
            assert_eq!(repeated.encode_parts(&[&family], false), fresh.encode_parts(&[&family], false));
            let mut fresh = BloomEncoder::new(&key(), "address", 16, Hardening::Balance);
            assert_eq!(unrepeated.encode_parts(&[&address], false), fresh.encode_parts(&[&address], false));
        }
        assert!(repeated.parts.caching && repeated.parts.bits[0].len() == 50);
        assert!(!unrepeated.parts.caching && unrepeated.parts.bits[0].is_empty());
    }

    #[test]
    fn balanced_filters_all_have_half_their_bits_set() {
        let mut e = BloomEncoder::new(&key(), "name", 16, Hardening::Balance);
        for s in [["高橋", "太郎"], ["", "x"], ["長い名前のひと", "とてもながいなまえ"]] {
            let f = enc(&mut e, &s);
            let ones: u32 = f.iter().map(|b| b.count_ones()).sum();
            assert_eq!(ones as usize, BLOOM_BITS);
        }
    }

    #[test]
    fn keys_and_fields_change_every_position() {
        let mut a = BloomEncoder::new(&key(), "name", 16, Hardening::None);
        let mut b = BloomEncoder::new(&key(), "kana", 16, Hardening::None);
        let other = LinkageKey::from_bytes(Zeroizing::new([6; KEY_BYTES]));
        let mut c = BloomEncoder::new(&other, "name", 16, Hardening::None);
        let fa = enc(&mut a, &["高橋"]);
        assert!(dice(&fa, &enc(&mut b, &["高橋"])) < 0.3);
        assert!(dice(&fa, &enc(&mut c, &["高橋"])) < 0.3);
    }

    #[test]
    fn balancing_matches_its_definition() {
        // out bit P(i) = bit i, out bit P(i + m) = ¬ bit i, for every i
        let mut e = BloomEncoder::new(&key(), "name", 16, Hardening::Balance);
        let mut plain = BloomEncoder::new(&key(), "name", 16, Hardening::None);
        let (b, p) = (enc(&mut e, &["高橋", "太郎"]), enc(&mut plain, &["高橋", "太郎"]));
        let bit = |v: &[u8], i: usize| (v[i / 8] >> (i % 8)) & 1;
        for i in 0..BLOOM_BITS {
            assert_eq!(bit(&b, e.permutation[i] as usize), bit(&p, i));
            assert_eq!(bit(&b, e.permutation[i + BLOOM_BITS] as usize), 1 - bit(&p, i));
        }
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = keyed_permutation(&[1; KEY_BYTES], 2048);
        p.sort_unstable();
        assert!(p.iter().enumerate().all(|(i, &v)| i == v as usize));
    }
}
