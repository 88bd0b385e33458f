//! Residual blocking: Hamming locality-sensitive hashing on the Bloom encodings, for the records
//! the token rules left without a partner.
//!
//! Token rules need some token to agree exactly; a record with a typo in every blocked field
//! (name, birth date and address all slightly wrong) never meets its partner. After the first
//! model has scored the rules' pairs, every record that has no pair at or above the threshold is
//! *residual*. Each band samples bit positions of the records' concatenated Bloom encodings
//! (the same positions for every record, drawn from the seed); records whose sampled bits are
//! all equal share a bucket, and a bucket yields the pairs that hold at least one residual
//! record. Two encodings that agree on a share `s` of their bits meet in one band with chance
//! `s^b` and in any of `L` bands with `1 − (1 − s^b)^L`: similar encodings meet, unrelated ones
//! rarely do.
//!
//! The bits per band are not fixed: each band takes the fewest (from [`MIN_BITS`], found by
//! bisection) whose pairs with a residual record fit the budget (`pairs_per_record` × the
//! residual records that can still find a partner, see [`seekers`]), so the cost stays proportional to the residual records at any size and the bands
//! grow stricter only where the encodings crowd; a residual record walks only the bucket members
//! it may pair with. When even every sampled bit leaves a band over budget (identical encodings),
//! it pairs only its smallest buckets, up to the budget. The pairs found are scored by the model
//! already fitted (they never train it), so a pair this step finds weighs exactly what it would
//! have weighed had a token rule found it.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use super::records::Records;

/// Bits a band samples at least; fewer would put most unrelated encodings in one bucket.
pub const MIN_BITS: u32 = 8;
/// Bits a band samples at most (one 64-bit word per record and band).
const MAX_BITS: u32 = 64;
/// Budget of a band when there are few residual records.
const MIN_BUDGET: u64 = 1_000;

/// What the step did, for quality.json (never a key or an encoding).
#[derive(Clone, Debug, Default, Serialize)]
pub struct LshReport {
    /// Bloom encodings concatenated; a field some department does not carry is left out.
    pub fields: Vec<String>,
    pub bands: u32,
    /// Records with no pair at or above the first model's threshold.
    pub residual_records: u64,
    /// Bits each band settled on (64 when even every sampled bit left it over budget: it then
    /// pairs only its smallest buckets, up to the budget).
    pub bits: Vec<u32>,
}

/// A bit position of the concatenated encoding: (field, word, bit).
#[derive(Clone, Copy)]
struct Position {
    field: usize,
    word: usize,
    bit: u32,
}

/// The Bloom fields to concatenate: those named that every department carries.
pub fn usable_fields(records: &Records, wanted: &[String]) -> Vec<String> {
    wanted
        .iter()
        .filter(|f| {
            records.bloom(f).is_some_and(|col| {
                records.departments.iter().all(|d| (d.start..d.start + d.rows).any(|rid| col.ones[rid as usize] != 0))
            })
        })
        .cloned()
        .collect()
}

/// Which departments a record can no longer match into, as bits: the distinct-persons
/// departments (one record per person) it belongs to or already has a partner in at the
/// threshold. A record linked to a registry record cannot be another registry record's person,
/// so a sibling's department record never pairs with a registry record left alone.
pub struct Closed<'a> {
    pub closed: &'a [u64],
    /// Per record: its department's bit when that department holds distinct persons, else 0.
    pub distinct_bit: &'a [u64],
}

impl Closed<'_> {
    #[inline]
    fn allows(&self, x: usize, y: usize) -> bool {
        self.closed[y] & self.distinct_bit[x] == 0 && self.closed[x] & self.distinct_bit[y] == 0
    }
}

