//! An additive, calibrated model: L2-regularised logistic regression on the indicator flags,
//! cross-fitted by household, then Platt-calibrated on the out-of-fold scores.
//!
//! Every score is a sum: the calibrated log-odds of a child are `base + Σ contribution_j` over
//! the flags it has, with `contribution_j = a·β_j` (Platt slope `a` times the coefficient), so
//! a reason's weight is exactly its share of the score. The penalty λ is chosen by the
//! out-of-fold log loss over a fixed grid. Folds are whole households (siblings share a
//! household's flags; splitting them would leak), assigned by a keyed hash of the seed.

use serde::{Deserialize, Serialize};

/// The grid of penalties tried (on the sum of log losses; larger means more shrinkage).
pub const LAMBDAS: [f64; 8] = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0];

/// The fitted model, as `model.json` stores it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Model {
    pub features: Vec<String>,
    /// Uncalibrated logistic intercept and coefficients.
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    /// Platt calibration: calibrated log-odds = a · raw log-odds + b.
    pub platt_a: f64,
    pub platt_b: f64,
    pub lambda: f64,
    /// Mean out-of-fold log loss per λ of the grid.
    pub lambda_log_loss: Vec<(f64, f64)>,
    pub folds: usize,
    pub seed: u64,
    pub trained_on: usize,
    pub positives: usize,
}

impl Model {
    /// The calibrated log-odds of a child with no flag.
    pub fn base(&self) -> f64 {
        self.platt_a * self.intercept + self.platt_b
    }

    /// The calibrated log-odds contribution of each feature when present.
    pub fn contribution(&self, j: usize) -> f64 {
        self.platt_a * self.coefficients[j]
    }

    pub fn log_odds(&self, x: &[bool]) -> f64 {
        self.base() + x.iter().enumerate().filter(|(_, f)| **f).map(|(j, _)| self.contribution(j)).sum::<f64>()
    }

    pub fn probability(&self, x: &[bool]) -> f64 {
        sigmoid(self.log_odds(x))
    }
}

pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Solves `a x = b` for a symmetric positive-definite `a` (n×n, row-major) by Cholesky.
fn solve_spd(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * y[k];
        }
        y[i] = s / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = y[i];
        for k in i + 1..n {
            s -= l[k * n + i] * x[k];
        }
        x[i] = s / l[i * n + i];
    }
    Some(x)
}

/// Rows of one design: `x[i·p + j]` is feature j of row i.
pub struct Design<'a> {
    pub x: &'a [bool],
    pub p: usize,
}

/// Fits intercept and coefficients by Newton's method on `rows` (penalising the coefficients,
/// not the intercept). Converges in a handful of steps on binary features.
pub fn fit_logistic(d: &Design, y: &[bool], rows: &[usize], lambda: f64) -> (f64, Vec<f64>) {
    let n = d.p + 1;
    let mut theta = vec![0.0; n];
    let pos = rows.iter().filter(|&&i| y[i]).count() as f64;
    let m = rows.len() as f64;
    theta[0] = ((pos + 0.5) / (m - pos + 0.5)).ln();
    for _ in 0..50 {
        let mut g = vec![0.0; n];
        let mut h = vec![0.0; n * n];
        let mut active = Vec::with_capacity(n);
        for &i in rows {
            active.clear();
            active.push(0);
            let row = &d.x[i * d.p..(i + 1) * d.p];
            let mut z = theta[0];
            for (j, f) in row.iter().enumerate() {
                if *f {
                    active.push(j + 1);
                    z += theta[j + 1];
                }
            }
            let mu = sigmoid(z);
            let r = f64::from(u8::from(y[i])) - mu;
            let w = (mu * (1.0 - mu)).max(1e-12);
            for &a in &active {
                g[a] += r;
                for &b in &active {
                    h[a * n + b] += w;
                }
            }
        }
        h[0] += 1e-9;
        for j in 1..n {
            g[j] -= lambda * theta[j];
            h[j * n + j] += lambda.max(1e-9);
        }
        let Some(step) = solve_spd(&h, &g, n) else { break };
        let mut change: f64 = 0.0;
        for j in 0..n {
            theta[j] += step[j];
            change = change.max(step[j].abs());
        }
        if change < 1e-8 {
            break;
        }
    }
    (theta[0], theta[1..].to_vec())
}

fn raw(intercept: f64, beta: &[f64], row: &[bool]) -> f64 {
    intercept + row.iter().zip(beta).filter(|(f, _)| **f).map(|(_, b)| b).sum::<f64>()
}

fn log_loss(p: f64, y: bool) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    if y { -p.ln() } else { -(1.0 - p).ln() }
}

/// Platt scaling: fits `a, b` of `sigmoid(a·z + b)` by Newton's method.
pub fn fit_platt(z: &[f64], y: &[bool]) -> (f64, f64) {
    let (mut a, mut b) = (1.0, 0.0);
    for _ in 0..50 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
        for (zi, yi) in z.iter().zip(y) {
            let mu = sigmoid(a * zi + b);
            let r = f64::from(u8::from(*yi)) - mu;
            let w = (mu * (1.0 - mu)).max(1e-12);
            ga += r * zi;
            gb += r;
            haa += w * zi * zi;
            hab += w * zi;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-12 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a += da;
        b += db;
        if da.abs().max(db.abs()) < 1e-10 {
            break;
        }
    }
    (a, b)
}

/// The fold (0..folds) of a household under `seed`.
pub fn fold_of(household_id: u64, seed: u64, folds: usize) -> usize {
    let mut h = blake3::Hasher::new();
    h.update(b"mimamori-risk-fold");
    h.update(&seed.to_le_bytes());
    h.update(&household_id.to_le_bytes());
    let b = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&b.as_bytes()[..8]);
    (u64::from_le_bytes(first) % folds.max(1) as u64) as usize
}

