//! Quality against a known truth (evaluation only): pairwise and cluster precision, recall and
//! F1, from the contingency of predicted and true clusters (no pair list is materialised).

use std::collections::HashMap;
use std::hash::Hash;

use serde::Serialize;

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Record pairs placed together by the prediction / by the truth / by both.
    pub predicted_pairs: u64,
    pub true_pairs: u64,
    pub correct_pairs: u64,
    pub pair_precision: f64,
    pub pair_recall: f64,
    pub pair_f1: f64,
    /// Share of predicted clusters that equal a true cluster, and of true clusters reproduced.
    pub cluster_precision: f64,
    pub cluster_recall: f64,
    pub cluster_f1: f64,
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
}

/// Scores a clustering against the truth over the records both cover: `items` holds each
/// record's (predicted cluster, true cluster).
pub fn score<P: Eq + Hash + Copy, T: Eq + Hash + Copy>(items: &[(P, T)]) -> Scores {
    let mut cell: HashMap<(P, T), u64> = HashMap::new();
    let mut pred: HashMap<P, u64> = HashMap::new();
    let mut truth: HashMap<T, u64> = HashMap::new();
    for &(p, t) in items {
        *cell.entry((p, t)).or_insert(0) += 1;
        *pred.entry(p).or_insert(0) += 1;
        *truth.entry(t).or_insert(0) += 1;
    }
    let correct: u64 = cell.values().map(|&n| pairs(n)).sum();
    let predicted: u64 = pred.values().map(|&n| pairs(n)).sum();
    let true_pairs: u64 = truth.values().map(|&n| pairs(n)).sum();
    let precision = if predicted == 0 { 1.0 } else { correct as f64 / predicted as f64 };
    let recall = if true_pairs == 0 { 1.0 } else { correct as f64 / true_pairs as f64 };
    // a cluster is exact when one cell holds all of its predicted and all of its true records
    let exact = cell.iter().filter(|((p, t), n)| pred[p] == **n && truth[t] == **n).count() as f64;
    let cp = if pred.is_empty() { 1.0 } else { exact / pred.len() as f64 };
    let cr = if truth.is_empty() { 1.0 } else { exact / truth.len() as f64 };
    Scores {
        predicted_pairs: predicted,
        true_pairs,
        correct_pairs: correct,
        pair_precision: precision,
        pair_recall: recall,
        pair_f1: f1(precision, recall),
        cluster_precision: cp,
        cluster_recall: cr,
        cluster_f1: f1(cp, cr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_split_and_merged_clusterings() {
        let truth = [1, 1, 2, 2, 3];
        let perfect: Vec<(u32, u32)> = truth.iter().map(|t| (*t * 10, *t)).collect();
        let s = score(&perfect);
        assert_eq!((s.pair_f1, s.cluster_f1), (1.0, 1.0));
        // everything in one cluster: precision 2/10 pairs, recall 1
        let merged: Vec<(u32, u32)> = truth.iter().map(|t| (0, *t)).collect();
        let s = score(&merged);
        assert_eq!((s.predicted_pairs, s.true_pairs, s.correct_pairs), (10, 2, 2));
        assert!((s.pair_precision - 0.2).abs() < 1e-12 && s.pair_recall == 1.0);
        assert_eq!(s.cluster_precision, 0.0);
        // all singletons: no predicted pairs, recall 0; only the true singleton is exact
        let split: Vec<(u32, u32)> = truth.iter().enumerate().map(|(i, t)| (i as u32, *t)).collect();
        let s = score(&split);
        assert_eq!(s.pair_recall, 0.0);
        assert!((s.cluster_recall - 1.0 / 3.0).abs() < 1e-12);
    }
}
