//! What a pair's other candidates say when a department holds one record per person.
//!
//! Fellegi–Sunter scores each pair on its own: the prior λ is the same for every pair, and a
//! pair that agrees only on a birth date and a postcode stays unlikely. When department B holds
//! distinct persons (a resident registry, or an extract declared in `[linkage] distinct_within`),
//! a record `a` of another department A has at most one match in B, and most records of A have
//! one (the share π of A with a match, from the model's own expected matches). Then the data of
//! `a`'s *other* pairs is evidence too: if none of them looks like a match, `a`'s match is most
//! likely `b`. With `a`'s other candidates' Bayes factors summing to S (pairs left out by
//! blocking count as non-matches, as the model already treats them), the likelihood ratio of
//! those other pairs, given `a = b` against `a ≠ b`, is
//!
//! ```text
//!     R_a = 1 / ((1 − π) + π · S / |B|)
//! ```
//!
//! (under `a ≠ b`, `a` has its match elsewhere in B with probability π, at a uniformly chosen
//! partner whose likelihood ratio is that pair's Bayes factor). No competitor at all raises the
//! pair by at most 1/(1 − π). A strong competitor (S > |B|) would make R_a < 1; that part is
//! left out (R_a is kept ≥ 1), because constrained clustering already settles competitors (two
//! records of a distinct department never join one person) and lowering only the pairs that
//! touch distinct departments would reorder merges against pairs the adjustment cannot reach.
//! π counts each record's expected matches in B at most once.
//! When A holds distinct persons too, `b`'s other candidates in A give R_b the same way; the two
//! sets of pairs are disjoint, so the weights add.
//!
//! Only pairs between two distinct-persons departments are adjusted. One-sided (a department
//! that may hold several records of a person, or persons absent from the other), the share π
//! is an average that hides who has no match at all: on the synthetic city, children whose
//! registry record is missing (moved out) have a twin or sibling as their lone registry
//! candidate, and raising those pairs cost 0.0005 of precision at 100,000 records while gaining
//! nothing. Pairs within one department are left as they are too.
//!
//! This is the record-level form of the one-to-one assumption that Splink applies afterwards as
//! a clustering constraint (its FEBRL4 figure "with one-to-one"); here it enters the match
//! weight, so the threshold, the expected precision and recall, and clustering all see it.

use super::records::Department;

/// The share π of one department's records with a match in a distinct-persons department.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Share {
    pub from: String,
    pub to: String,
    pub share: f64,
}

/// The adjustment of every pair (log₂, added to its match weight), and the shares it used.
pub struct Adjustments {
    pub weights: Vec<f32>,
    pub shares: Vec<Share>,
}

