//! Keyed Bloom-filter encodings for fuzzy comparison (Schnell, Bachteler and Reiher 2009), one
//! filter per field, as clkhash schemas do, with random hashing instead of double hashing.
//!
//! Each q-gram sets `k` bit positions drawn from one keyed BLAKE3 output (XOF), under a key
//! derived for this field, so positions of different q-grams share no linear pattern. Filters
//! are compared by Dice similarity.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::key::{KEY_BYTES, LinkageKey};

/// Bits of an unhardened filter.
pub const BLOOM_BITS: usize = 1024;

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
        BloomEncoder {
            key,
            spec: BloomSpec { field: field.to_string(), k: k.clamp(1, 64), hardening, bits },
            permutation,
        }
    }

    pub fn spec(&self) -> &BloomSpec {
        &self.spec
    }

    /// Bytes of an encoded filter.
    pub fn bytes(&self) -> usize {
        self.spec.bits / 8
    }

    /// The filter of a set of q-grams, as little-endian 64-bit words in bytes.
    pub fn encode<'a>(&self, grams: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
        let mut words = [0u64; BLOOM_BITS / 64];
        let mut positions = [0u8; 128];
        let k = self.spec.k as usize;
        for gram in grams {
            let mut h = blake3::Hasher::new_keyed(&self.key);
            h.update(gram.as_bytes());
            h.finalize_xof().fill(&mut positions[..2 * k]);
            for i in 0..k {
                let p = u16::from_le_bytes([positions[2 * i], positions[2 * i + 1]]) as usize % BLOOM_BITS;
                words[p / 64] |= 1 << (p % 64);
            }
        }
        match self.spec.hardening {
            Hardening::None => words_to_bytes(&words),
            Hardening::XorFold => {
                let half = words.len() / 2;
                let folded: Vec<u64> = (0..half).map(|i| words[i] ^ words[i + half]).collect();
                words_to_bytes(&folded)
            }
            Hardening::Balance => {
                // input bit i goes to permutation[i] when set, its complement bit
                // (i + BLOOM_BITS) to permutation[i + BLOOM_BITS] when not
                let mut out = [0u64; 2 * BLOOM_BITS / 64];
                for i in 0..BLOOM_BITS {
                    // branch-free: the bits are random, so a branch would mispredict half the time
                    let unset = (!(words[i / 64] >> (i % 64)) & 1) as usize;
                    let p = self.permutation[i + unset * BLOOM_BITS] as usize;
                    out[p / 64] |= 1 << (p % 64);
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

/// Padded character bigrams of each part (`_高`, `高橋`, `橋_`), and unigrams when `unigrams`.
pub fn qgrams(parts: &[&str], unigrams: bool) -> Vec<String> {
    let mut grams = Vec::new();
    for part in parts.iter().filter(|p| !p.is_empty()) {
        let chars: Vec<char> = std::iter::once('_').chain(part.chars()).chain(std::iter::once('_')).collect();
        for w in chars.windows(2) {
            grams.push(w.iter().collect());
        }
        if unigrams {
            grams.extend(part.chars().map(|c| c.to_string()));
        }
    }
    grams.sort();
    grams.dedup();
    grams
}

/// Dice similarity of two filters of equal length: 2|A∩B| / (|A|+|B|); 0 for two empty filters.
pub fn dice(a: &[u8], b: &[u8]) -> f64 {
    let (mut both, mut total) = (0u32, 0u32);
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let (mut xa, mut yb) = ([0u8; 8], [0u8; 8]);
        xa.copy_from_slice(x);
        yb.copy_from_slice(y);
        let (x, y) = (u64::from_le_bytes(xa), u64::from_le_bytes(yb));
        both += (x & y).count_ones();
        total += x.count_ones() + y.count_ones();
    }
    if total == 0 { 0.0 } else { 2.0 * f64::from(both) / f64::from(total) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LinkageKey {
        LinkageKey::from_bytes(Zeroizing::new([5; KEY_BYTES]))
    }

    fn enc(e: &BloomEncoder, s: &[&str]) -> Vec<u8> {
        let g = qgrams(s, true);
        e.encode(g.iter().map(String::as_str))
    }

    #[test]
    fn similar_names_are_closer_than_different_ones_in_every_hardening() {
        for h in [Hardening::None, Hardening::Balance, Hardening::XorFold] {
            let e = BloomEncoder::new(&key(), "name", 20, h);
            let a = enc(&e, &["高橋", "太郎"]);
            let b = enc(&e, &["高橋", "太朗"]);
            let c = enc(&e, &["佐藤", "花子"]);
            assert_eq!(a.len(), e.bytes());
            assert_eq!(dice(&a, &a), 1.0);
            assert!(dice(&a, &b) > dice(&a, &c) + 0.2, "{h:?}: {} vs {}", dice(&a, &b), dice(&a, &c));
        }
    }

    #[test]
    fn balanced_filters_all_have_half_their_bits_set() {
        let e = BloomEncoder::new(&key(), "name", 20, Hardening::Balance);
        for s in [["高橋", "太郎"], ["", "x"], ["長い名前のひと", "とてもながいなまえ"]] {
            let f = enc(&e, &s);
            let ones: u32 = f.iter().map(|b| b.count_ones()).sum();
            assert_eq!(ones as usize, BLOOM_BITS);
        }
    }

    #[test]
    fn keys_and_fields_change_every_position() {
        let a = BloomEncoder::new(&key(), "name", 20, Hardening::None);
        let b = BloomEncoder::new(&key(), "kana", 20, Hardening::None);
        let other = LinkageKey::from_bytes(Zeroizing::new([6; KEY_BYTES]));
        let c = BloomEncoder::new(&other, "name", 20, Hardening::None);
        let fa = enc(&a, &["高橋"]);
        assert!(dice(&fa, &enc(&b, &["高橋"])) < 0.3);
        assert!(dice(&fa, &enc(&c, &["高橋"])) < 0.3);
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = keyed_permutation(&[1; KEY_BYTES], 2048);
        p.sort_unstable();
        assert!(p.iter().enumerate().all(|(i, &v)| i == v as usize));
    }
}
