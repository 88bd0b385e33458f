//! Persons and households from scored pairs.
//!
//! Persons: pairs at or above the threshold are merged best first (union–find), and a merge is
//! refused when the merged person would hold two records that must differ: two records of a
//! department whose records are distinct persons, or two different resident numbers.
//!
//! Households: persons sharing a household token of one department (世帯番号) are one household;
//! a person without one joins the household living at their address when exactly one does, and
//! persons left over at one address form a household together.

use std::collections::HashMap;

use serde::Serialize;

use super::records::Records;

struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind { parent: (0..n as u32).collect(), size: vec![1; n] }
    }
    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }
    /// Joins the sets; returns the new root.
    fn union(&mut self, a: u32, b: u32) -> u32 {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return a;
        }
        if self.size[a as usize] < self.size[b as usize] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b as usize] = a;
        self.size[a as usize] += self.size[b as usize];
        a
    }
}

/// What makes two records necessarily different persons.
pub struct Constraints<'a> {
    /// Bit per department whose records are distinct persons.
    pub distinct_departments: u64,
    pub resident_id: Option<&'a [u64]>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ClusterStats {
    pub persons: u64,
    pub records: u64,
    /// (size, number of persons of that size)
    pub size_histogram: Vec<(u32, u64)>,
    pub largest: u32,
    /// Merges above the threshold refused because they would join records that must differ.
    pub refused_merges: u64,
    /// Accepted links whose removal would split their person (single points of failure).
    pub bridges: u64,
    /// Records whose strongest accepted link has probability below 0.9.
    pub low_confidence_records: u64,
}

/// Person id per rid (1-based, numbered by each person's first record) and statistics.
pub fn persons(
    records: &Records,
    pairs: &[u64],
    probabilities: &[f64],
    threshold: f64,
    constraints: &Constraints,
) -> (Vec<u64>, ClusterStats) {
    let n = records.len();
    let mut uf = UnionFind::new(n);
    // per root: departments holding a distinct-persons record, and its resident number
    let mut depts: Vec<u64> = (0..n)
        .map(|i| {
            let d = records.department_of[i];
            if d < 64 && constraints.distinct_departments & (1 << d) != 0 { 1 << d } else { 0 }
        })
        .collect();
    let mut rid_of: Vec<u64> = match constraints.resident_id {
        Some(c) => c.to_vec(),
        None => vec![0; n],
    };
    let mut order: Vec<usize> = (0..pairs.len()).filter(|&i| probabilities[i] >= threshold).collect();
    order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]).then(pairs[a].cmp(&pairs[b])));
    let mut stats = ClusterStats::default();
    let mut accepted: Vec<usize> = Vec::new();
    for i in order {
        let (a, b) = ((pairs[i] >> 32) as u32, pairs[i] as u32);
        let (ra, rb) = (uf.find(a), uf.find(b));
        if ra == rb {
            accepted.push(i);
            continue;
        }
        let (da, db) = (depts[ra as usize], depts[rb as usize]);
        let (xa, xb) = (rid_of[ra as usize], rid_of[rb as usize]);
        if da & db != 0 || (xa != 0 && xb != 0 && xa != xb) {
            stats.refused_merges += 1;
            continue;
        }
        let r = uf.union(ra, rb);
        depts[r as usize] = da | db;
        rid_of[r as usize] = if xa != 0 { xa } else { xb };
        accepted.push(i);
    }
    // ids in order of each person's first record
    let mut id_of_root: HashMap<u32, u64> = HashMap::new();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n as u32 {
        let r = uf.find(i);
        let next = id_of_root.len() as u64 + 1;
        ids.push(*id_of_root.entry(r).or_insert(next));
    }
    let mut sizes: HashMap<u64, u32> = HashMap::new();
    for id in &ids {
        *sizes.entry(*id).or_insert(0) += 1;
    }
    let mut hist: HashMap<u32, u64> = HashMap::new();
    for s in sizes.values() {
        *hist.entry(*s).or_insert(0) += 1;
    }
    let mut hist: Vec<(u32, u64)> = hist.into_iter().collect();
    hist.sort_unstable();
    stats.persons = id_of_root.len() as u64;
    stats.records = n as u64;
    stats.largest = hist.last().map_or(0, |h| h.0);
    stats.size_histogram = hist;

    // strongest accepted link per record, and bridges of the accepted-link graph
    let mut best = vec![0.0f64; n];
    let mut adjacency: HashMap<u32, Vec<(u32, usize)>> = HashMap::new();
    for &i in &accepted {
        let (a, b) = ((pairs[i] >> 32) as u32, pairs[i] as u32);
        best[a as usize] = best[a as usize].max(probabilities[i]);
        best[b as usize] = best[b as usize].max(probabilities[i]);
        adjacency.entry(a).or_default().push((b, i));
        adjacency.entry(b).or_default().push((a, i));
    }
    stats.low_confidence_records = (0..n).filter(|&i| sizes[&ids[i]] > 1 && best[i] < 0.9).count() as u64;
    stats.bridges = count_bridges(&adjacency);
    (ids, stats)
}