/// The one-to-one adjustment of every pair.
///
/// `pairs` hold two record ids each (high and low 32 bits), `department_of` each record's index
/// into `departments`; `weights` are the pairs' match weights with the prior log₂(λ/(1−λ))
/// included; `distinct[d]` says that department `d` holds one record per person.
pub fn adjustments(
    departments: &[Department],
    department_of: &[u16],
    pairs: &[u64],
    weights: &[f32],
    lambda: f64,
    distinct: &[bool],
) -> Adjustments {
    let mut out = vec![0f32; pairs.len()];
    // only pairs between two distinct departments are adjusted
    if distinct.iter().filter(|d| **d).count() < 2 || lambda <= 0.0 || lambda >= 1.0 {
        return Adjustments { weights: out, shares: Vec::new() };
    }
    let nd = departments.len();
    let prior = (lambda / (1.0 - lambda)).log2();
    let bayes_factor: Vec<f64> = weights.iter().map(|w| (*w as f64 - prior).exp2()).collect();
    let dept = |r: u32| department_of[r as usize] as usize;

    // column of each distinct department in the per-record sums
    let mut column = vec![usize::MAX; nd];
    let mut k = 0;
    for (d, is) in distinct.iter().enumerate() {
        if *is {
            column[d] = k;
            k += 1;
        }
    }
    // per (record, distinct department): S, the Bayes factors of its candidates there, and the
    // expected number of its matches there (at most one counts towards π)
    let mut sum = vec![0f64; department_of.len() * k];
    let mut matches = vec![0f64; department_of.len() * k];
    // (only pairs between two distinct departments are adjusted, so only they are summed)
    let adjusted = |da: usize, db: usize| da != db && distinct[da] && distinct[db];
    for (i, p) in pairs.iter().enumerate() {
        let (a, b) = ((p >> 32) as u32, *p as u32);
        let (da, db) = (dept(a), dept(b));
        if !adjusted(da, db) {
            continue;
        }
        let pr = super::score::probability(weights[i]);
        sum[a as usize * k + column[db]] += bayes_factor[i];
        matches[a as usize * k + column[db]] += pr;
        sum[b as usize * k + column[da]] += bayes_factor[i];
        matches[b as usize * k + column[da]] += pr;
    }
    let mut expected = vec![0f64; nd * nd];
    for r in 0..department_of.len() {
        let from = dept(r as u32);
        for (to, c) in column.iter().enumerate() {
            if *c != usize::MAX && adjusted(from, to) {
                expected[from * nd + to] += matches[r * k + c].min(1.0);
            }
        }
    }
    let size = |d: usize| departments[d].rows as f64;
    // π: the share of A's records with a match in B, kept below 1 by half a record so that a
    // lone candidate is never certain
    let share: Vec<f64> = (0..nd * nd)
        .map(|x| {
            let (from, to) = (x / nd, x % nd);
            if !adjusted(from, to) {
                return 0.0;
            }
            (expected[x] / size(from)).clamp(0.0, 1.0 - 0.5 / size(from))
        })
        .collect();
    // only the evidence of absent competitors: a strong competitor is left to clustering,
    // whose cannot-link constraint already keeps two records of a distinct department apart
    let ratio = |from: usize, to: usize, record: u32, own: f64| {
        let pi = share[from * nd + to];
        let others = (sum[record as usize * k + column[to]] - own).max(0.0);
        (-((1.0 - pi) + pi * others / size(to)).log2()).max(0.0)
    };
    for (i, p) in pairs.iter().enumerate() {
        let (a, b) = ((p >> 32) as u32, *p as u32);
        let (da, db) = (dept(a), dept(b));
        if adjusted(da, db) {
            out[i] = (ratio(da, db, a, bayes_factor[i]) + ratio(db, da, b, bayes_factor[i])) as f32;
        }
    }
    let shares = (0..nd * nd)
        .filter(|x| adjusted(x / nd, x % nd))
        .map(|x| Share {
            from: departments[x / nd].name.clone(),
            to: departments[x % nd].name.clone(),
            share: share[x],
        })
        .collect();
    Adjustments { weights: out, shares }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn department(name: &str, start: u32, rows: u32) -> Department {
        Department { name: name.into(), start, rows }
    }

    fn pair(a: u32, b: u32) -> u64 {
        (u64::from(a) << 32) | u64::from(b)
    }

    /// Two files of 100 distinct persons each, a registry (records 0..100) and a department
    /// (100..200), each with its one strong candidate in the registry (weight 20), and record 100
    /// with a weak one (weight −4) besides.
    fn city() -> (Vec<Department>, Vec<u16>, Vec<u64>, Vec<f32>) {
        let departments = vec![department("registry", 0, 100), department("welfare", 100, 100)];
        let department_of: Vec<u16> = (0..200).map(|r| u16::from(r >= 100)).collect();
        let mut pairs = Vec::new();
        let mut weights = Vec::new();
        for r in 101..200 {
            pairs.push(pair(r - 100, r));
            weights.push(20.0);
        }
        pairs.push(pair(0, 100));
        weights.push(-4.0);
        (departments, department_of, pairs, weights)
    }

    #[test]
    fn a_lone_candidate_in_a_distinct_department_is_raised_by_at_most_one_over_one_minus_pi() {
        let (departments, department_of, pairs, weights) = city();
        let lambda = 100.0 / (200.0 * 199.0 / 2.0);
        let a = adjustments(&departments, &department_of, &pairs, &weights, lambda, &[true, true]);
        let lone = *a.weights.last().unwrap();
        // π = 99 expected matches (the weak pair adds little) / 100 records, on either side
        let share = a.shares.iter().find(|s| s.from == "welfare" && s.to == "registry").unwrap().share;
        assert!((share - 0.99).abs() < 0.01, "{share}");
        let most = -2.0 * (1.0 - share).log2();
        assert!(lone > 10.0 && f64::from(lone) <= most + 1e-3, "{lone} (at most {most})");
        // one side distinct (welfare may hold a person twice, or persons the registry lacks):
        // nothing changes
        for distinct in [[true, false], [false, true], [false, false]] {
            let a = adjustments(&departments, &department_of, &pairs, &weights, lambda, &distinct);
            assert!(a.weights.iter().all(|w| *w == 0.0), "{distinct:?}");
        }
    }

    #[test]
    fn a_record_whose_match_is_already_strong_gains_nothing_for_a_weak_competitor() {
        let (departments, department_of, mut pairs, mut weights) = city();
        // record 101 (matched strongly to registry 1) also meets registry 0 weakly
        pairs.push(pair(0, 101));
        weights.push(-4.0);
        let lambda = 100.0 / (200.0 * 199.0 / 2.0);
        let a = adjustments(&departments, &department_of, &pairs, &weights, lambda, &[true, true]);
        // record 101's view adds nothing; registry 0's view (its other candidate is weak) alone
        // raises the pair, by at most 1/(1 − π); clustering keeps registry 0 and 1 apart
        let share = a.shares[0].share;
        let competitor = f64::from(*a.weights.last().unwrap());
        assert!(competitor > 1.0 && competitor <= -(1.0 - share).log2() + 1e-3, "{competitor}");
        // the strong pairs are never lowered
        assert!(a.weights.iter().all(|w| *w >= 0.0));
    }

    #[test]
    fn pairs_inside_one_department_are_left_alone() {
        let departments = vec![department("a", 0, 4)];
        let department_of = vec![0u16; 4];
        let pairs = vec![pair(0, 1), pair(2, 3)];
        let a = adjustments(&departments, &department_of, &pairs, &[-3.0, 10.0], 0.1, &[true]);
        assert_eq!(a.weights, vec![0.0, 0.0]);
    }
}
