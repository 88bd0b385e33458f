//! How good the scores are, measured on labelled outcomes the model did not see (out-of-fold):
//! AUC, precision and recall at a list size, calibration, and the same for the rule-based
//! scorecard that the model must beat (its points: `crate::scorecard`).

use serde::{Deserialize, Serialize};

/// Area under the ROC curve (the Mann–Whitney statistic, ties counted half).
pub fn auc(scores: &[f64], y: &[bool]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let (mut rank_sum, mut i) = (0.0, 0);
    let pos = y.iter().filter(|v| **v).count() as f64;
    let neg = y.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return None;
    }
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            if y[idx[k]] {
                rank_sum += mid;
            }
        }
        i = j + 1;
    }
    Some((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

/// Wilson score interval (95%) for `k` successes in `n`.
pub fn wilson(k: usize, n: usize) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let (z, n, p) = (1.96f64, n as f64, k as f64 / n as f64);
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / (1.0 + z * z / n);
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// A proportion with its interval.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Share {
    pub k: usize,
    pub n: usize,
    pub value: Option<f64>,
    pub ci95: Option<(f64, f64)>,
}

impl Share {
    pub fn new(k: usize, n: usize) -> Share {
        Share { k, n, value: (n > 0).then(|| k as f64 / n as f64), ci95: wilson(k, n) }
    }
}

/// Precision and recall when the top `k` of a ranking are listed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AtK {
    pub listed: usize,
    pub share_listed: f64,
    /// Share of listed with a confirmed need (what caseworkers would confirm).
    pub precision: Share,
    pub recall: Share,
}

/// `order` ranks rows best first; `y` are their outcomes.
pub fn at_k(order: &[usize], y: &[bool], k: usize) -> AtK {
    let k = k.min(order.len());
    let hits = order[..k].iter().filter(|&&i| y[i]).count();
    let pos = y.iter().filter(|v| **v).count();
    AtK {
        listed: k,
        share_listed: if y.is_empty() { 0.0 } else { k as f64 / y.len() as f64 },
        precision: Share::new(hits, k),
        recall: Share::new(hits, pos),
    }
}

/// Ranks rows by score, best first; ties broken by `tiebreak` (a keyed hash, so reproducible).
pub fn rank(scores: &[f64], tiebreak: &[u64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]).then(tiebreak[*a].cmp(&tiebreak[*b])));
    idx
}

/// One bin of the calibration curve.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CalibrationBin {
    pub from: f64,
    pub to: f64,
    pub n: usize,
    pub mean_predicted: f64,
    pub observed: Share,
}

/// Calibration curve in bins of equal width over [0, 1].
pub fn calibration(p: &[f64], y: &[bool], bins: usize) -> Vec<CalibrationBin> {
    let mut out = Vec::new();
    for b in 0..bins {
        let (from, to) = (b as f64 / bins as f64, (b + 1) as f64 / bins as f64);
        let rows: Vec<usize> =
            (0..p.len()).filter(|&i| p[i] >= from && (p[i] < to || (b + 1 == bins && p[i] <= to))).collect();
        if rows.is_empty() {
            continue;
        }
        let mean = rows.iter().map(|&i| p[i]).sum::<f64>() / rows.len() as f64;
        let hits = rows.iter().filter(|&&i| y[i]).count();
        out.push(CalibrationBin {
            from,
            to,
            n: rows.len(),
            mean_predicted: mean,
            observed: Share::new(hits, rows.len()),
        });
    }
    out
}

/// Mean squared error of probabilities.
pub fn brier(p: &[f64], y: &[bool]) -> f64 {
    if p.is_empty() {
        return 0.0;
    }
    p.iter().zip(y).map(|(p, y)| (p - f64::from(u8::from(*y))).powi(2)).sum::<f64>() / p.len() as f64
}

/// Expected calibration error over the bins (weighted by their size).
pub fn expected_calibration_error(bins: &[CalibrationBin]) -> f64 {
    let n: usize = bins.iter().map(|b| b.n).sum();
    if n == 0 {
        return 0.0;
    }
    bins.iter().map(|b| b.n as f64 * (b.mean_predicted - b.observed.value.unwrap_or(0.0)).abs()).sum::<f64>() / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_perfect_random_and_tied_scores() {
        let y = [false, false, true, true];
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &y), Some(1.0));
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &y), Some(0.0));
        assert_eq!(auc(&[0.5; 4], &y), Some(0.5));
        assert_eq!(auc(&[0.5; 2], &[true, true]), None);
    }

    #[test]
    fn precision_at_k_and_wilson_interval() {
        let y = [true, false, true, false, false];
        let order = rank(&[0.9, 0.8, 0.7, 0.1, 0.0], &[0; 5]);
        let a = at_k(&order, &y, 2);
        assert_eq!((a.precision.k, a.precision.n, a.recall.k, a.recall.n), (1, 2, 1, 2));
        let (lo, hi) = wilson(50, 100).unwrap();
        assert!((lo - 0.404).abs() < 0.002 && (hi - 0.596).abs() < 0.002, "{lo} {hi}");
    }

    #[test]
    fn ties_are_broken_by_the_key_not_by_input_order() {
        assert_eq!(rank(&[0.5, 0.5, 0.9], &[9, 3, 0]), vec![2, 1, 0]);
    }

    #[test]
    fn calibration_bins_cover_every_row() {
        let p = [0.05, 0.15, 0.95, 1.0];
        let y = [false, false, true, true];
        let bins = calibration(&p, &y, 10);
        assert_eq!(bins.iter().map(|b| b.n).sum::<usize>(), 4);
        assert!(expected_calibration_error(&bins) < 0.1);
    }
}
