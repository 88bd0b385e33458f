//! Privacy accounting: pure ε under sequential composition, ρ-zCDP for Gaussian noise, and the
//! conversion of ρ to (ε, δ) that a budget is stated in.

use crate::rational::Rational;

/// What one release costs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cost {
    /// ε-differential privacy (Laplace noise).
    Pure { epsilon: Rational },
    /// ρ-zero-concentrated differential privacy (Gaussian noise).
    Zcdp { rho: Rational },
    /// (ε, δ)-differential privacy (partition selection).
    Approx { epsilon: Rational, delta: Rational },
}

/// The total spent under one purpose: pure ε and δ add up (sequential composition, Dwork and
/// Roth 2014, Theorem 3.16), ρ adds up (Bun and Steinke 2016, Lemma 2.3).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spent {
    pub epsilon: f64,
    pub delta: f64,
    pub rho: f64,
}

impl Spent {
    pub fn add(&mut self, cost: &Cost) {
        match cost {
            Cost::Pure { epsilon } => self.epsilon += epsilon.to_f64(),
            Cost::Zcdp { rho } => self.rho += rho.to_f64(),
            Cost::Approx { epsilon, delta } => {
                self.epsilon += epsilon.to_f64();
                self.delta += delta.to_f64();
            }
        }
    }

    /// The (ε, δ) this spending amounts to when ρ is converted with the δ left over:
    /// ε = ε_pure + ρ + 2·√(ρ·ln(1/δ')) (Bun and Steinke 2016, Proposition 1.3), where
    /// δ' = δ_budget − δ_spent. Rounded up, so the account errs on the safe side.
    pub fn as_approx(&self, delta_budget: f64) -> (f64, f64) {
        if self.rho == 0.0 {
            return (self.epsilon, self.delta);
        }
        let delta_left = delta_budget - self.delta;
        if delta_left <= 0.0 {
            return (f64::INFINITY, self.delta);
        }
        let eps = self.rho + 2.0 * (self.rho * (1.0 / delta_left).ln()).sqrt();
        ((self.epsilon + eps) * (1.0 + 1e-12), delta_budget)
    }

    /// Whether spending stays within (ε, δ).
    pub fn within(&self, epsilon: f64, delta: f64) -> bool {
        let (e, d) = self.as_approx(delta);
        e <= epsilon * (1.0 + 1e-12) && d <= delta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Rational {
        s.parse().unwrap()
    }

    #[test]
    fn pure_costs_add_and_zcdp_converts() {
        let mut s = Spent::default();
        s.add(&Cost::Pure { epsilon: r("0.5") });
        s.add(&Cost::Pure { epsilon: r("0.25") });
        assert!(s.within(0.75, 0.0) && !s.within(0.74, 0.0));
        s.add(&Cost::Zcdp { rho: r("0.01") });
        assert!(!s.within(10.0, 0.0), "ρ needs a δ to convert");
        let (e, d) = s.as_approx(1e-6);
        let expected = 0.75 + 0.01 + 2.0 * (0.01f64 * 1e6f64.ln()).sqrt();
        assert!((e - expected).abs() < 1e-9 && d == 1e-6);
    }

    proptest::proptest! {
        /// Spending more never leaves more budget: composition is monotone in every cost.
        #[test]
        fn composition_is_monotone(a in 0u32..1000, b in 0u32..1000, c in 1u32..1000) {
            let eps = |n: u32| Cost::Pure { epsilon: Rational::new(n.into(), 1000u32.into()).unwrap() };
            let rho = |n: u32| Cost::Zcdp { rho: Rational::new(n.into(), 100_000u32.into()).unwrap() };
            let mut s = Spent::default();
            s.add(&eps(a));
            s.add(&rho(b));
            let before = s.as_approx(1e-6).0;
            s.add(&eps(c));
            proptest::prop_assert!(s.as_approx(1e-6).0 > before);
            s.add(&rho(c));
            proptest::prop_assert!(s.as_approx(1e-6).0 > before);
        }
    }
}
