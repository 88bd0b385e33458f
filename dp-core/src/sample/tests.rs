//! Fixed-α goodness-of-fit tests (α = 10⁻⁶ each, as OpenDP's sampler tests use), with fixed
//! seeds: a correct sampler fails one of them about once in a million runs.

use super::*;
use crate::csprng::seeded_for_tests;

/// The χ² quantile at 1 − 10⁻⁶ for `df` degrees of freedom (Wilson–Hilferty).
fn chi2_critical(df: usize) -> f64 {
    let k = df as f64;
    let z = 4.753_424;
    k * (1.0 - 2.0 / (9.0 * k) + z * (2.0 / (9.0 * k)).sqrt()).powi(3)
}

/// χ² of `samples` against `pmf` on the integers, with the tails beyond ±`range` pooled.
fn chi2(samples: &[i64], pmf: impl Fn(i64) -> f64, range: i64) -> (f64, usize) {
    let n = samples.len() as f64;
    let mut counts = vec![0u64; (2 * range + 3) as usize];
    for &x in samples {
        let i = if x < -range {
            0
        } else if x > range {
            counts.len() - 1
        } else {
            (x + range + 1) as usize
        };
        counts[i] += 1;
    }
    let mut expected = vec![0.0; counts.len()];
    for x in -range..=range {
        expected[(x + range + 1) as usize] = pmf(x);
    }
    let inner: f64 = expected.iter().sum();
    let tail = (1.0 - inner).max(0.0) / 2.0;
    expected[0] = tail;
    let last = expected.len() - 1;
    expected[last] = tail;
    let mut stat = 0.0;
    let mut bins = 0;
    for (c, e) in counts.iter().zip(&expected) {
        let e = e * n;
        if e < 5.0 {
            continue;
        }
        stat += (*c as f64 - e).powi(2) / e;
        bins += 1;
    }
    (stat, bins.max(2) - 1)
}

fn r(s: &str) -> Rational {
    s.parse().unwrap_or_else(|_| Rational::from_integer(1))
}

#[test]
fn bernoulli_exp_has_probability_exp_minus_gamma() {
    let mut rng = seeded_for_tests(1);
    for g in ["0", "1/3", "1", "5/2", "7"] {
        let gamma = r(g);
        let n = 200_000;
        let hits = (0..n).filter(|_| bernoulli_exp(&mut rng, &gamma)).count() as f64;
        let p = (-gamma.to_f64()).exp();
        let sd = (p * (1.0 - p) / n as f64).sqrt().max(1e-9);
        assert!((hits / n as f64 - p).abs() <= 4.9 * sd, "γ = {g}: {} vs {p}", hits / n as f64);
    }
}

#[test]
fn discrete_laplace_fits_its_distribution() {
    let mut rng = seeded_for_tests(2);
    for scale in ["1/2", "1", "3.5", "10"] {
        let s = r(scale);
        let t = s.to_f64();
        let samples: Vec<i64> = (0..100_000).map(|_| discrete_laplace(&mut rng, &s).unwrap_or(i64::MIN)).collect();
        let c = ((1.0 - (-1.0 / t).exp()) / (1.0 + (-1.0 / t).exp())).ln();
        let pmf = |x: i64| (c - (x.abs() as f64) / t).exp();
        let (stat, df) = chi2(&samples, pmf, (8.0 * t).ceil() as i64);
        assert!(stat < chi2_critical(df), "scale {scale}: χ² {stat:.1} on {df} df");
        assert!(samples.iter().all(|x| *x != i64::MIN));
    }
}

#[test]
fn discrete_gaussian_fits_its_distribution() {
    let mut rng = seeded_for_tests(3);
    for sigma in ["1/2", "1", "2.5", "10"] {
        let s = r(sigma);
        let sd = s.to_f64();
        let samples: Vec<i64> = (0..100_000).map(|_| discrete_gaussian(&mut rng, &s).unwrap_or(i64::MIN)).collect();
        let range = (8.0 * sd).ceil() as i64 + 2;
        let norm: f64 = (-range * 4..=range * 4).map(|y| (-(y as f64).powi(2) / (2.0 * sd * sd)).exp()).sum();
        let pmf = |x: i64| (-(x as f64).powi(2) / (2.0 * sd * sd)).exp() / norm;
        let (stat, df) = chi2(&samples, pmf, range);
        assert!(stat < chi2_critical(df), "σ = {sigma}: χ² {stat:.1} on {df} df");
        let mean = samples.iter().sum::<i64>() as f64 / samples.len() as f64;
        assert!(mean.abs() < 5.0 * sd / (samples.len() as f64).sqrt(), "σ = {sigma}: mean {mean}");
    }
}

#[test]
fn zero_scale_is_an_error_and_huge_values_do_not_wrap() {
    let mut rng = seeded_for_tests(4);
    assert_eq!(discrete_laplace(&mut rng, &r("0")), Err(SampleError::NonPositiveScale));
    assert_eq!(discrete_gaussian(&mut rng, &r("0")), Err(SampleError::NonPositiveScale));
    // a scale beyond 64 bits still samples exactly (big-integer path) or reports overflow
    let huge = r("100000000000000000000000");
    match discrete_laplace(&mut rng, &huge) {
        Ok(_) | Err(SampleError::Overflow) => {}
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn uniform_below_is_uniform_for_big_bounds() {
    let mut rng = seeded_for_tests(5);
    // 2^70 + 3: the rejection path on big integers; bucket by the top bits
    let n = (BigUint::one() << 70u32) + 3u32;
    let mut counts = [0u32; 4];
    for _ in 0..40_000 {
        let x = uniform_below(&mut rng, &n);
        assert!(x < n);
        counts[(x >> 68u32).to_usize().unwrap_or(0).min(3)] += 1;
    }
    for c in counts {
        assert!((c as f64 - 10_000.0).abs() < 6.0 * 10_000f64.sqrt(), "{counts:?}");
    }
}
