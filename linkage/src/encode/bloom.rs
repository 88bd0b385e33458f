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

/// Encodes q-gram sets of one field.
pub struct BloomEncoder {
    key: Zeroizing<[u8; KEY_BYTES]>,
    spec: BloomSpec,
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
    pub fn encode_parts(&self, parts: &[&str], unigrams: bool) -> Vec<u8> {
        let mut words = [0u64; BLOOM_BITS / 64];
        let mut gram = [0u8; 8];
        for part in parts.iter().filter(|p| !p.is_empty()) {
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
        }
        self.harden(&words)
    }

    /// Sets the `k` positions of one q-gram: 16-bit lanes of one keyed BLAKE3 output.
    fn set(&self, words: &mut [u64; BLOOM_BITS / 64], gram: &[u8]) {
        let h = blake3::keyed_hash(&self.key, gram);
        let bytes = h.as_bytes();
        for i in 0..self.spec.k as usize {
            let p = u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]) as usize % BLOOM_BITS;
            words[p / 64] |= 1 << (p % 64);
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

    fn enc(e: &BloomEncoder, s: &[&str]) -> Vec<u8> {
        e.encode_parts(s, true)
    }

    /// Blocking on the encoding's exact key (`key_bf_name`) relies on this: the parts are one
    /// set of q-grams, so a swapped given and family name encodes the same.
    #[test]
    fn swapped_name_parts_encode_the_same_and_other_names_do_not() {
        for h in [Hardening::None, Hardening::Balance, Hardening::XorFold] {
            let e = BloomEncoder::new(&key(), "name", 16, h);
            assert_eq!(enc(&e, &["lucy", "fitzpatrick"]), enc(&e, &["fitzpatrick", "lucy"]), "{h:?}");
            assert_ne!(enc(&e, &["lucy", "fitzpatrick"]), enc(&e, &["lucy", "fitzpatric"]), "{h:?}");
            assert_ne!(enc(&e, &["高橋", "太郎"]), enc(&e, &["高橋太郎"]), "{h:?}: the split is part of the key");
        }
    }

    #[test]
    fn similar_names_are_closer_than_different_ones_in_every_hardening() {
        for h in [Hardening::None, Hardening::Balance, Hardening::XorFold] {
            let e = BloomEncoder::new(&key(), "name", 16, h);
            let a = enc(&e, &["高橋", "太郎"]);
            let b = enc(&e, &["高橋", "太朗"]);
            let c = enc(&e, &["佐藤", "花子"]);
            assert_eq!(a.len(), e.bytes());
            assert_eq!(dice(&a, &a), 1.0);
            // balancing lifts every Dice toward 1; compare gaps relative to the room left
            let (near, far) = (dice(&a, &b), dice(&a, &c));
            assert!((near - far) / (1.0 - far) > 0.5, "{h:?}: {near} vs {far}");
        }
    }

    #[test]
    fn balanced_filters_all_have_half_their_bits_set() {
        let e = BloomEncoder::new(&key(), "name", 16, Hardening::Balance);
        for s in [["高橋", "太郎"], ["", "x"], ["長い名前のひと", "とてもながいなまえ"]] {
            let f = enc(&e, &s);
            let ones: u32 = f.iter().map(|b| b.count_ones()).sum();
            assert_eq!(ones as usize, BLOOM_BITS);
        }
    }

    #[test]
    fn keys_and_fields_change_every_position() {
        let a = BloomEncoder::new(&key(), "name", 16, Hardening::None);
        let b = BloomEncoder::new(&key(), "kana", 16, Hardening::None);
        let other = LinkageKey::from_bytes(Zeroizing::new([6; KEY_BYTES]));
        let c = BloomEncoder::new(&other, "name", 16, Hardening::None);
        let fa = enc(&a, &["高橋"]);
        assert!(dice(&fa, &enc(&b, &["高橋"])) < 0.3);
        assert!(dice(&fa, &enc(&c, &["高橋"])) < 0.3);
    }

    #[test]
    fn balancing_matches_its_definition() {
        // out bit P(i) = bit i, out bit P(i + m) = ¬ bit i, for every i
        let e = BloomEncoder::new(&key(), "name", 16, Hardening::Balance);
        let plain = BloomEncoder::new(&key(), "name", 16, Hardening::None);
        let (b, p) = (enc(&e, &["高橋", "太郎"]), enc(&plain, &["高橋", "太郎"]));
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