/// Pairs `(a << 32) | b`, a < b, found by the bands, that hold at least one residual record and
/// that `closed` allows; sorted and without repeats (pairs the token rules found are still among
/// them).
pub fn residual_pairs(
    records: &Records,
    fields: &[String],
    bands: u32,
    pairs_per_record: u64,
    residual: &[bool],
    closed: &Closed,
    seed: u64,
) -> (Vec<u64>, LshReport) {
    let columns: Vec<&super::records::BloomColumn> = fields.iter().filter_map(|f| records.bloom(f)).collect();
    // a record takes part when it has at least one of the encodings
    let eligible: Vec<bool> = (0..records.len()).map(|rid| columns.iter().any(|c| c.ones[rid] != 0)).collect();
    let residual: Vec<bool> = residual.iter().zip(&eligible).map(|(r, e)| *r && *e).collect();
    let residual = &residual[..];
    let residual_records = residual.iter().filter(|r| **r).count() as u64;
    let mut report =
        LshReport { fields: fields.to_vec(), bands, residual_records, bits: Vec::with_capacity(bands as usize) };
    let total_bits: usize = columns.iter().map(|c| c.words * 64).sum();
    if columns.is_empty() || residual_records == 0 || bands == 0 || total_bits < MAX_BITS as usize {
        return (Vec::new(), report);
    }
    let positions: Vec<Position> = columns
        .iter()
        .enumerate()
        .flat_map(|(field, c)| (0..c.words * 64).map(move |p| Position { field, word: p / 64, bit: (p % 64) as u32 }))
        .collect();
    let budget = pairs_per_record.saturating_mul(seekers(residual, &eligible, closed)).max(MIN_BUDGET);

    // every band's positions, drawn up front so the result does not depend on threads
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x6C73_685F_6261_6E64);
    let samples: Vec<Vec<Position>> = (0..bands)
        .map(|_| {
            rand::seq::index::sample(&mut rng, positions.len(), MAX_BITS as usize)
                .into_iter()
                .map(|i| positions[i])
                .collect()
        })
        .collect();

    let threads = std::thread::available_parallelism().map_or(2, |t| t.get()).min(samples.len());
    let per_band: Vec<(Vec<u64>, u32)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (samples, columns, eligible) = (&samples, &columns, &eligible);
                s.spawn(move || {
                    samples
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i % threads == t)
                        .map(|(i, sample)| (i, band(columns, sample, eligible, residual, closed, budget)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, (Vec<u64>, u32))> =
            handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect();
        all.sort_unstable_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, r)| r).collect()
    });
    let mut pairs = Vec::new();
    for (p, bits) in per_band {
        report.bits.push(bits);
        pairs.extend(p);
    }
    pairs.sort_unstable();
    pairs.dedup();
    (pairs, report)
}

/// Adds one to `counts[d]` for every department bit `d` set in `mask`.
#[inline]
fn count_departments(mut mask: u64, counts: &mut [u64; 64]) {
    while mask != 0 {
        counts[mask.trailing_zeros() as usize] += 1;
        mask &= mask - 1;
    }
}

/// How many residual records can still find a partner, at most: a residual record of a
/// department that may hold a person twice can pair with anyone; those of a distinct-persons
/// department D only with the records open to D, each at most once, so no more of them than
/// there are such records. (A registry mostly left alone beside a small department spends the
/// budget on the few records that can still link, not on every registry record.)
fn seekers(residual: &[bool], eligible: &[bool], closed: &Closed) -> u64 {
    let mut residual_in = [0u64; 64];
    let mut open_to = [0u64; 64];
    let mut free = 0u64;
    let mut departments = 0u64;
    for rid in 0..residual.len() {
        if !eligible[rid] {
            continue;
        }
        let bit = closed.distinct_bit[rid];
        if residual[rid] {
            if bit == 0 {
                free += 1;
            } else {
                residual_in[bit.trailing_zeros() as usize] += 1;
                departments |= bit;
            }
        }
    }
    if departments != 0 {
        for rid in (0..residual.len()).filter(|&r| eligible[r]) {
            count_departments(departments & !closed.closed[rid], &mut open_to);
        }
    }
    free + (0..64).map(|d| residual_in[d].min(open_to[d])).sum::<u64>()
}

