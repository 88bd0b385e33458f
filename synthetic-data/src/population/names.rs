//! Japanese family and given names with readings, weighted so that common names collide as
//! often as in a real registry (see `data/README.md` for the source).

use std::collections::HashMap;
use std::sync::LazyLock;

use rand::Rng;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;

/// A name in kanji with its katakana reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name {
    pub kanji: &'static str,
    pub kana: &'static str,
}

pub struct NameTable {
    pub names: Vec<Name>,
    index: WeightedIndex<f64>,
    /// Indices of the names of each reading, for homophones.
    by_reading: HashMap<&'static str, Vec<usize>>,
}

impl NameTable {
    fn parse(text: &'static str, weight: impl Fn(usize) -> f64) -> NameTable {
        let names: Vec<Name> =
            text.lines().filter_map(|l| l.split_once('\t')).map(|(kanji, kana)| Name { kanji, kana }).collect();
        let weights: Vec<f64> = (0..names.len()).map(weight).collect();
        // PANIC SAFETY: the tables are embedded, non-empty and the weights positive; a unit test
        // loads every table.
        #[allow(clippy::expect_used)]
        let index = WeightedIndex::new(&weights).expect("embedded name table is non-empty");
        let mut by_reading: HashMap<&'static str, Vec<usize>> = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            by_reading.entry(n.kana).or_default().push(i);
        }
        NameTable { names, index, by_reading }
    }

    pub fn draw<R: Rng>(&self, rng: &mut R) -> Name {
        self.names[self.index.sample(rng)]
    }

    fn homophones(&self, name: Name) -> impl Iterator<Item = Name> + '_ {
        self.by_reading
            .get(name.kana)
            .into_iter()
            .flatten()
            .map(|&i| self.names[i])
            .filter(move |n| n.kanji != name.kanji)
    }

    /// Whether another name has the same reading and different kanji.
    pub fn has_homophone(&self, name: Name) -> bool {
        self.homophones(name).next().is_some()
    }

    /// Another name with the same reading and different kanji, if the table has one.
    pub fn homophone<R: Rng>(&self, name: Name, rng: &mut R) -> Option<Name> {
        let same: Vec<Name> = self.homophones(name).collect();
        (!same.is_empty()).then(|| same[rng.random_range(0..same.len())])
    }
}

/// Family names in national frequency order: Zipf-like weight by rank.
pub static FAMILY: LazyLock<NameTable> = LazyLock::new(|| {
    NameTable::parse(include_str!("../../data/family.tsv"), |rank| 1.0 / ((rank as f64) + 10.0).powf(0.75))
});

/// Given names are listed by reading, not by popularity: a fixed pseudo-random popularity rank
/// (independent of the user's seed) gives them a realistic skew.
fn given_weight(i: usize) -> f64 {
    let rank = (i as u64).wrapping_mul(2_654_435_761) % 10_007;
    1.0 / ((rank as f64) + 30.0).powf(0.6)
}

pub static GIVEN_MALE: LazyLock<NameTable> =
    LazyLock::new(|| NameTable::parse(include_str!("../../data/given_male.tsv"), given_weight));

pub static GIVEN_FEMALE: LazyLock<NameTable> =
    LazyLock::new(|| NameTable::parse(include_str!("../../data/given_female.tsv"), given_weight));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_load_with_readings_in_katakana() {
        for t in [&*FAMILY, &*GIVEN_MALE, &*GIVEN_FEMALE] {
            assert!(t.names.len() > 400);
            for n in &t.names {
                assert!(!n.kanji.is_empty());
                assert!(n.kana.chars().all(|c| ('\u{30A1}'..='\u{30FC}').contains(&c)), "{}", n.kana);
            }
        }
    }
}
