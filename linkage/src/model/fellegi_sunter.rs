//! The Fellegi–Sunter model estimated by expectation–maximisation over comparison-pattern
//! counts (Winkler 1988; as Splink does): every record pair is summarised by its comparison
//! vector γ (one level per field, or unknown), pairs are grouped by γ, and EM runs on the
//! groups, so its cost does not grow with the number of records.
//!
//! Unknown levels (a field missing or holding a lost character on either side) contribute a
//! factor of 1 to both likelihoods: unknown is neither agreement nor disagreement.

use serde::{Deserialize, Serialize};

/// One comparison pattern and how many pairs show it; `None` is an unknown level.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    pub levels: Vec<Option<u8>>,
    pub count: f64,
}

/// m and u probabilities per field and level, and the prior match probability λ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parameters {
    /// m[f][l] = P(level l of field f | match)
    pub m: Vec<Vec<f64>>,
    /// u[f][l] = P(level l of field f | non-match)
    pub u: Vec<Vec<f64>>,
    pub lambda: f64,
}

/// What EM did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    pub parameters: Parameters,
    pub iterations: u32,
    pub converged: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("pattern has {found} fields, the model {expected}")]
    Shape { expected: usize, found: usize },
    #[error("field {field} has a level {level} beyond its {levels} levels")]
    Level { field: usize, level: u8, levels: usize },
    #[error("no comparison patterns to estimate from")]
    Empty,
}

/// Probabilities are kept away from 0 and 1 so that weights stay finite.
const FLOOR: f64 = 1e-6;

impl Parameters {
    /// Starting values: agreement at the top level likely for matches and unlikely otherwise.
    pub fn initial(levels: &[usize], lambda: f64) -> Parameters {
        let ramp = |n: usize, matches: bool| -> Vec<f64> {
            let w: Vec<f64> = (0..n)
                .map(|l| if matches { 2f64.powi(l as i32 * 2) } else { 2f64.powi((n - 1 - l) as i32 * 2) })
                .collect();
            let s: f64 = w.iter().sum();
            w.into_iter().map(|x| x / s).collect()
        };
        Parameters {
            m: levels.iter().map(|&n| ramp(n, true)).collect(),
            u: levels.iter().map(|&n| ramp(n, false)).collect(),
            lambda,
        }
    }

    /// log₂ Bayes factor of one pattern: Σ_f log₂(m/u) over known levels.
    pub fn log2_bayes_factor(&self, levels: &[Option<u8>]) -> f64 {
        levels
            .iter()
            .enumerate()
            .filter_map(|(f, l)| l.map(|l| (self.m[f][l as usize] / self.u[f][l as usize]).log2()))
            .sum()
    }

    /// Match weight (prior included) and match probability of a pattern.
    pub fn match_probability(&self, levels: &[Option<u8>]) -> f64 {
        let prior = (self.lambda / (1.0 - self.lambda)).log2();
        let w = prior + self.log2_bayes_factor(levels);
        1.0 / (1.0 + 2f64.powf(-w))
    }
}

fn check(patterns: &[Pattern], levels: &[usize]) -> Result<(), ModelError> {
    if patterns.is_empty() {
        return Err(ModelError::Empty);
    }
    for p in patterns {
        if p.levels.len() != levels.len() {
            return Err(ModelError::Shape { expected: levels.len(), found: p.levels.len() });
        }
        for (f, l) in p.levels.iter().enumerate() {
            if let Some(l) = l
                && *l as usize >= levels[f]
            {
                return Err(ModelError::Level { field: f, level: *l, levels: levels[f] });
            }
        }
    }
    Ok(())
}