/// One band: each eligible record's sampled bits as a word (first sampled position in the top
/// bit), sorted, so that the buckets of the first `b` bits are runs for every `b`; the fewest
/// bits whose buckets fit the budget are found by bisection (finer buckets never hold more pairs).
fn band(
    columns: &[&super::records::BloomColumn],
    sample: &[Position],
    eligible: &[bool],
    residual: &[bool],
    closed: &Closed,
    budget: u64,
) -> (Vec<u64>, u32) {
    let mut words: Vec<(u64, u32)> = eligible
        .iter()
        .enumerate()
        .filter(|(_, e)| **e)
        .map(|(rid, _)| {
            let mut w = 0u64;
            for p in sample {
                let c = columns[p.field];
                let bit = c.data[rid * c.words + p.word] >> p.bit & 1;
                w = (w << 1) | bit;
            }
            (w, rid as u32)
        })
        .collect();
    words.sort_unstable();
    // the flags in sorted order, so that counting passes read memory in sequence
    let is_residual: Vec<bool> = words.iter().map(|(_, r)| residual[*r as usize]).collect();
    let closed_of: Vec<u64> = words.iter().map(|(_, r)| closed.closed[*r as usize]).collect();
    let bit_of: Vec<u64> = words.iter().map(|(_, r)| closed.distinct_bit[*r as usize]).collect();
    // partners of the residual records in one bucket (an upper bound: a pair of two residual
    // records counts twice); `closed_in[d]`: members closed to distinct department d
    let bucket_pairs = |start: usize, end: usize| -> u64 {
        let mut closed_in = [0u64; 64];
        for &c in &closed_of[start..end] {
            count_departments(c, &mut closed_in);
        }
        let n = (end - start) as u64;
        (start..end)
            .filter(|&i| is_residual[i])
            .map(|i| if bit_of[i] == 0 { n - 1 } else { n - closed_in[bit_of[i].trailing_zeros() as usize] })
            .sum()
    };
    // the same over all buckets of the first `b` bits, counted until it passes the budget
    let pairs_at = |b: u32| -> u64 {
        let mut total = 0u64;
        for_each_bucket(&words, b, |start, end| {
            if total <= budget {
                total += bucket_pairs(start, end);
            }
        });
        total
    };
    let (mut lo, mut hi) = (MIN_BITS, MAX_BITS);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if pairs_at(mid) > budget { lo = mid + 1 } else { hi = mid }
    }
    let bits = lo;
    // the buckets to pair: all of them, or, when even every sampled bit leaves the band over
    // budget (encodings identical on all of them crowd a bucket), the smallest buckets that fit
    let mut buckets: Vec<(u64, usize, usize)> = Vec::new();
    for_each_bucket(&words, bits, |start, end| buckets.push((bucket_pairs(start, end), start, end)));
    if buckets.iter().map(|b| b.0).sum::<u64>() > budget {
        buckets.sort_unstable();
        let mut total = 0u64;
        buckets.retain(|b| {
            total += b.0;
            total <= budget
        });
        buckets.sort_unstable_by_key(|b| b.1);
    }
    let mut out = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for &(_, start, end) in &buckets {
        // residual records by the department they may not pair into (0: none), so that each
        // walks only the members open to it rather than the whole bucket
        let mut kinds: Vec<u64> = (start..end).filter(|&i| is_residual[i]).map(|i| bit_of[i]).collect();
        kinds.sort_unstable();
        kinds.dedup();
        for kind in kinds {
            open.clear();
            open.extend((start..end).filter(|&j| closed_of[j] & kind == 0));
            for i in (start..end).filter(|&i| is_residual[i] && bit_of[i] == kind) {
                let x = words[i].1;
                for &j in &open {
                    // a pair of two residual records once, from its first member
                    if i == j || (is_residual[j] && j < i) {
                        continue;
                    }
                    let y = words[j].1;
                    if closed.allows(x as usize, y as usize) {
                        let (a, b) = (x.min(y), x.max(y));
                        out.push(((a as u64) << 32) | b as u64);
                    }
                }
            }
        }
    }
    (out, bits)
}

