//! Household scores with reasons and suggested supports, and outreach lists per district cut to
//! caseworker capacity.
//!
//! A household's probability is that at least one of its children needs support,
//! `1 − Π(1 − p_child)`. Its reasons are the flags of its children that raise the score, in
//! the order of their weight, in the plain Japanese of the indicator headers. Known cases (e.g.
//! 要対協) are not rediscovered: they do not take a place of the capacity, and when they rank
//! within the list they are shown marked, so that caseworkers coordinate instead of visiting
//! twice.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::features::Features;
use crate::model::Model;
use crate::supports::Support;

/// One reason a household is on a list.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Reason {
    pub indicator: String,
    pub text: String,
    /// Its contribution to the calibrated log-odds.
    pub weight: f64,
}

/// A support the household may be eligible for and does not receive.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SuggestedSupport {
    pub id: String,
    pub name: String,
    pub offer: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HouseholdScore {
    pub household_id: u64,
    pub district: Option<String>,
    /// Calibrated probability that a child of it needs support; None when ranked by the
    /// scorecard (no labelled outcomes to calibrate on).
    pub probability: Option<f64>,
    /// The scorecard's points (most flags of one child), for comparison.
    pub points: u32,
    pub children: usize,
    pub reasons: Vec<Reason>,
    pub supports: Vec<SuggestedSupport>,
    pub known_case: bool,
    /// Keyed hash breaking ties reproducibly.
    pub tiebreak: u64,
}

/// Ties between equal scores are broken by a keyed hash of the household, under the seed.
pub fn tiebreak(household_id: u64, seed: u64) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(b"mimamori-outreach-tiebreak");
    h.update(&seed.to_le_bytes());
    h.update(&household_id.to_le_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&h.finalize().as_bytes()[..8]);
    u64::from_le_bytes(first)
}

/// Scores every household of `features` with `child_probability[i]` for child i.
pub fn score_households(
    f: &Features,
    model: &Model,
    child_probability: Option<&[f64]>,
    reasons: &BTreeMap<String, String>,
    supports: &[Support],
    seed: u64,
) -> Vec<HouseholdScore> {
    let mut out = Vec::new();
    for (h, rows) in f.households() {
        let mut none = 1.0;
        let mut points = 0;
        let mut weights: BTreeMap<usize, f64> = BTreeMap::new();
        for &i in &rows {
            if let Some(p) = child_probability {
                none *= 1.0 - p[i];
            }
            let row = f.row(i);
            points = points.max(f.points(i));
            for (j, on) in row.iter().enumerate() {
                if *on {
                    weights.insert(j, model.contribution(j));
                }
            }
        }
        let mut rs: Vec<Reason> = weights
            .into_iter()
            .filter(|(_, w)| *w > 0.0)
            .filter_map(|(j, w)| {
                let name = &f.names[j];
                reasons.get(name).map(|t| Reason { indicator: name.clone(), text: t.clone(), weight: w })
            })
            .collect();
        rs.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.indicator.cmp(&b.indicator)));
        let flags: BTreeSet<&str> =
            f.household_flags.iter().filter(|(_, s)| s.contains(&h)).map(|(n, _)| n.as_str()).collect();
        let sup = supports
            .iter()
            .filter(|s| s.suggested(&flags))
            .map(|s| SuggestedSupport { id: s.id.clone(), name: s.name.clone(), offer: s.offer.clone() })
            .collect();
        out.push(HouseholdScore {
            household_id: h,
            district: f.district.get(&h).cloned(),
            probability: child_probability.map(|_| 1.0 - none),
            points,
            children: rows.len(),
            reasons: rs,
            supports: sup,
            known_case: f.known.contains(&h),
            tiebreak: tiebreak(h, seed),
        });
    }
    out
}

/// How households are ranked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ranking {
    Model,
    Scorecard,
}

