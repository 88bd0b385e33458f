//! Exact non-negative rationals, parsed from the strings users write ("2", "0.25", "1e-6",
//! "5/2"), so that a scale or a budget is never rounded on its way into a mechanism.

use std::fmt;
use std::str::FromStr;

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::{One, Zero};

/// `num / den` in lowest terms, `den > 0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rational {
    num: BigUint,
    den: BigUint,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a non-negative number (expected e.g. 2, 0.25, 1e-6 or 5/2)")]
pub struct ParseRationalError(String);

impl Rational {
    /// `num / den`; None when `den` is zero.
    pub fn new(num: BigUint, den: BigUint) -> Option<Rational> {
        if den.is_zero() {
            return None;
        }
        let g = num.gcd(&den);
        let g = if g.is_zero() { BigUint::one() } else { g };
        Some(Rational { num: num / &g, den: den / &g })
    }

    pub fn from_integer(n: u64) -> Rational {
        Rational { num: BigUint::from(n), den: BigUint::one() }
    }

    pub fn numer(&self) -> &BigUint {
        &self.num
    }

    pub fn denom(&self) -> &BigUint {
        &self.den
    }

    pub fn is_zero(&self) -> bool {
        self.num.is_zero()
    }

    /// ⌊self⌋
    pub fn floor(&self) -> BigUint {
        &self.num / &self.den
    }

    /// self − ⌊self⌋
    pub fn fract(&self) -> Rational {
        Rational { num: &self.num % &self.den, den: self.den.clone() }
    }

    /// self²
    pub fn square(&self) -> Rational {
        Rational { num: &self.num * &self.num, den: &self.den * &self.den }
    }

    /// An approximation for display and for non-privacy arithmetic (error bounds, reports).
    pub fn to_f64(&self) -> f64 {
        let (n, d) = (self.num.to_string(), self.den.to_string());
        n.parse::<f64>().unwrap_or(f64::INFINITY) / d.parse::<f64>().unwrap_or(f64::INFINITY)
    }
}

impl fmt::Display for Rational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den.is_one() { write!(f, "{}", self.num) } else { write!(f, "{}/{}", self.num, self.den) }
    }
}

impl FromStr for Rational {
    type Err = ParseRationalError;

    fn from_str(s: &str) -> Result<Rational, ParseRationalError> {
        let bad = || ParseRationalError(s.to_string());
        let t = s.trim();
        if let Some((n, d)) = t.split_once('/') {
            let n: BigUint = n.trim().parse().map_err(|_| bad())?;
            let d: BigUint = d.trim().parse().map_err(|_| bad())?;
            return Rational::new(n, d).ok_or_else(bad);
        }
        let (mantissa, exponent) = match t.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i32>().map_err(|_| bad())?),
            None => (t, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() && frac.is_empty() || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let digits: BigUint = format!("{int}{frac}").trim_start_matches('0').parse().unwrap_or_default();
        let scale = exponent - frac.len() as i32;
        let ten = BigUint::from(10u32);
        let (num, den) = if scale >= 0 {
            (digits * num_traits::pow(ten, scale as usize), BigUint::one())
        } else {
            (digits, num_traits::pow(ten, (-scale) as usize))
        };
        Rational::new(num, den).ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Rational {
        s.parse().unwrap()
    }

    #[test]
    fn parses_exactly() {
        assert_eq!(r("2").to_string(), "2");
        assert_eq!(r("0.25").to_string(), "1/4");
        assert_eq!(r("1e-6").to_string(), "1/1000000");
        assert_eq!(r("2.5e1").to_string(), "25");
        assert_eq!(r("10/4").to_string(), "5/2");
        assert_eq!(r(".5").to_string(), "1/2");
        // 0.1 is exactly 1/10, not the binary double nearest to it
        assert_eq!(r("0.1"), Rational::new(BigUint::from(1u32), BigUint::from(10u32)).unwrap());
        for bad in ["", "-1", "abc", "1/0", "1.2.3", "e5", "."] {
            assert!(bad.parse::<Rational>().is_err(), "{bad}");
        }
    }

    #[test]
    fn floor_fract_square() {
        let x = r("7/2");
        assert_eq!(x.floor(), BigUint::from(3u32));
        assert_eq!(x.fract().to_string(), "1/2");
        assert_eq!(x.square().to_string(), "49/4");
    }
}
