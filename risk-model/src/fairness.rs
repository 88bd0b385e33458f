//! The fairness audit shown to reviewers with every list: selection rate, precision,
//! false-positive and false-negative rates by group, with 95% intervals, and the disparities
//! that exceed the configured bound (a list with one needs an explicit reviewer override).
//!
//! Rates are per household. A household is positive when a child of it is labelled as needing
//! support; precision, FPR and FNR need labels and are left empty without them.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::evaluate::Share;

/// One household as the audit sees it.
#[derive(Clone, Copy, Debug)]
pub struct Audited<'a> {
    pub household_id: u64,
    pub district: Option<&'a str>,
    pub selected: bool,
    pub label: Option<bool>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GroupRow {
    /// The attribute (e.g. `single_parent`, `district`).
    pub attribute: String,
    /// What the row covers (e.g. ひとり親世帯 / それ以外, or a district).
    pub group: String,
    pub households: usize,
    pub selection_rate: Share,
    pub precision: Share,
    pub false_positive_rate: Share,
    pub false_negative_rate: Share,
}

fn row(attribute: &str, group: &str, members: &[&Audited]) -> GroupRow {
    let selected = members.iter().filter(|h| h.selected).count();
    let sel_labelled = members.iter().filter(|h| h.selected && h.label.is_some()).count();
    let tp = members.iter().filter(|h| h.selected && h.label == Some(true)).count();
    let pos = members.iter().filter(|h| h.label == Some(true)).count();
    let neg = members.iter().filter(|h| h.label == Some(false)).count();
    let fp = members.iter().filter(|h| h.selected && h.label == Some(false)).count();
    GroupRow {
        attribute: attribute.to_string(),
        group: group.to_string(),
        households: members.len(),
        selection_rate: Share::new(selected, members.len()),
        precision: Share::new(tp, sel_labelled),
        false_positive_rate: Share::new(fp, neg),
        false_negative_rate: Share::new(pos - tp, pos),
    }
}

/// The table: for each group, its members and the rest; then each district.
pub fn table(households: &[Audited], groups: &BTreeMap<String, (String, HashSet<u64>)>) -> Vec<GroupRow> {
    let mut out = vec![row("all", "全世帯", &households.iter().collect::<Vec<_>>())];
    for (name, (label, members)) in groups {
        let (inside, outside): (Vec<&Audited>, Vec<&Audited>) =
            households.iter().partition(|h| members.contains(&h.household_id));
        out.push(row(name, label, &inside));
        out.push(row(name, "それ以外", &outside));
    }
    let mut by_district: BTreeMap<&str, Vec<&Audited>> = BTreeMap::new();
    for h in households {
        by_district.entry(h.district.unwrap_or("（学区不明）")).or_default().push(h);
    }
    for (d, members) in by_district {
        out.push(row("district", d, &members));
    }
    out
}

/// Disparities to a group's disadvantage (districts excluded: their lists are sized by capacity
/// on purpose): the group's needs are missed more often (false-negative rate) or it is listed
/// without need more often (false-positive rate: an intrusion) than the rest, by more than
/// `max_gap`, the difference being above zero at 95% (two-proportion z, one-sided), with at
/// least `min_support` labelled households on each side. A group whose needs are found more often than the rest's is not
/// flagged: ranking by need lists the groups with more need more often.
pub fn disparities(rows: &[GroupRow], max_gap: f64, min_support: usize) -> Vec<String> {
    let mut out = Vec::new();
    for pair in rows.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.attribute != b.attribute || a.attribute == "district" || a.attribute == "all" || b.group != "それ以外"
        {
            continue;
        }
        for (what, x, y) in [
            ("false-negative rate (needs missed)", &a.false_negative_rate, &b.false_negative_rate),
            ("false-positive rate (listed without need)", &a.false_positive_rate, &b.false_positive_rate),
        ] {
            let (Some(vx), Some(vy)) = (x.value, y.value) else { continue };
            if x.n < min_support || y.n < min_support {
                continue;
            }
            let se = (vx * (1.0 - vx) / x.n as f64 + vy * (1.0 - vy) / y.n as f64).sqrt();
            if vx - vy > max_gap && vx - vy - 1.645 * se > 0.0 {
                out.push(format!(
                    "{} ({}): {what} {:.1}% vs {:.1}% for the rest (bound {:.0} points)",
                    a.group,
                    a.attribute,
                    vx * 100.0,
                    vy * 100.0,
                    max_gap * 100.0
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_missed_far_more_often_is_a_disparity() {
        let mut hs = Vec::new();
        // group members 0..200: 100 positives, only 10 selected; others: 100 positives, 60 selected
        for i in 0..400u64 {
            let member = i < 200;
            let positive = i % 2 == 0;
            let selected = positive && if member { i % 40 == 0 } else { i % 10 < 6 };
            hs.push(Audited { household_id: i, district: Some("a"), selected, label: Some(positive) });
        }
        let groups = BTreeMap::from([("g".to_string(), ("G世帯".to_string(), (0..200).collect::<HashSet<u64>>()))]);
        let t = table(&hs, &groups);
        assert_eq!(t[1].group, "G世帯");
        assert_eq!(t[1].false_negative_rate.n, 100);
        let d = disparities(&t, 0.10, 30);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("false-negative"));
        // too few labelled households: no claim either way
        assert!(disparities(&t, 0.10, 500).is_empty());
        // the other way round (the group found more often than the rest) is not a disadvantage
        let swapped: Vec<Audited> =
            hs.iter().map(|h| Audited { household_id: (h.household_id + 200) % 400, ..*h }).collect();
        let t = table(&swapped, &groups);
        assert!(t[1].false_negative_rate.value.unwrap() < t[2].false_negative_rate.value.unwrap());
        assert!(disparities(&t, 0.10, 30).is_empty());
    }
}