/// One district's list.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DistrictList {
    pub district: String,
    pub capacity: usize,
    /// Households scored in the district.
    pub scored: usize,
    /// New households listed, best first (at most `capacity`).
    pub listed: Vec<HouseholdScore>,
    /// Known cases that ranked within the list, shown marked; they take no place.
    pub known: Vec<HouseholdScore>,
    /// Households above the floor that did not fit the capacity.
    pub beyond_capacity: usize,
}

/// Orders households best first.
pub fn order(households: &[&HouseholdScore], by: Ranking) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..households.len()).collect();
    idx.sort_by(|&a, &b| {
        let (x, y) = (households[a], households[b]);
        let primary = match by {
            Ranking::Model => y.probability.unwrap_or(0.0).total_cmp(&x.probability.unwrap_or(0.0)),
            Ranking::Scorecard => y.points.cmp(&x.points).then(y.reasons.len().cmp(&x.reasons.len())),
        };
        primary.then(x.tiebreak.cmp(&y.tiebreak))
    });
    idx
}

/// Lists per district: the best households down to `min_probability` (model ranking) or with at
/// least `min_points` (scorecard), new cases cut to the district's capacity. Districts without a
/// capacity get no list.
pub fn select(
    households: &[HouseholdScore],
    capacity: &BTreeMap<String, usize>,
    min_probability: f64,
    min_points: u32,
    by: Ranking,
) -> BTreeMap<String, DistrictList> {
    let mut by_district: BTreeMap<&str, Vec<&HouseholdScore>> = BTreeMap::new();
    for h in households {
        if let Some(d) = &h.district {
            by_district.entry(d.as_str()).or_default().push(h);
        }
    }
    let mut out = BTreeMap::new();
    for (d, cap) in capacity {
        let hs = by_district.remove(d.as_str()).unwrap_or_default();
        let ord = order(&hs, by);
        let mut list = DistrictList {
            district: d.clone(),
            capacity: *cap,
            scored: hs.len(),
            listed: Vec::new(),
            known: Vec::new(),
            beyond_capacity: 0,
        };
        for i in ord {
            let h = hs[i];
            let above = match by {
                Ranking::Model => h.probability.unwrap_or(0.0) >= min_probability,
                Ranking::Scorecard => h.points >= min_points,
            };
            if !above {
                break;
            }
            if list.listed.len() >= *cap {
                list.beyond_capacity += usize::from(!h.known_case);
                continue;
            }
            if h.known_case {
                list.known.push(h.clone());
            } else {
                list.listed.push(h.clone());
            }
        }
        out.insert(d.clone(), list);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hh(id: u64, d: &str, p: f64, known: bool) -> HouseholdScore {
        HouseholdScore {
            household_id: id,
            district: Some(d.into()),
            probability: Some(p),
            points: (p * 10.0) as u32,
            children: 1,
            reasons: vec![],
            supports: vec![],
            known_case: known,
            tiebreak: tiebreak(id, 1),
        }
    }

    #[test]
    fn capacity_cuts_new_cases_and_known_cases_take_no_place() {
        let hs = vec![
            hh(1, "a", 0.9, true),
            hh(2, "a", 0.8, false),
            hh(3, "a", 0.7, false),
            hh(4, "a", 0.6, false),
            hh(5, "a", 0.1, false),
            hh(6, "b", 0.95, false),
        ];
        let cap = BTreeMap::from([("a".to_string(), 2), ("b".to_string(), 5)]);
        let lists = select(&hs, &cap, 0.2, 1, Ranking::Model);
        let a = &lists["a"];
        assert_eq!(a.listed.iter().map(|h| h.household_id).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(a.known.iter().map(|h| h.household_id).collect::<Vec<_>>(), vec![1]);
        assert_eq!(a.beyond_capacity, 1, "household 4 is above the floor but beyond capacity");
        assert_eq!(lists["b"].listed.len(), 1, "a district's list never holds another district's households");
    }
}
