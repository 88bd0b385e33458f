//! Exact samplers: Bernoulli(exp(−γ)), the discrete Laplace and the discrete Gaussian, after
//! Canonne, Kamath and Steinke, "The Discrete Gaussian for Differential Privacy" (NeurIPS 2020),
//! Algorithms 1–3. Every draw uses only uniform integers from the CSPRNG and exact integer and
//! rational arithmetic; nothing is rounded, so the output distribution is exactly the one stated.

use num_bigint::BigUint;
use num_traits::{One, ToPrimitive, Zero};
use rand::Rng;

use crate::rational::Rational;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SampleError {
    #[error("the scale must be greater than zero")]
    NonPositiveScale,
    #[error("a sample does not fit in a 64-bit integer; the scale is too large")]
    Overflow,
}

/// A uniform integer in `[0, n)`, `n > 0`, by rejection sampling (no modulo bias).
fn uniform_below<R: Rng + ?Sized>(rng: &mut R, n: &BigUint) -> BigUint {
    if let Some(small) = n.to_u64() {
        return BigUint::from(rng.random_range(0..small.max(1)));
    }
    let bits = n.bits();
    let bytes = bits.div_ceil(8) as usize;
    let excess = (bytes as u64) * 8 - bits;
    let mut buf = vec![0u8; bytes];
    loop {
        rng.fill_bytes(&mut buf);
        if let Some(top) = buf.last_mut() {
            *top &= 0xFF >> excess;
        }
        let x = BigUint::from_bytes_le(&buf);
        if &x < n {
            return x;
        }
    }
}

/// Bernoulli(num / den), `num ≤ den`, exactly: a uniform integer below `den` is below `num`.
fn bernoulli<R: Rng + ?Sized>(rng: &mut R, num: &BigUint, den: &BigUint) -> bool {
    &uniform_below(rng, den) < num
}

/// Bernoulli(exp(−γ)) for a rational γ ≥ 0 (CKS20 Algorithm 1).
///
/// # Proof definition
/// Returns `true` with probability exactly exp(−γ). For γ ∈ [0, 1], trials A_k ~ Bernoulli(γ/k)
/// are drawn until the first failure, at index K; P(K > k) = γ^k / k!, so P(K odd) =
/// Σ_j (−γ)^j / j! = exp(−γ) (CKS20, Proposition 5). For γ > 1, exp(−γ) = exp(−1)^⌊γ⌋ ·
/// exp(−(γ − ⌊γ⌋)), drawn as independent trials that must all succeed.
pub fn bernoulli_exp<R: Rng + ?Sized>(rng: &mut R, gamma: &Rational) -> bool {
    let (num, den) = (gamma.numer(), gamma.denom());
    if num <= den {
        let mut k = BigUint::one();
        loop {
            if !bernoulli(rng, num, &(den * &k)) {
                break;
            }
            k += 1u32;
        }
        return k.bit(0);
    }
    let one = Rational::from_integer(1);
    let mut i = BigUint::zero();
    let whole = gamma.floor();
    while i < whole {
        if !bernoulli_exp(rng, &one) {
            return false;
        }
        i += 1u32;
    }
    bernoulli_exp(rng, &gamma.fract())
}

/// The discrete Laplace distribution with scale `scale` = t/s: P(x) ∝ exp(−|x|/scale) on ℤ
/// (CKS20 Algorithm 2).
///
/// # Proof definition
/// Returns an error when `scale` is zero, and otherwise an integer distributed exactly as
/// P(x) = (1 − e^(−1/scale)) / (1 + e^(−1/scale)) · e^(−|x|/scale).
///
/// # Privacy guarantee
/// Adding this noise to an integer query of sensitivity Δ gives (Δ/scale)-differential privacy
/// (pure ε, ε = Δ/scale), since the ratio of probabilities of neighbouring outputs is at most
/// e^(Δ/scale).
pub fn discrete_laplace<R: Rng + ?Sized>(rng: &mut R, scale: &Rational) -> Result<i64, SampleError> {
    if scale.is_zero() {
        return Err(SampleError::NonPositiveScale);
    }
    let (t, s) = (scale.numer(), scale.denom());
    let one = Rational::from_integer(1);
    loop {
        let u = uniform_below(rng, t);
        let u_over_t = Rational::new(u.clone(), t.clone()).ok_or(SampleError::NonPositiveScale)?;
        if !bernoulli_exp(rng, &u_over_t) {
            continue;
        }
        let mut v = BigUint::zero();
        while bernoulli_exp(rng, &one) {
            v += 1u32;
        }
        let x = u + t * v;
        let y = x / s;
        let negative = rng.random_bool(0.5);
        if negative && y.is_zero() {
            continue;
        }
        let y = y.to_i64().ok_or(SampleError::Overflow)?;
        return Ok(if negative { -y } else { y });
    }
}

/// The discrete Gaussian distribution with parameter `sigma`: P(x) ∝ exp(−x²/(2σ²)) on ℤ
/// (CKS20 Algorithm 3), by rejection from a discrete Laplace of scale ⌊σ⌋ + 1.
///
/// # Proof definition
/// Returns an error when `sigma` is zero, and otherwise an integer distributed exactly as
/// P(x) = e^(−x²/(2σ²)) / Σ_y e^(−y²/(2σ²)).
///
/// # Privacy guarantee
/// Adding this noise to an integer query of sensitivity Δ satisfies ρ-zero-concentrated
/// differential privacy with ρ = Δ²/(2σ²) (CKS20, Theorem 14).
pub fn discrete_gaussian<R: Rng + ?Sized>(rng: &mut R, sigma: &Rational) -> Result<i64, SampleError> {
    discrete_gaussian_var(rng, &sigma.square())
}

/// The discrete Gaussian with variance parameter σ² = `var` given directly, for noise
/// calibrated to ρ-zCDP (σ² = Δ²/(2ρ) is rational when σ is not).
///
/// # Proof definition
/// As [`discrete_gaussian`] with σ = √var.
pub fn discrete_gaussian_var<R: Rng + ?Sized>(rng: &mut R, var: &Rational) -> Result<i64, SampleError> {
    if var.is_zero() {
        return Err(SampleError::NonPositiveScale);
    }
    let (a, b) = (var.numer().clone(), var.denom().clone());
    let t = (&a / &b).sqrt() + 1u32;
    let laplace_scale = Rational::new(t.clone(), BigUint::one()).ok_or(SampleError::NonPositiveScale)?;
    let den = BigUint::from(2u32) * &a * &b * &t * &t;
    loop {
        let y = discrete_laplace(rng, &laplace_scale)?;
        let abs = BigUint::from(y.unsigned_abs());
        // γ = (|Y| − σ²/t)² / (2σ²) = (|Y|·b·t − a)² / (2·a·b·t²)
        let ybt = &abs * &b * &t;
        let diff = if ybt >= a { &ybt - &a } else { &a - &ybt };
        let gamma = Rational::new(&diff * &diff, den.clone()).ok_or(SampleError::NonPositiveScale)?;
        if bernoulli_exp(rng, &gamma) {
            return Ok(y);
        }
    }
}

#[cfg(test)]
mod tests;