/// A cross-fitted model: the final model on every labelled row, and each labelled row's
/// calibrated probability from the model that did not see its household.
pub struct CrossFit {
    pub model: Model,
    /// Out-of-fold calibrated probability per row (every row, labelled or not).
    pub out_of_fold: Vec<Option<f64>>,
    pub fold: Vec<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error(
        "{positives} children labelled as needing support and {negatives} as not: the model needs at least 20 of each (record outcomes with `mimamori outreach record`, or give labels)"
    )]
    TooFewLabels { positives: usize, negatives: usize },
}

/// Fits the model. `labels[i]` is the outcome of row i when known; `household[i]` its household.
pub fn cross_fit(
    names: &[String],
    d: &Design,
    labels: &[Option<bool>],
    household: &[u64],
    folds: usize,
    seed: u64,
) -> Result<CrossFit, FitError> {
    let rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i].is_some()).collect();
    let y: Vec<bool> = labels.iter().map(|l| l.unwrap_or(false)).collect();
    let positives = rows.iter().filter(|&&i| y[i]).count();
    let negatives = rows.len() - positives;
    if positives < 20 || negatives < 20 {
        return Err(FitError::TooFewLabels { positives, negatives });
    }
    let fold: Vec<usize> = household.iter().map(|h| fold_of(*h, seed, folds)).collect();
    let mut best: Option<(f64, f64, Vec<f64>)> = None; // (loss, lambda, raw oof logits by row)
    let mut grid = Vec::new();
    for &lambda in &LAMBDAS {
        let mut z = vec![0.0; labels.len()];
        for f in 0..folds {
            let train: Vec<usize> = rows.iter().copied().filter(|&i| fold[i] != f).collect();
            // every row of the fold, labelled or not: an unlabelled sibling is scored by the
            // model that did not see its household either
            let test = (0..labels.len()).filter(|&i| fold[i] == f);
            let (b0, beta) = fit_logistic(d, &y, &train, lambda);
            for i in test {
                z[i] = raw(b0, &beta, &d.x[i * d.p..(i + 1) * d.p]);
            }
        }
        let loss = rows.iter().map(|&i| log_loss(sigmoid(z[i]), y[i])).sum::<f64>() / rows.len() as f64;
        grid.push((lambda, loss));
        if best.as_ref().is_none_or(|(l, _, _)| loss < *l) {
            best = Some((loss, lambda, z));
        }
    }
    let Some((_, lambda, z)) = best else { return Err(FitError::TooFewLabels { positives, negatives }) };
    let zs: Vec<f64> = rows.iter().map(|&i| z[i]).collect();
    let ys: Vec<bool> = rows.iter().map(|&i| y[i]).collect();
    let (a, b) = fit_platt(&zs, &ys);
    let out_of_fold = (0..labels.len()).map(|i| Some(sigmoid(a * z[i] + b))).collect();
    let (intercept, coefficients) = fit_logistic(d, &y, &rows, lambda);
    Ok(CrossFit {
        model: Model {
            features: names.to_vec(),
            intercept,
            coefficients,
            platt_a: a,
            platt_b: b,
            lambda,
            lambda_log_loss: grid,
            folds,
            seed,
            trained_on: rows.len(),
            positives,
        },
        out_of_fold,
        fold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Data drawn from a known logistic model: the fit recovers the signs and rough sizes.
    #[test]
    fn recovers_a_known_model_and_calibrates() {
        let (n, p) = (20_000usize, 3usize);
        let truth = [-2.0, 1.5, 0.0, 0.8];
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut x = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..n {
            let row: Vec<bool> = (0..p).map(|_| next() < 0.3).collect();
            let z = truth[0] + row.iter().zip(&truth[1..]).filter(|(f, _)| **f).map(|(_, b)| b).sum::<f64>();
            labels.push(Some(next() < sigmoid(z)));
            x.extend(row);
        }
        let household: Vec<u64> = (0..n as u64).collect();
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let fit = cross_fit(&names, &Design { x: &x, p }, &labels, &household, 5, 1).unwrap();
        let m = &fit.model;
        assert!((m.contribution(0) - 1.5).abs() < 0.2, "{m:?}");
        assert!(m.contribution(1).abs() < 0.15, "{m:?}");
        assert!((m.contribution(2) - 0.8).abs() < 0.2, "{m:?}");
        assert!((m.base() + 2.0).abs() < 0.2, "{m:?}");
        // calibrated: the mean out-of-fold probability matches the share of positives
        let mean: f64 = fit.out_of_fold.iter().flatten().sum::<f64>() / n as f64;
        let share = labels.iter().filter(|l| **l == Some(true)).count() as f64 / n as f64;
        assert!((mean - share).abs() < 0.01, "{mean} vs {share}");
        // the score is exactly the sum of its contributions
        let row = [true, false, true];
        let sum = m.base() + m.contribution(0) + m.contribution(2);
        assert!((m.log_odds(&row) - sum).abs() < 1e-12);
    }

    #[test]
    fn folds_keep_households_whole_and_depend_on_the_seed() {
        assert_eq!(fold_of(42, 1, 5), fold_of(42, 1, 5));
        let moved = (0..100u64).filter(|h| fold_of(*h, 1, 5) != fold_of(*h, 2, 5)).count();
        assert!(moved > 50);
    }

    #[test]
    fn too_few_labels_is_an_error_that_says_what_to_do() {
        let x = vec![false; 10];
        let labels = vec![Some(true); 10];
        let e = cross_fit(&["a".into()], &Design { x: &x, p: 1 }, &labels, &[0; 10], 5, 1).err().unwrap();
        assert!(e.to_string().contains("outreach record"));
    }
}