/// Calls `f(start, end)` on each run of `words` that agrees on the first `bits` bits and holds
/// two or more.
fn for_each_bucket(words: &[(u64, u32)], bits: u32, mut f: impl FnMut(usize, usize)) {
    let shift = 64 - bits;
    let mut start = 0;
    while start < words.len() {
        let key = words[start].0 >> shift;
        let mut end = start + 1;
        while end < words.len() && words[end].0 >> shift == key {
            end += 1;
        }
        if end - start > 1 {
            f(start, end);
        }
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::records::{BloomColumn, Department};

    fn records(filters: &[[u64; 16]]) -> Records {
        let n = filters.len();
        let data: Vec<u64> = filters.iter().flat_map(|f| f.iter().copied()).collect();
        let mut blooms = std::collections::BTreeMap::new();
        blooms.insert("bf_name".to_string(), BloomColumn::new(16, data));
        Records::from_blooms(vec![Department { name: "a".into(), start: 0, rows: n as u32 }], blooms)
    }

    fn random_filter(rng: &mut ChaCha20Rng) -> [u64; 16] {
        let mut f = [0u64; 16];
        for w in &mut f {
            *w = rand::Rng::random(rng);
        }
        f
    }

    #[test]
    fn near_copies_of_a_residual_record_meet_and_unrelated_records_mostly_do_not() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut filters: Vec<[u64; 16]> = (0..2_000).map(|_| random_filter(&mut rng)).collect();
        // record 2000 is record 0 with 5% of its bits flipped (a typo's worth)
        let mut copy = filters[0];
        for k in 0..51 {
            let p = (k * 20 + 3) % 1024;
            copy[p / 64] ^= 1 << (p % 64);
        }
        filters.push(copy);
        let r = records(&filters);
        let mut residual = vec![false; filters.len()];
        residual[0] = true;
        residual[2000] = true;
        let z = vec![0u64; residual.len()];
        let (pairs, report) =
            residual_pairs(&r, &["bf_name".into()], 20, 4, &residual, &Closed { closed: &z, distinct_bit: &z }, 7);
        assert!(pairs.contains(&2000), "the near copy was not found: {pairs:?}");
        // budget: max(4 × 2, 1000) per band; pairs without a residual record are never produced
        assert!(pairs.len() as u64 <= 20 * 1_000);
        assert!(pairs.iter().all(|p| residual[(p >> 32) as usize] || residual[(*p as u32) as usize]));
        assert_eq!(report.bits.len(), 20);
        assert!(report.bits.iter().all(|b| (MIN_BITS..=MAX_BITS).contains(b)));
    }

    #[test]
    fn crowded_encodings_make_bands_stricter_and_stay_within_budget() {
        // 3,000 records that are all near copies of one filter: a fixed 16-bit band would pair them all
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let base = random_filter(&mut rng);
        let filters: Vec<[u64; 16]> = (0..3_000)
            .map(|i| {
                let mut f = base;
                let p = (i * 7919) % 1024;
                f[p / 64] ^= 1 << (p % 64);
                f
            })
            .collect();
        let r = records(&filters);
        let residual: Vec<bool> = (0..3_000).map(|i| i % 10 == 0).collect();
        let z = vec![0u64; residual.len()];
        let (pairs, report) =
            residual_pairs(&r, &["bf_name".into()], 4, 2, &residual, &Closed { closed: &z, distinct_bit: &z }, 7);
        // 64 sampled bits cannot split ~2,800 copies that differ elsewhere: each band pairs only
        // its smallest buckets, within the budget
        assert_eq!(report.bits, vec![MAX_BITS; 4]);
        assert!(pairs.len() <= 4 * 1_000, "{}", pairs.len());

        // 400 variants of one encoding (5% of bits changed) among 2,600 unrelated ones: a
        // 16-bit band would pair thousands of them, so bands take more bits
        let mut filters: Vec<[u64; 16]> = (0..3_000).map(|_| random_filter(&mut rng)).collect();
        for f in filters.iter_mut().take(400) {
            *f = base;
            for _ in 0..51 {
                let p = rand::Rng::random_range(&mut rng, 0..1024usize);
                f[p / 64] ^= 1 << (p % 64);
            }
        }
        let r = records(&filters);
        let residual: Vec<bool> = (0..3_000).map(|i| i % 2 == 0).collect();
        let z = vec![0u64; residual.len()];
        let (pairs, report) =
            residual_pairs(&r, &["bf_name".into()], 4, 2, &residual, &Closed { closed: &z, distinct_bit: &z }, 7);
        assert!(report.bits.iter().all(|b| *b > MIN_BITS && *b < MAX_BITS), "{:?}", report.bits);
        assert!(pairs.len() <= 4 * 3_000, "{}", pairs.len());
    }

    #[test]
    fn the_same_seed_gives_the_same_pairs() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let filters: Vec<[u64; 16]> = (0..500).map(|_| random_filter(&mut rng)).collect();
        let r = records(&filters);
        let residual: Vec<bool> = (0..500).map(|i| i % 3 == 0).collect();
        let z = vec![0u64; residual.len()];
        let (p1, _) =
            residual_pairs(&r, &["bf_name".into()], 8, 4, &residual, &Closed { closed: &z, distinct_bit: &z }, 11);
        let (p2, _) =
            residual_pairs(&r, &["bf_name".into()], 8, 4, &residual, &Closed { closed: &z, distinct_bit: &z }, 11);
        assert_eq!(p1, p2);
        assert!(p1.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_record_already_linked_into_a_distinct_department_is_not_paired_with_its_records() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let mut filters: Vec<[u64; 16]> = (0..300).map(|_| random_filter(&mut rng)).collect();
        // records 1, 2 and 3 are copies of record 0
        for k in 1..4 {
            filters[k] = filters[0];
        }
        let r = records(&filters);
        // 0 and 3 sit in a distinct-persons department (bit 1); 1 and 2 in another (bit 0 = not
        // distinct); 1 already has a partner in department 1; 0 is residual
        let mut residual = vec![false; 300];
        residual[0] = true;
        let mut distinct_bit = vec![0u64; 300];
        let mut closed = vec![0u64; 300];
        for k in [0, 3] {
            distinct_bit[k] = 2;
            closed[k] = 2;
        }
        closed[1] = 2;
        let c = Closed { closed: &closed, distinct_bit: &distinct_bit };
        let (pairs, _) = residual_pairs(&r, &["bf_name".into()], 4, 4, &residual, &c, 5);
        assert!(pairs.contains(&2), "{pairs:?}");
        assert!(!pairs.contains(&1), "a record linked into the department was paired: {pairs:?}");
        assert!(!pairs.contains(&3), "two records of a distinct-persons department were paired: {pairs:?}");
    }

    #[test]
    fn a_department_left_alone_counts_only_as_many_seekers_as_records_open_to_it() {
        // records 0..100: a distinct-persons department (bit 1), all residual; 100..103: another
        // department's records not linked into it; 103..110: linked into it; 110: residual, free
        let n = 111;
        let residual: Vec<bool> = (0..n).map(|r| r < 100 || r == 110).collect();
        let distinct_bit: Vec<u64> = (0..n).map(|r| if r < 100 { 2 } else { 0 }).collect();
        let closed: Vec<u64> = (0..n).map(|r| if r < 100 || (103..110).contains(&r) { 2 } else { 0 }).collect();
        let c = Closed { closed: &closed, distinct_bit: &distinct_bit };
        // 3 + record 110 itself open to it, and record 110 free
        assert_eq!(seekers(&residual, &vec![true; n], &c), 4 + 1);
        // records without an encoding take no part
        let eligible: Vec<bool> = (0..n).map(|r| r != 100).collect();
        assert_eq!(seekers(&residual, &eligible, &c), 3 + 1);
    }
}
