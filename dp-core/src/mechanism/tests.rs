use super::*;
use crate::csprng::seeded_for_tests;

fn r(s: &str) -> Rational {
    s.parse().unwrap()
}

/// ε so large that the noise is almost surely 0: checks the bounding, not the noise.
fn exact() -> Noise {
    Noise::Laplace { epsilon: r("1000000") }
}

#[test]
fn contributions_are_bounded_per_person_and_values_clamped() {
    let mut rng = seeded_for_tests(1);
    let persons = ["a", "a", "a", "b", "c", "c"];
    assert_eq!(count(&mut rng, persons, 2, &exact()).unwrap().value, 5);
    assert_eq!(count(&mut rng, persons, 1, &exact()).unwrap().value, 3);
    let values = [("a", 50), ("a", 7), ("b", -20), ("c", 3)];
    // a: 50 clamped to 10 (its second value dropped), b: −20 clamped to 0, c: 3
    assert_eq!(sum(&mut rng, values, 1, (0, 10), &exact()).unwrap().value, 13);
    let (s, c) = mean(&mut rng, values, 2, (0, 10), &exact()).unwrap();
    assert_eq!((s.value, c.value), (20, 4));
    assert!(matches!(sum(&mut rng, values, 1, (5, 1), &exact()), Err(MechanismError::Bounds)));
}

#[test]
fn histogram_releases_every_declared_key_and_only_those() {
    let mut rng = seeded_for_tests(2);
    let recs = [("a", "x"), ("a", "x"), ("a", "y"), ("b", "z"), ("c", "x")];
    let h = histogram(&mut rng, recs, &["x", "y", "w"], 5, &exact()).unwrap();
    let got: Vec<(&str, i64)> = h.iter().map(|(k, r)| (*k, r.value)).collect();
    // a's repeated x counts once; z is not declared; w is declared and empty
    assert_eq!(got, [("w", 0), ("x", 2), ("y", 1)]);
}

#[test]
fn laplace_noise_has_the_calibrated_spread_and_error_bound() {
    let mut rng = seeded_for_tests(3);
    let noise = Noise::Laplace { epsilon: r("0.5") };
    let releases: Vec<Release> = (0..20_000).map(|_| count(&mut rng, 0..10, 1, &noise).unwrap()).collect();
    let b: f64 = 2.0; // k / ε
    let var = releases.iter().map(|r| ((r.value - 10) as f64).powi(2)).sum::<f64>() / releases.len() as f64;
    // variance of the discrete Laplace: 2e^(−1/b) / (1 − e^(−1/b))²
    let expected = 2.0 * (-1.0 / b).exp() / (1.0 - (-1.0 / b).exp()).powi(2);
    assert!((var - expected).abs() / expected < 0.08, "variance {var} vs {expected}");
    let bound = releases[0].error95;
    let covered =
        releases.iter().filter(|r| (r.value - 10).unsigned_abs() <= bound).count() as f64 / releases.len() as f64;
    assert!((0.945..0.975).contains(&covered), "±{bound} covers {covered}");
    assert!(matches!(releases[0].cost, Cost::Pure { .. }));
}

#[test]
fn gaussian_error_bound_covers_95_percent() {
    let mut rng = seeded_for_tests(4);
    let noise = Noise::Gaussian { rho: r("0.02") };
    let releases: Vec<Release> = (0..20_000).map(|_| count(&mut rng, 0..3, 1, &noise).unwrap()).collect();
    let bound = releases[0].error95;
    let covered =
        releases.iter().filter(|r| (r.value - 3).unsigned_abs() <= bound).count() as f64 / releases.len() as f64;
    assert!((0.945..0.975).contains(&covered), "±{bound} covers {covered}");
    // σ² = 1/(2ρ) = 25
    assert!((9..=11).contains(&bound), "{bound}");
}

#[test]
fn partition_selection_hides_rare_keys_and_keeps_large_ones() {
    let mut rng = seeded_for_tests(5);
    let (eps, delta) = (r("1"), r("0.001"));
    let mut rare_released = 0;
    let trials = 20_000;
    for _ in 0..trials {
        let mut recs: Vec<(u32, &str)> = (0..200).map(|p| (p, "big")).collect();
        recs.push((999, "rare"));
        let sel = partition_selection(&mut rng, recs, 1, &eps, &delta).unwrap();
        assert!(sel.released.iter().any(|(k, _)| *k == "big"), "a group of 200 is released (τ = {})", sel.threshold);
        rare_released += sel.released.iter().filter(|(k, _)| *k == "rare").count();
        assert!(matches!(sel.cost, Cost::Approx { .. }));
    }
    // P(release of a one-person key) ≤ δ = 0.001: expect ≤ 20 of 20,000, allow sampling error
    assert!(rare_released <= 40, "a one-person key was released {rare_released} times in {trials}");
}