/// Estimates m and λ (and u unless `fixed_u` is given, e.g. from random pairs) by EM.
pub fn estimate(
    patterns: &[Pattern],
    levels: &[usize],
    start: Parameters,
    fixed_u: Option<&[Vec<f64>]>,
    max_iterations: u32,
    tolerance: f64,
) -> Result<Fit, ModelError> {
    check(patterns, levels)?;
    let mut p = start;
    if let Some(u) = fixed_u {
        p.u = u.to_vec();
    }
    for iteration in 1..=max_iterations {
        // E step: posterior match probability of each pattern
        let mut m_acc: Vec<Vec<f64>> = levels.iter().map(|&n| vec![0.0; n]).collect();
        let mut u_acc = m_acc.clone();
        let (mut matched, mut total) = (0.0, 0.0);
        for pat in patterns {
            let w = p.match_probability(&pat.levels);
            matched += pat.count * w;
            total += pat.count;
            for (f, l) in pat.levels.iter().enumerate() {
                if let Some(l) = l {
                    m_acc[f][*l as usize] += pat.count * w;
                    u_acc[f][*l as usize] += pat.count * (1.0 - w);
                }
            }
        }
        // M step
        let normalise = |acc: &[f64]| -> Vec<f64> {
            let s: f64 = acc.iter().sum();
            if s <= 0.0 {
                return vec![1.0 / acc.len() as f64; acc.len()];
            }
            let v: Vec<f64> = acc.iter().map(|x| (x / s).max(FLOOR)).collect();
            let s2: f64 = v.iter().sum();
            v.into_iter().map(|x| x / s2).collect()
        };
        let next_m: Vec<Vec<f64>> = m_acc.iter().map(|a| normalise(a)).collect();
        let next_u: Vec<Vec<f64>> = match fixed_u {
            Some(u) => u.to_vec(),
            None => u_acc.iter().map(|a| normalise(a)).collect(),
        };
        let next_lambda = (matched / total).clamp(FLOOR, 1.0 - FLOOR);
        let change = next_m
            .iter()
            .flatten()
            .zip(p.m.iter().flatten())
            .chain(next_u.iter().flatten().zip(p.u.iter().flatten()))
            .map(|(a, b)| (a - b).abs())
            .fold((next_lambda - p.lambda).abs(), f64::max);
        p = Parameters { m: next_m, u: next_u, lambda: next_lambda };
        if change < tolerance {
            return Ok(Fit { parameters: p, iterations: iteration, converged: true });
        }
    }
    Ok(Fit { parameters: p, iterations: max_iterations, converged: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact expected pattern counts under known parameters (no sampling noise), with a share
    /// of unknown levels.
    fn expected_patterns(truth: &Parameters, n: f64, unknown: f64) -> Vec<Pattern> {
        let levels: Vec<usize> = truth.m.iter().map(Vec::len).collect();
        let mut patterns = Vec::new();
        let mut idx = vec![0usize; levels.len()];
        loop {
            // each field is unknown with probability `unknown`, independently
            for mask in 0..(1u32 << levels.len()) {
                let mut pm = truth.lambda;
                let mut pu = 1.0 - truth.lambda;
                let mut lv = Vec::new();
                for (f, &l) in idx.iter().enumerate() {
                    if mask & (1 << f) != 0 {
                        pm *= unknown;
                        pu *= unknown;
                        lv.push(None);
                    } else {
                        pm *= (1.0 - unknown) * truth.m[f][l];
                        pu *= (1.0 - unknown) * truth.u[f][l];
                        lv.push(Some(l as u8));
                    }
                }
                if mask == 0 || unknown > 0.0 {
                    patterns.push(Pattern { levels: lv, count: n * (pm + pu) });
                }
            }
            let mut f = 0;
            while f < idx.len() {
                idx[f] += 1;
                if idx[f] < levels[f] {
                    break;
                }
                idx[f] = 0;
                f += 1;
            }
            if f == idx.len() {
                return patterns;
            }
        }
    }

    fn truth() -> Parameters {
        Parameters {
            m: vec![vec![0.02, 0.08, 0.9], vec![0.05, 0.95], vec![0.03, 0.12, 0.85], vec![0.1, 0.9]],
            u: vec![vec![0.95, 0.04, 0.01], vec![0.5, 0.5], vec![0.9, 0.08, 0.02], vec![0.97, 0.03]],
            lambda: 0.002,
        }
    }

    #[test]
    fn em_recovers_known_parameters_with_unknown_levels() {
        let t = truth();
        let levels = [3, 2, 3, 2];
        let patterns = expected_patterns(&t, 1e7, 0.1);
        let fit = estimate(&patterns, &levels, Parameters::initial(&levels, 0.01), None, 500, 1e-10).unwrap();
        assert!(fit.converged, "{} iterations", fit.iterations);
        let p = &fit.parameters;
        assert!((p.lambda - t.lambda).abs() < 2e-4, "λ {}", p.lambda);
        for (f, &n) in levels.iter().enumerate() {
            for l in 0..n {
                assert!((p.m[f][l] - t.m[f][l]).abs() < 0.01, "m[{f}][{l}] {} vs {}", p.m[f][l], t.m[f][l]);
                assert!((p.u[f][l] - t.u[f][l]).abs() < 0.01, "u[{f}][{l}] {} vs {}", p.u[f][l], t.u[f][l]);
            }
        }
    }

    #[test]
    fn fixed_u_is_kept_and_unknown_levels_are_neutral() {
        let t = truth();
        let levels = [3, 2, 3, 2];
        let patterns = expected_patterns(&t, 1e6, 0.0);
        let fit = estimate(&patterns, &levels, Parameters::initial(&levels, 0.01), Some(&t.u), 500, 1e-10).unwrap();
        assert_eq!(fit.parameters.u, t.u);
        let all_unknown = [None, None, None, None];
        assert_eq!(fit.parameters.log2_bayes_factor(&all_unknown), 0.0);
        let agree = [Some(2), Some(1), Some(2), Some(1)];
        let disagree = [Some(0), Some(0), Some(0), Some(0)];
        assert!(fit.parameters.match_probability(&agree) > 0.99);
        assert!(fit.parameters.match_probability(&disagree) < 1e-6);
    }

    #[test]
    fn malformed_patterns_are_errors() {
        let levels = [2, 2];
        let start = Parameters::initial(&levels, 0.01);
        let bad_shape = [Pattern { levels: vec![Some(1)], count: 1.0 }];
        assert!(matches!(estimate(&bad_shape, &levels, start.clone(), None, 10, 1e-6), Err(ModelError::Shape { .. })));
        let bad_level = [Pattern { levels: vec![Some(1), Some(5)], count: 1.0 }];
        assert!(matches!(estimate(&bad_level, &levels, start.clone(), None, 10, 1e-6), Err(ModelError::Level { .. })));
        assert!(matches!(estimate(&[], &levels, start, None, 10, 1e-6), Err(ModelError::Empty)));
    }
}
