//! Values held by implausibly many rows in a column where each person's value is nearly their
//! own (a birth date, a whole name, an address, a municipal number): most likely a system's
//! placeholder for "not known" that the built-in list and `[source] unknown` do not hold. Only
//! counts and line numbers are kept and reported, never a value.

/// Columns watched, with the field they are reported under.
pub(crate) const WATCHED: &[(&str, &str)] = &[
    ("tok_birth_date", "birth_date"),
    ("tok_name", "name"),
    ("tok_kana", "name_kana"),
    ("tok_address", "address"),
    ("tok_resident_id", "resident_id"),
    ("tok_household_id", "household_id"),
    ("tok_national_id", "national_id"),
];

/// Distinct values counted per column, at most: when full, values seen once are forgotten. A
/// frequent value is met again before it can be forgotten, so its count stays (a lower bound).
const MAX_COUNTED: usize = 1 << 15;

/// Lines kept per counted value, to point at.
const LINES: usize = 3;

/// A frequent value is reported when held by at least this many rows,
const MIN_ROWS: u64 = 50;
/// and at least this share of the column's values,
const MIN_SHARE: f64 = 0.01;
/// and this many times the typical count of the column's most common values (so that a
/// one-month birth cohort, where every date is common, raises nothing).
const OVER_TYPICAL: u64 = 10;

/// A value held by implausibly many rows, located by lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frequent {
    /// The field (`birth_date`).
    pub field: String,
    /// The source column.
    pub column: String,
    /// Rows holding it (at least).
    pub rows: u64,
    /// Rows with a value in the column.
    pub of: u64,
    /// The first lines holding it.
    pub lines: Vec<u64>,
}

/// Counts of one watched column's values.
pub(crate) struct Counter {
    pub field: &'static str,
    pub slot: usize,
    counts: std::collections::HashMap<[u8; 16], (u64, [u64; LINES]), ahash::RandomState>,
    total: u64,
}

impl Counter {
    pub fn new(field: &'static str, slot: usize) -> Self {
        Counter { field, slot, counts: Default::default(), total: 0 }
    }

    pub fn add(&mut self, token: &[u8; 16], line: u64) {
        self.total += 1;
        if self.counts.len() >= MAX_COUNTED && !self.counts.contains_key(token) {
            // forget the rarest values until half the room is free (those seen once, then
            // twice, four times…): the next prune is at least MAX_COUNTED / 2 values away
            let mut floor = 1;
            while self.counts.len() >= MAX_COUNTED / 2 {
                self.counts.retain(|_, (n, _)| *n > floor);
                floor *= 2;
            }
        }
        let (n, lines) = self.counts.entry(*token).or_insert((0, [0; LINES]));
        if (*n as usize) < LINES {
            lines[*n as usize] = line;
        }
        *n += 1;
    }

    /// The values this column holds implausibly often, most frequent first.
    pub fn frequent(&self, column: &str) -> Vec<Frequent> {
        let mut top: Vec<&(u64, [u64; LINES])> = self.counts.values().collect();
        // most frequent first, ties by their first line: the same extract reports the same
        top.sort_unstable_by_key(|(n, lines)| (std::cmp::Reverse(*n), lines[0]));
        top.truncate(64);
        let typical = top.get(top.len() / 2).map_or(0, |c| c.0);
        top.iter()
            .filter(|(n, _)| {
                *n >= MIN_ROWS && *n as f64 >= MIN_SHARE * self.total as f64 && *n >= OVER_TYPICAL * typical
            })
            .map(|(n, lines)| Frequent {
                field: self.field.to_string(),
                column: column.to_string(),
                rows: *n,
                of: self.total,
                lines: lines.iter().copied().take(*n as usize).filter(|l| *l > 0).collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(i: u64) -> [u8; 16] {
        let mut t = [0u8; 16];
        t[..8].copy_from_slice(&i.to_le_bytes());
        t
    }

    #[test]
    fn a_placeholder_among_spread_values_is_found_and_a_cohort_is_not() {
        // 100,000 birth dates over 30,000 days, 2,000 of them one dummy date
        let mut spread = Counter::new("birth_date", 0);
        for i in 0..100_000u64 {
            let v = if i % 50 == 7 { 999_999 } else { (i * 7919) % 30_000 };
            spread.add(&token(v), i + 2);
        }
        let f = spread.frequent("生年月日");
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].rows >= 1_900 && f[0].rows <= 2_000 && f[0].of == 100_000, "{f:?}");
        assert_eq!(f[0].lines, vec![9, 59, 109]);
        // mostly values met once, which are forgotten when the counts fill: the dummy stays
        let mut unique = Counter::new("resident_id", 0);
        for i in 0..200_000u64 {
            unique.add(&token(if i % 50 == 7 { u64::MAX } else { i }), i + 2);
        }
        let f = unique.frequent("住民番号");
        assert!(f.len() == 1 && f[0].rows == 4_000, "{f:?}");
        // households of three, in register order: the counts stay bounded
        let mut households = Counter::new("household_id", 0);
        for i in 0..300_000u64 {
            households.add(&token(i / 3), i + 2);
            assert!(households.counts.len() <= MAX_COUNTED);
        }
        assert!(households.frequent("世帯番号").is_empty());
        // a one-month cohort: every date is common, none stands out
        let mut cohort = Counter::new("birth_date", 0);
        for i in 0..3_000u64 {
            cohort.add(&token(i % 30), i + 2);
        }
        assert!(cohort.frequent("生年月日").is_empty());
        // a small extract: no value is frequent below 50 rows
        let mut small = Counter::new("name", 0);
        for i in 0..200u64 {
            small.add(&token(if i % 5 == 0 { 1 } else { i }), i + 2);
        }
        assert!(small.frequent("氏名").is_empty());
    }
}