/// Bridges of an undirected graph (iterative Tarjan, so deep clusters cannot overflow the stack).
fn count_bridges(adjacency: &HashMap<u32, Vec<(u32, usize)>>) -> u64 {
    let mut disc: HashMap<u32, u32> = HashMap::new();
    let mut low: HashMap<u32, u32> = HashMap::new();
    let mut time = 0u32;
    let mut bridges = 0u64;
    let mut roots: Vec<u32> = adjacency.keys().copied().collect();
    roots.sort_unstable();
    for root in roots {
        if disc.contains_key(&root) {
            continue;
        }
        // (vertex, edge id used to enter it, next neighbour index)
        let mut stack: Vec<(u32, usize, usize)> = vec![(root, usize::MAX, 0)];
        disc.insert(root, time);
        low.insert(root, time);
        time += 1;
        while let Some(&mut (v, via, ref mut next)) = stack.last_mut() {
            let neighbours = &adjacency[&v];
            if *next < neighbours.len() {
                let (w, e) = neighbours[*next];
                *next += 1;
                if e == via {
                    continue;
                }
                if let Some(&dw) = disc.get(&w) {
                    let lv = low[&v].min(dw);
                    low.insert(v, lv);
                } else {
                    disc.insert(w, time);
                    low.insert(w, time);
                    time += 1;
                    stack.push((w, e, 0));
                }
            } else {
                stack.pop();
                if let Some(&(parent, _, _)) = stack.last() {
                    let lw = low[&v];
                    let lp = low[&parent].min(lw);
                    low.insert(parent, lp);
                    if lw > disc[&parent] {
                        bridges += 1;
                    }
                }
            }
        }
    }
    bridges
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct HouseholdStats {
    pub households: u64,
    pub from_household_number: u64,
    pub from_address: u64,
    pub alone: u64,
}

/// Household id per person (index person_id − 1), and how each was formed.
pub fn households(records: &Records, person_of: &[u64], persons: u64) -> (Vec<u64>, Vec<&'static str>, HouseholdStats) {
    let np = persons as usize;
    let mut uf = UnionFind::new(np);
    let mut has_household = vec![false; np];
    if let Some(hh) = records.token("tok_household_id") {
        // household numbers are compared within one department only
        let mut first: HashMap<(u16, u64), u32> = HashMap::new();
        for (rid, &t) in hh.iter().enumerate() {
            if t == 0 {
                continue;
            }
            let p = (person_of[rid] - 1) as u32;
            has_household[p as usize] = true;
            let key = (records.department_of[rid], t);
            match first.get(&key) {
                Some(&q) => {
                    uf.union(p, q);
                }
                None => {
                    first.insert(key, p);
                }
            }
        }
    }
    let mut basis: Vec<&'static str> =
        (0..np).map(|p| if has_household[p] { "household_number" } else { "alone" }).collect();
    if let Some(addr) = records.token("tok_address").or(records.token("tok_street")) {
        // the households (by root) seen at each address
        let mut at: HashMap<u64, Vec<u32>> = HashMap::new();
        for (rid, &t) in addr.iter().enumerate() {
            if t == 0 {
                continue;
            }
            let p = (person_of[rid] - 1) as u32;
            at.entry(t).or_default().push(p);
        }
        let mut addresses: Vec<u64> = at.keys().copied().collect();
        addresses.sort_unstable();
        for a in addresses {
            let mut people = at[&a].clone();
            people.sort_unstable();
            people.dedup();
            let mut known: Vec<u32> =
                people.iter().filter(|p| has_household[**p as usize]).map(|p| uf.find(*p)).collect();
            known.sort_unstable();
            known.dedup();
            let loose: Vec<u32> = people
                .iter()
                .copied()
                .filter(|p| !has_household[*p as usize] && basis[*p as usize] == "alone")
                .collect();
            if loose.is_empty() {
                continue;
            }
            let anchor = match known.as_slice() {
                [one] => Some(*one),
                [] if loose.len() > 1 => Some(loose[0]),
                _ => None,
            };
            if let Some(anchor) = anchor {
                for p in loose {
                    uf.union(anchor, p);
                    basis[p as usize] = "address";
                }
            }
        }
    }
    let mut id_of_root: HashMap<u32, u64> = HashMap::new();
    let mut ids = Vec::with_capacity(np);
    for p in 0..np as u32 {
        let r = uf.find(p);
        let next = id_of_root.len() as u64 + 1;
        ids.push(*id_of_root.entry(r).or_insert(next));
    }
    let stats = HouseholdStats {
        households: id_of_root.len() as u64,
        from_household_number: basis.iter().filter(|b| **b == "household_number").count() as u64,
        from_address: basis.iter().filter(|b| **b == "address").count() as u64,
        alone: basis.iter().filter(|b| **b == "alone").count() as u64,
    };
    (ids, basis, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridges_of_a_path_and_a_triangle() {
        let mut g: HashMap<u32, Vec<(u32, usize)>> = HashMap::new();
        let edge = |g: &mut HashMap<u32, Vec<(u32, usize)>>, a: u32, b: u32, e: usize| {
            g.entry(a).or_default().push((b, e));
            g.entry(b).or_default().push((a, e));
        };
        // path 0-1-2 (two bridges) and triangle 3-4-5 (none)
        edge(&mut g, 0, 1, 0);
        edge(&mut g, 1, 2, 1);
        edge(&mut g, 3, 4, 2);
        edge(&mut g, 4, 5, 3);
        edge(&mut g, 5, 3, 4);
        assert_eq!(count_bridges(&g), 2);
    }
}
