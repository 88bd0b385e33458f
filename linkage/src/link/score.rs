//! The Fellegi–Sunter model of a workspace: u from random record pairs, m and λ by EM over the
//! candidate pairs' comparison-pattern counts, term-frequency adjustment of exact name
//! agreement, match weights per pair, and a threshold from the model's own estimate of F1.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use super::LinkError;
use super::blocking::Candidates;
use super::fields::{Comparator, level_of};
use super::records::Records;
use crate::model::fellegi_sunter::{self, Parameters, Pattern};

/// Level counts of random pairs → u per field and level (add-one smoothed).
pub fn estimate_u(
    comparator: &Comparator,
    records: &Records,
    sample: u64,
    seed: u64,
    keep: &(dyn Fn(u32, u32) -> bool + Sync),
) -> Vec<Vec<f64>> {
    let levels = comparator.levels();
    let n = records.len() as u32;
    let threads = std::thread::available_parallelism().map_or(2, |t| t.get()).min(16);
    let per_thread = sample.div_ceil(threads as u64);
    let counts: Vec<Vec<Vec<u64>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let levels = &levels;
                s.spawn(move || {
                    // one stream per thread, derived from the seed: the sample is fixed by the seed
                    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ (t as u64).wrapping_mul(0xA076_1D64_78BD_642F));
                    let mut c: Vec<Vec<u64>> = levels.iter().map(|&l| vec![0; l]).collect();
                    let mut drawn = 0u64;
                    let mut tries = 0u64;
                    while drawn < per_thread && tries < per_thread * 20 && n > 1 {
                        tries += 1;
                        let a = rng.random_range(0..n);
                        let b = rng.random_range(0..n);
                        if a == b || !keep(a.min(b), a.max(b)) {
                            continue;
                        }
                        drawn += 1;
                        let g = comparator.gamma(a, b);
                        // fields bound to the birth year compare only pairs born in the same
                        // year, among which a person's own records are no longer rare; most of
                        // those share the whole birth date, so such pairs tell nothing of u
                        let mut same_date = None;
                        for (f, cf) in c.iter_mut().enumerate() {
                            if comparator.is_salted(f)
                                && *same_date.get_or_insert_with(|| comparator.same_birth_date(a as usize, b as usize))
                            {
                                continue;
                            }
                            if let Some(l) = level_of(g, f) {
                                cf[l as usize] += 1;
                            }
                        }
                    }
                    c
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    levels
        .iter()
        .enumerate()
        .map(|(f, &l)| {
            let c: Vec<u64> = (0..l).map(|lv| counts.iter().map(|t| t[f][lv]).sum()).collect();
            let total: u64 = c.iter().sum();
            c.iter().map(|&x| (x as f64 + 0.5) / (total as f64 + 0.5 * l as f64)).collect()
        })
        .collect()
}

/// Fields that describe the household rather than the person (a shared phone, a guardian's
/// name): among pairs that are almost surely two members of one household (same address and
/// surname, different given name and birth date) they agree over a hundred times more often
/// than among random pairs. Such agreement says "same household", which the person model would
/// read as "same person"; these fields are left out of it (households use addresses and
/// household numbers). Needs at least 30 such pairs with the field known.
pub fn household_level(comparator: &Comparator, gammas: &[u64], u: &[Vec<f64>]) -> Vec<usize> {
    let idx = |name: &str| comparator.fields.iter().position(|f| f.name == name);
    let (Some(ad), Some(fa), Some(gi), Some(bd)) =
        (idx("address"), idx("family_name"), idx("given_name"), idx("birth_date"))
    else {
        return Vec::new();
    };
    let levels = comparator.levels();
    let top = |f: usize| (levels[f] - 1) as u8;
    let person = ["name", "kana", "given_name", "family_name", "birth_date", "sex", "address", "postcode"];
    let mut out = Vec::new();
    for f in 0..levels.len() {
        if person.contains(&comparator.fields[f].name.as_str()) {
            continue;
        }
        let (mut known, mut agree) = (0u64, 0u64);
        for g in gammas {
            // (a surname or given name bound to the birth year is unknown between members
            // born in different years, not different)
            let is = |f: usize, want: u8| match level_of(*g, f) {
                Some(l) => l == want,
                None => comparator.is_salted(f),
            };
            if level_of(*g, ad) == Some(top(ad))
                && is(fa, top(fa))
                && is(gi, 0)
                && level_of(*g, bd) == Some(0)
                && let Some(l) = level_of(*g, f)
            {
                known += 1;
                agree += u64::from(l == top(f));
            }
        }
        if known >= 30 && agree as f64 / known as f64 > 100.0 * u[f][top(f) as usize] {
            out.push(f);
        }
    }
    out
}

/// Comparison vectors of all candidate pairs, computed on all cores.
pub fn gammas(comparator: &Comparator, pairs: &[u64]) -> Vec<u64> {
    let threads = std::thread::available_parallelism().map_or(2, |t| t.get());
    let chunk = pairs.len().div_ceil(threads).max(1);
    let mut out = vec![0u64; pairs.len()];
    std::thread::scope(|s| {
        for (src, dst) in pairs.chunks(chunk).zip(out.chunks_mut(chunk)) {
            s.spawn(move || {
                for (p, g) in src.iter().zip(dst.iter_mut()) {
                    *g = comparator.gamma((p >> 32) as u32, *p as u32);
                }
            });
        }
    });
    out
}

/// A token column's value frequencies, for term-frequency adjustment.
pub struct TermFrequency {
    pub field: usize,
    pub column: String,
    counts: HashMap<u64, u32, ahash::RandomState>,
    total: f64,
    /// Chance that a random pair agrees: the adjustment is log₂(reference / frequency of the
    /// value). The u of the field's top level; for a token bound to the birth year, whose
    /// frequencies are those of (value, year) pairs, the agreement chance of the tokens
    /// themselves (Σ frequency²), so that the ratio is that of the value within its year.
    reference: f64,
}

impl TermFrequency {
    fn adjustment(&self, token: u64) -> f64 {
        let c = self.counts.get(&token).copied().unwrap_or(1).max(1) as f64;
        let tf = c / self.total;
        (self.reference / tf.max(self.reference * 1e-3)).log2()
    }
}

/// What model.json holds.
#[derive(Clone, Debug, Serialize)]
pub struct ModelReport {
    pub fields: Vec<super::fields::FieldInfo>,
    pub m: Vec<Vec<f64>>,
    pub u: Vec<Vec<f64>>,
    /// Prior match probability among candidate pairs.
    /// Chance that two random comparable records are the same person.
    pub lambda: f64,
    pub lambda_iterations: u32,
    pub lambda_converged: bool,
    /// One EM session per blocking rule (m with u fixed).
    pub em_sessions: Vec<Session>,
    /// Sessions that estimated each field's m (0: m = u, the field carries no weight).
    pub m_sessions: Vec<u32>,
    pub u_sample_pairs: u64,
    /// Match weights (log₂ Bayes factors) per field and level: log₂(m/u).
    pub weights: Vec<Vec<f64>>,
    pub term_frequency: Vec<TermFrequencyReport>,
    pub threshold: f64,
    pub threshold_basis: String,
    pub distinct_patterns: usize,
    /// Fields found to describe the household, left out of the person model.
    pub household_level_fields: Vec<String>,
    /// Per (department, distinct-persons department): the share of records with a match there,
    /// as the one-to-one adjustment used it.
    pub one_to_one_shares: Vec<super::one_to_one::Share>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TermFrequencyReport {
    pub field: String,
    pub column: String,
    pub distinct_values: usize,
}

pub struct Model {
    pub parameters: Parameters,
    /// Iterations of the λ estimate.
    pub fit_iterations: u32,
    pub converged: bool,
    pub tf: Vec<TermFrequency>,
    pub patterns: usize,
    pub sessions: Vec<Session>,
    /// EM sessions that estimated each field's m.
    pub m_sessions: Vec<u32>,
}

/// Counts of (γ, set of rules whose keys agree) over the candidate pairs: one pass over the
/// pairs, from which every EM session's pattern counts follow without touching a pair again.
fn joint_counts(candidates: &Candidates, gammas: &[u64]) -> Vec<(u64, u64, f64)> {
    let threads = std::thread::available_parallelism().map_or(2, |t| t.get());
    let chunk = gammas.len().div_ceil(threads).max(1);
    let parts: Vec<HashMap<(u64, u64), f64, ahash::RandomState>> = std::thread::scope(|s| {
        let handles: Vec<_> = candidates
            .pairs
            .chunks(chunk)
            .zip(gammas.chunks(chunk))
            .map(|(pairs, gs)| {
                s.spawn(move || {
                    let mut m: HashMap<(u64, u64), f64, ahash::RandomState> = HashMap::default();
                    for (p, g) in pairs.iter().zip(gs) {
                        let mut rules = 0u64;
                        for j in 0..candidates.keys.len().min(64) {
                            if candidates.agree(j, *p) {
                                rules |= 1 << j;
                            }
                        }
                        *m.entry((*g, rules)).or_insert(0.0) += 1.0;
                    }
                    m
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut all: HashMap<(u64, u64), f64, ahash::RandomState> = HashMap::default();
    for part in parts {
        for (k, v) in part {
            *all.entry(k).or_insert(0.0) += v;
        }
    }
    let mut out: Vec<(u64, u64, f64)> = all.into_iter().map(|((g, r), n)| (g, r, n)).collect();
    out.sort_unstable_by_key(|e| (e.0, e.1));
    out
}

/// Pattern counts of the entries `select` keeps, with the fields of `mask` set unknown.
fn patterns(joint: &[(u64, u64, f64)], select: impl Fn(u64) -> bool, mask: u64, fields: usize) -> Vec<Pattern> {
    let mut counts: std::collections::BTreeMap<u64, f64> = std::collections::BTreeMap::new();
    for (g, rules, n) in joint {
        if select(*rules) {
            *counts.entry(g | mask).or_insert(0.0) += n;
        }
    }
    counts
        .into_iter()
        .map(|(g, count)| Pattern { levels: (0..fields).map(|f| level_of(g, f)).collect(), count })
        .collect()
}

/// Whether a rule's key identifies a person rather than a household. Address, postcode,
/// surname, sex and household number are shared by the members of one household, whose pairs
/// form a third kind of pair (neither match nor random non-match) that a two-class model
/// absorbs into its match class; EM trains only on rules with a person-level key (a birth
/// date, a given name, a whole name, a personal number).
fn person_level(rule: &[String]) -> bool {
    const PERSON: &[&str] =
        &["tok_birth_", "tok_given", "tok_name", "tok_kana", "tok_resident_id", "tok_national_id", "key_bf_name"];
    rule.iter().any(|c| PERSON.iter().any(|p| c.starts_with(p)))
}

/// m at or under this after EM: no session saw a pair at the level.
const UNSEEN_M: f64 = 2e-6;

/// m of the levels that no EM session saw. EM gives such a level m ≈ 0, which would make it
/// strong evidence *against* a match although it is agreement above the level below it: an
/// exact whole name that the sessions never meet because their pairs compare the name's parts
/// instead, a transposed birth date. Levels are ordered from disagreement up, so an unseen
/// level takes the Bayes factor of the nearest level below it (it is at least that close);
/// m is then normalised again.
fn fill_unseen_levels(mut m: Vec<Vec<f64>>, u: &[Vec<f64>]) -> Vec<Vec<f64>> {
    for (mf, uf) in m.iter_mut().zip(u) {
        for l in 1..mf.len() {
            if mf[l] <= UNSEEN_M && mf[l - 1] > 0.0 && uf[l - 1] > 0.0 {
                mf[l] = uf[l] * mf[l - 1] / uf[l - 1];
            }
        }
        let total: f64 = mf.iter().sum();
        if total > 0.0 {
            mf.iter_mut().for_each(|x| *x /= total);
        }
    }
    m
}

/// One EM session: the pairs of one blocking rule, with the fields that rule constrains left out.
#[derive(Clone, Debug, Serialize)]
pub struct Session {
    pub rule: String,
    pub pairs: u64,
    pub fields_estimated: Vec<String>,
    pub lambda: f64,
    pub iterations: u32,
    pub converged: bool,
}

/// m by EM per blocking rule, with u fixed (as Splink does): on the pairs of a rule, the fields
/// the rule constrains agree by construction and would teach EM nothing true, so each session
/// leaves them out and the other fields' m are averaged over the sessions that estimated them.
/// Then λ, the chance that two random records match, by EM over all comparable record pairs
/// with m and u fixed: pairs outside the candidate set count as non-matches.
pub fn fit(
    comparator: &Comparator,
    records: &Records,
    candidates: &Candidates,
    gammas: &[u64],
    u: Vec<Vec<f64>>,
    comparable_pairs: f64,
    max_iterations: u32,
) -> Result<Model, LinkError> {
    let levels = comparator.levels();
    let nf = levels.len();
    let mut m_sum: Vec<Vec<f64>> = levels.iter().map(|&l| vec![0.0; l]).collect();
    let mut m_n = vec![0u32; nf];
    let mut sessions = Vec::new();
    let joint = joint_counts(candidates, gammas);
    for (j, (ri, _)) in candidates.keys.iter().enumerate() {
        let rule = &candidates.reports[*ri].columns;
        let constrained: Vec<usize> =
            (0..nf).filter(|f| comparator.fields[*f].related.iter().any(|c| rule.contains(c))).collect();
        let mask = constrained.iter().fold(0u64, |m, f| m | (super::fields::UNKNOWN << (4 * f)));
        let pats = patterns(&joint, |rules| j < 64 && rules & (1 << j) != 0, mask, nf);
        let pairs: f64 = pats.iter().map(|p| p.count).sum();
        if pairs < 10.0 || constrained.len() == nf || !person_level(rule) {
            continue;
        }
        let fit = fellegi_sunter::estimate(
            &pats,
            &levels,
            Parameters::initial(&levels, 0.1),
            Some(&u),
            max_iterations,
            1e-6,
        )?;
        let mut estimated = Vec::new();
        for f in (0..nf).filter(|f| !constrained.contains(f)) {
            // a field unknown on every pair of the session was not estimated
            if pats.iter().all(|p| p.levels[f].is_none()) {
                continue;
            }
            for (acc, v) in m_sum[f].iter_mut().zip(&fit.parameters.m[f]) {
                *acc += v;
            }
            m_n[f] += 1;
            estimated.push(comparator.fields[f].name.clone());
        }
        sessions.push(Session {
            rule: rule.join("+"),
            pairs: pairs as u64,
            fields_estimated: estimated,
            lambda: fit.parameters.lambda,
            iterations: fit.iterations,
            converged: fit.converged,
        });
    }
    let m: Vec<Vec<f64>> = (0..nf)
        .map(|f| {
            if m_n[f] == 0 {
                // never estimated: no evidence either way
                u[f].clone()
            } else {
                m_sum[f].iter().map(|x| x / m_n[f] as f64).collect()
            }
        })
        .collect();

    let m = fill_unseen_levels(m, &u);

    // λ over all comparable pairs, m and u fixed
    let all = patterns(&joint, |_| true, 0, nf);
    let mut params = Parameters { m, u, lambda: 1e-4 };
    let bf: Vec<f64> = all.iter().map(|p| params.log2_bayes_factor(&p.levels).exp2()).collect();
    let total = comparable_pairs.max(gammas.len() as f64);
    let mut lambda = (gammas.len() as f64 * 0.1 / total).clamp(1e-12, 0.5);
    let mut iterations = 0;
    let mut converged = false;
    while iterations < 1000 {
        iterations += 1;
        let odds = lambda / (1.0 - lambda);
        let expected: f64 = all.iter().zip(&bf).map(|(p, b)| p.count * (odds * b) / (1.0 + odds * b)).sum();
        let next = (expected / total).clamp(1e-15, 0.5);
        if (next - lambda).abs() <= 1e-9 * lambda {
            lambda = next;
            converged = true;
            break;
        }
        lambda = next;
    }
    params.lambda = lambda;

    let mut tf = Vec::new();
    for (f, info) in comparator.fields.iter().enumerate() {
        let Some(column) = &info.term_frequency else { continue };
        let Some(col) = records.token(column) else { continue };
        let mut counts: HashMap<u64, u32, ahash::RandomState> = HashMap::default();
        let mut total = 0u64;
        for &t in col.iter().filter(|t| **t != 0) {
            *counts.entry(t).or_insert(0) += 1;
            total += 1;
        }
        let top = levels[f] - 1;
        let total = total.max(1) as f64;
        let reference = if records.token_salt.salts(column) {
            counts.values().map(|c| (*c as f64 / total).powi(2)).sum()
        } else {
            params.u[f][top]
        };
        tf.push(TermFrequency { field: f, column: column.clone(), counts, total, reference });
    }
    Ok(Model {
        parameters: params,
        fit_iterations: iterations,
        converged,
        tf,
        patterns: all.len(),
        sessions,
        m_sessions: m_n,
    })
}

impl Model {
    /// Match weight (log₂ odds, prior included) of every pair.
    pub fn weights(&self, comparator: &Comparator, records: &Records, pairs: &[u64], gammas: &[u64]) -> Vec<f32> {
        let n = comparator.len();
        let prior = (self.parameters.lambda / (1.0 - self.parameters.lambda)).log2();
        // each record's adjustment, looked up once per record rather than once per pair
        let tf_cols: Vec<(usize, &[u64], Vec<f64>)> = self
            .tf
            .iter()
            .filter_map(|t| {
                records.token(&t.column).map(|c| {
                    let mut seen: HashMap<u64, f64, ahash::RandomState> = HashMap::default();
                    let adjust = c.iter().map(|v| *seen.entry(*v).or_insert_with(|| t.adjustment(*v))).collect();
                    (t.field, c, adjust)
                })
            })
            .collect();
        let top: Vec<u8> = comparator.levels().iter().map(|l| (*l - 1) as u8).collect();
        let mut cache: HashMap<u64, f64, ahash::RandomState> = HashMap::default();
        let mut out = Vec::with_capacity(pairs.len());
        for (p, g) in pairs.iter().zip(gammas) {
            let base = *cache.entry(*g).or_insert_with(|| {
                let lv: Vec<Option<u8>> = (0..n).map(|f| level_of(*g, f)).collect();
                prior + self.parameters.log2_bayes_factor(&lv)
            });
            let mut w = base;
            for (f, col, adjust) in &tf_cols {
                if level_of(*g, *f) == Some(top[*f]) {
                    let a = (p >> 32) as usize;
                    let b = (*p as u32) as usize;
                    if col[a] != 0 && col[a] == col[b] {
                        w += adjust[a];
                    }
                }
            }
            out.push(w as f32);
        }
        out
    }

    pub fn report(&self, comparator: &Comparator, u_sample_pairs: u64, threshold: f64, basis: &str) -> ModelReport {
        let p = &self.parameters;
        ModelReport {
            fields: comparator.fields.clone(),
            m: p.m.clone(),
            u: p.u.clone(),
            lambda: p.lambda,
            lambda_iterations: self.fit_iterations,
            lambda_converged: self.converged,
            em_sessions: self.sessions.clone(),
            m_sessions: self.m_sessions.clone(),
            u_sample_pairs,
            weights: p
                .m
                .iter()
                .zip(&p.u)
                .map(|(m, u)| m.iter().zip(u).map(|(m, u)| (m / u).log2()).collect())
                .collect(),
            term_frequency: self
                .tf
                .iter()
                .map(|t| TermFrequencyReport {
                    field: comparator.fields[t.field].name.clone(),
                    column: t.column.clone(),
                    distinct_values: t.counts.len(),
                })
                .collect(),
            threshold,
            threshold_basis: basis.to_string(),
            distinct_patterns: self.patterns,
            household_level_fields: Vec::new(),
            one_to_one_shares: Vec::new(),
        }
    }
}

pub fn probability(weight: f32) -> f64 {
    1.0 / (1.0 + (-(weight as f64)).exp2())
}

/// Expected counts from the model's probabilities at a threshold: true and false positives
/// above it, matches below it.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Expected {
    pub threshold: f64,
    pub pairs_above: u64,
    pub true_positives: f64,
    pub false_positives: f64,
    pub false_negatives: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// The threshold maximising the model's expected F1 over the candidate pairs; with `fixed`, the
/// expected figures at that threshold.
pub fn choose_threshold(probabilities: &[f64], fixed: Option<f64>) -> Expected {
    // A cut at probability p maximises F1 only if p ≥ F1/2: a pair with p below half the F1
    // reached so far lowers it, and so does every less likely pair after it. So only pairs above
    // a small floor are sorted (all of them only when the best F1 found stays below twice the floor).
    const FLOOR: f64 = 0.01;
    let total: f64 = probabilities.iter().sum();
    let floor = FLOOR.min(fixed.unwrap_or(1.0));
    let mut probs: Vec<f64> = probabilities.iter().copied().filter(|p| *p >= floor).collect();
    let best = best_cut(&mut probs, total, fixed);
    if fixed.is_none() && best.f1 < 2.0 * FLOOR {
        return best_cut(&mut probabilities.to_vec(), total, None);
    }
    best
}

/// The cut of `probs` (a subset holding every pair above the cut; `total` sums all pairs) with
/// the highest expected F1, or the cut at a fixed threshold.
fn best_cut(probs: &mut [f64], total: f64, fixed: Option<f64>) -> Expected {
    probs.sort_unstable_by(|a, b| b.total_cmp(a));
    let at = |k: usize, tp: f64, threshold: f64| {
        let fp = k as f64 - tp;
        let fn_ = total - tp;
        let precision = if k == 0 { 1.0 } else { tp / k as f64 };
        let recall = if total <= 0.0 { 1.0 } else { tp / total };
        let f1 = if tp <= 0.0 { 0.0 } else { 2.0 * tp / (2.0 * tp + fp + fn_) };
        Expected {
            threshold,
            pairs_above: k as u64,
            true_positives: tp,
            false_positives: fp,
            false_negatives: fn_,
            precision,
            recall,
            f1,
        }
    };
    let mut tp = 0.0;
    if let Some(t) = fixed {
        let k = probs.iter().take_while(|p| **p >= t).count();
        tp = probs[..k].iter().sum();
        return at(k, tp, t);
    }
    let mut best = at(0, 0.0, 1.0);
    for (k, p) in probs.iter().enumerate() {
        tp += p;
        // only cut between distinct probabilities
        if probs.get(k + 1).is_some_and(|q| q == p) {
            continue;
        }
        let e = at(k + 1, tp, *p);
        if e.f1 > best.f1 {
            best = e;
        }
    }
    best
}

impl From<crate::model::fellegi_sunter::ModelError> for LinkError {
    fn from(e: crate::model::fellegi_sunter::ModelError) -> Self {
        LinkError::Model(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_level_no_session_saw_weighs_as_the_level_below_it() {
        // exact (level 3) never seen: m at the EM floor
        let m = vec![vec![0.2, 0.1, 0.7 - 1e-6, 1e-6]];
        let u = vec![vec![0.98, 0.015, 0.004, 0.001]];
        let filled = fill_unseen_levels(m.clone(), &u);
        let bf = |m: &[f64], l: usize| (m[l] / u[0][l]).log2();
        assert!((filled[0].iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((bf(&filled[0], 3) - bf(&filled[0], 2)).abs() < 1e-9, "{filled:?}");
        // the seen levels keep their order and ratios (one common factor)
        let shift = bf(&filled[0], 0) - bf(&m[0], 0);
        for l in 0..3 {
            assert!((bf(&filled[0], l) - bf(&m[0], l) - shift).abs() < 1e-9);
        }
        // nothing unseen: unchanged
        let seen = vec![vec![0.2, 0.1, 0.3, 0.4]];
        let same = fill_unseen_levels(seen.clone(), &u);
        assert!(same[0].iter().zip(&seen[0]).all(|(a, b)| (a - b).abs() < 1e-12), "{same:?}");
    }

    use super::*;

    #[test]
    fn threshold_maximises_expected_f1() {
        // ten near-certain matches, ten near-certain non-matches, a band in the middle
        let mut w: Vec<f32> = vec![10.0; 10];
        w.extend(vec![-10.0; 10]);
        w.extend([1.0, 0.5, -0.5, -1.0]);
        let p: Vec<f64> = w.iter().map(|x| probability(*x)).collect();
        let e = choose_threshold(&p, None);
        // F1 ≈ 0.95 puts the optimum near p = 0.48: the 0.5-weight pair (p 0.59) is in, -1.0 (p 0.33) out
        assert!(e.threshold > 0.33 && e.threshold < 0.6, "{e:?}");
        assert!(e.pairs_above >= 10 && e.pairs_above <= 12, "{e:?}");
        assert!(e.precision > 0.9 && e.recall > 0.8, "{e:?}");
        let fixed = choose_threshold(&p, Some(0.99));
        assert_eq!(fixed.pairs_above, 10);
    }

    #[test]
    fn sorting_only_pairs_above_the_floor_finds_the_cut_a_full_sort_finds() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        for matches in [5usize, 200, 2_000] {
            // many hopeless pairs, some matches, a spread in between
            let mut w: Vec<f32> = (0..20_000).map(|_| rng.random_range(-40.0..-8.0)).collect();
            w.extend((0..matches).map(|_| rng.random_range(-2.0f32..30.0)));
            w.extend((0..500).map(|_| rng.random_range(-12.0f32..4.0)));
            let p: Vec<f64> = w.iter().map(|x| probability(*x)).collect();
            let fast = choose_threshold(&p, None);
            let total: f64 = p.iter().sum();
            let full = best_cut(&mut p.clone(), total, None);
            assert_eq!(fast.pairs_above, full.pairs_above, "{matches}");
            assert!((fast.f1 - full.f1).abs() < 1e-12 && fast.threshold == full.threshold, "{fast:?} {full:?}");
            let fixed = choose_threshold(&p, Some(0.005));
            assert_eq!(fixed.pairs_above, best_cut(&mut p.clone(), total, Some(0.005)).pairs_above);
        }
    }
}
