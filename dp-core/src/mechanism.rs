//! Mechanisms with bounded contribution: count, sum, mean, histogram over a declared domain, and
//! partition selection for group keys not declared in advance. Each person contributes to at
//! most `k` records or cells (further ones are dropped, deterministically: the first `k`), and
//! summed values are clamped, so the sensitivity is known and every release states its cost.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hash;

use num_bigint::BigUint;
use rand::Rng;

use crate::accountant::Cost;
use crate::rational::Rational;
use crate::sample::{SampleError, discrete_gaussian_var, discrete_laplace};

/// The noise a release adds, with the privacy parameter it is calibrated to.
#[derive(Clone, Debug)]
pub enum Noise {
    /// Discrete Laplace calibrated to pure ε.
    Laplace { epsilon: Rational },
    /// Discrete Gaussian calibrated to ρ-zCDP.
    Gaussian { rho: Rational },
}

impl Noise {
    /// What one release with this noise costs, to charge before running it.
    pub fn cost(&self) -> Cost {
        match self {
            Noise::Laplace { epsilon } => Cost::Pure { epsilon: epsilon.clone() },
            Noise::Gaussian { rho } => Cost::Zcdp { rho: rho.clone() },
        }
    }
}

/// A released value with what it cost and how far it may be from the truth.
#[derive(Clone, Debug)]
pub struct Release {
    pub value: i64,
    pub cost: Cost,
    /// |noise| ≤ this with probability ≥ 95 %.
    pub error95: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum MechanismError {
    #[error(transparent)]
    Sample(#[from] SampleError),
    #[error("the privacy parameter must be greater than zero")]
    ZeroBudget,
    #[error("clamping bounds must satisfy lower ≤ upper")]
    Bounds,
}

/// Noise for an integer query of L1 sensitivity `l1` and L2 sensitivity² `l2_sq`.
///
/// # Privacy guarantee
/// Laplace: scale Δ₁/ε gives ε-DP. Gaussian: σ² = Δ₂²/(2ρ) gives ρ-zCDP (CKS20 Theorem 14).
fn noisy<R: Rng + ?Sized>(
    rng: &mut R,
    value: i64,
    l1: u64,
    l2_sq: u64,
    noise: &Noise,
) -> Result<Release, MechanismError> {
    match noise {
        Noise::Laplace { epsilon } => {
            if epsilon.is_zero() {
                return Err(MechanismError::ZeroBudget);
            }
            // scale = l1 / ε = l1 · den / num
            let scale = Rational::new(epsilon.denom() * BigUint::from(l1.max(1)), epsilon.numer().clone())
                .ok_or(MechanismError::ZeroBudget)?;
            let z = discrete_laplace(rng, &scale)?;
            Ok(Release { value: value.saturating_add(z), cost: noise.cost(), error95: laplace_error95(scale.to_f64()) })
        }
        Noise::Gaussian { rho } => {
            if rho.is_zero() {
                return Err(MechanismError::ZeroBudget);
            }
            // σ² = Δ₂² / (2ρ) = l2_sq · den / (2 · num)
            let var = Rational::new(rho.denom() * BigUint::from(l2_sq.max(1)), rho.numer() * BigUint::from(2u32))
                .ok_or(MechanismError::ZeroBudget)?;
            let z = discrete_gaussian_var(rng, &var)?;
            Ok(Release { value: value.saturating_add(z), cost: noise.cost(), error95: gaussian_error95(var.to_f64()) })
        }
    }
}

/// The smallest m with P(|Z| > m) ≤ 5 % for a discrete Laplace of scale `b`:
/// P(|Z| > m) = 2·e^(−(m+1)/b) / (1 + e^(−1/b)).
pub fn laplace_error95(b: f64) -> u64 {
    let m = -b * (0.05 * (1.0 + (-1.0 / b).exp()) / 2.0).ln() - 1.0;
    m.max(0.0).ceil() as u64
}

/// The smallest m with P(|Z| > m) ≤ 5 % for a discrete Gaussian of variance parameter `var`,
/// summed from its probability mass.
pub fn gaussian_error95(var: f64) -> u64 {
    let sd = var.sqrt();
    let range = (12.0 * sd).ceil() as i64 + 2;
    let w = |x: i64| (-(x as f64).powi(2) / (2.0 * var)).exp();
    let total: f64 = (-range..=range).map(w).sum();
    let mut inside = w(0) / total;
    let mut m = 0;
    while inside < 0.95 && m < range {
        m += 1;
        inside += 2.0 * w(m) / total;
    }
    m as u64
}

/// Keeps at most `k` items per person, in input order.
fn bounded<P: Hash + Eq, T>(items: impl IntoIterator<Item = (P, T)>, k: u32) -> Vec<T> {
    let mut seen: HashMap<P, u32> = HashMap::new();
    let mut out = Vec::new();
    for (p, t) in items {
        let n = seen.entry(p).or_insert(0);
        if *n < k {
            *n += 1;
            out.push(t);
        }
    }
    out
}

/// A noisy count of records, each person counting at most `k` times.
///
/// # Privacy guarantee
/// Sensitivity k (L1 and L2), so ε-DP with Laplace noise, ρ-zCDP with Gaussian noise.
pub fn count<P: Hash + Eq, R: Rng + ?Sized>(
    rng: &mut R,
    persons: impl IntoIterator<Item = P>,
    k: u32,
    noise: &Noise,
) -> Result<Release, MechanismError> {
    let n = bounded(persons.into_iter().map(|p| (p, ())), k).len() as i64;
    let k = u64::from(k);
    noisy(rng, n, k, k * k, noise)
}

/// A noisy sum of values clamped to `[lower, upper]`, each person contributing at most `k`.
///
/// # Privacy guarantee
/// Sensitivity k·max(|lower|, |upper|), so ε-DP (Laplace) or ρ-zCDP (Gaussian).
pub fn sum<P: Hash + Eq, R: Rng + ?Sized>(
    rng: &mut R,
    values: impl IntoIterator<Item = (P, i64)>,
    k: u32,
    (lower, upper): (i64, i64),
    noise: &Noise,
) -> Result<Release, MechanismError> {
    if lower > upper {
        return Err(MechanismError::Bounds);
    }
    let total: i64 = bounded(values, k).into_iter().map(|v| v.clamp(lower, upper)).fold(0i64, i64::saturating_add);
    let bound = lower.unsigned_abs().max(upper.unsigned_abs());
    let l1 = u64::from(k).saturating_mul(bound);
    noisy(rng, total, l1, l1.saturating_mul(l1), noise)
}

/// A mean released as a noisy sum and a noisy count, each with `noise` (so the total cost is
/// twice one release's); the caller divides. Returns (sum, count).
pub fn mean<P: Hash + Eq + Clone, R: Rng + ?Sized>(
    rng: &mut R,
    values: impl IntoIterator<Item = (P, i64)>,
    k: u32,
    bounds: (i64, i64),
    noise: &Noise,
) -> Result<(Release, Release), MechanismError> {
    let values: Vec<(P, i64)> = values.into_iter().collect();
    let s = sum(rng, values.iter().cloned(), k, bounds, noise)?;
    let c = count(rng, values.into_iter().map(|(p, _)| p), k, noise)?;
    Ok((s, c))
}

/// Noisy counts for every key of a declared `domain` (absent keys count 0 and are released
/// too, so presence leaks nothing); records with other keys are dropped. Each person
/// contributes to at most `k` distinct cells.
///
/// # Privacy guarantee
/// L1 sensitivity k, L2 sensitivity √k: ε-DP with Laplace noise of scale k/ε per cell, ρ-zCDP
/// with Gaussian noise σ² = k/(2ρ) per cell.
pub fn histogram<P: Hash + Eq + Clone, K: Ord + Clone + Hash, R: Rng + ?Sized>(
    rng: &mut R,
    records: impl IntoIterator<Item = (P, K)>,
    domain: &[K],
    k: u32,
    noise: &Noise,
) -> Result<Vec<(K, Release)>, MechanismError> {
    let declared: HashSet<&K> = domain.iter().collect();
    let mut distinct: HashSet<(P, K)> = HashSet::new();
    let in_domain =
        records.into_iter().filter(|(_, key)| declared.contains(key)).filter(|r| distinct.insert(r.clone()));
    let kept = bounded(in_domain, k);
    let mut counts: BTreeMap<K, i64> = domain.iter().map(|d| (d.clone(), 0)).collect();
    for key in kept {
        *counts.entry(key).or_default() += 1;
    }
    let k = u64::from(k);
    counts.into_iter().map(|(key, n)| noisy(rng, n, k, k, noise).map(|r| (key, r))).collect()
}

/// The keys partition selection released, with their noisy counts.
#[derive(Clone, Debug)]
pub struct Selection<K> {
    pub released: Vec<(K, i64)>,
    pub cost: Cost,
    /// Noisy counts below this were withheld.
    pub threshold: u64,
}

/// Partition selection: noisy counts of keys that are not declared in advance, released only
/// above a threshold so that a rare key's existence does not leak. Each person contributes to
/// at most `k` distinct keys.
///
/// # Privacy guarantee
/// (ε, δ)-DP. Counts get discrete Laplace noise of scale b = k/ε (ε-DP for keys present in both
/// neighbours). A key present only because of one person has count 1 and is released with
/// probability P(Z ≥ τ − 1) ≤ e^(−(τ−1)/b); with τ = 1 + ⌈b·ln(k/δ)⌉ the person's at most k such
/// keys are released with total probability ≤ δ.
pub fn partition_selection<P: Hash + Eq + Clone, K: Ord + Clone + Hash, R: Rng + ?Sized>(
    rng: &mut R,
    records: impl IntoIterator<Item = (P, K)>,
    k: u32,
    epsilon: &Rational,
    delta: &Rational,
) -> Result<Selection<K>, MechanismError> {
    if epsilon.is_zero() || delta.is_zero() {
        return Err(MechanismError::ZeroBudget);
    }
    let mut distinct: HashSet<(P, K)> = HashSet::new();
    let unique = records.into_iter().filter(|r| distinct.insert(r.clone()));
    let kept = bounded(unique, k);
    let mut counts: BTreeMap<K, i64> = BTreeMap::new();
    for key in kept {
        *counts.entry(key).or_default() += 1;
    }
    let b = Rational::new(epsilon.denom() * BigUint::from(k.max(1)), epsilon.numer().clone())
        .ok_or(MechanismError::ZeroBudget)?;
    let threshold = 1 + (b.to_f64() * (f64::from(k.max(1)) / delta.to_f64()).ln()).ceil().max(0.0) as i64;
    let mut released = Vec::new();
    for (key, n) in counts {
        let noisy = n.saturating_add(discrete_laplace(rng, &b)?);
        if noisy >= threshold {
            released.push((key, noisy));
        }
    }
    Ok(Selection {
        released,
        cost: Cost::Approx { epsilon: epsilon.clone(), delta: delta.clone() },
        threshold: threshold as u64,
    })
}

#[cfg(test)]
mod tests;
