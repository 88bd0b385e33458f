//! Blocking as DataFusion joins. Each rule's key (its token columns combined; unknown when any
//! is unknown) is a column of one in-memory table `blocking_keys(rid, k0, k1, …)`. Before any
//! pair is produced, every rule's candidate-pair count is computed from its key-group sizes
//! (`Σ n(n−1)/2`), so a rule that would explode is refused up front. Pairs are then produced by
//! a self-join per rule; a pair that an earlier rule already produced is dropped (its keys agree
//! under that rule), so the union holds each pair once and remembers the first rule.
//!
//! A rule with the birth year among its columns also pairs records whose years are a year apart
//! when one of them is an estimate (an age on a census day): the estimate's neighbouring years
//! (`tok_birth_year_lo` / `_hi`) stand in for its year, in two more joins. Ages are misreported
//! by a year often enough that the exact year alone would lose those pairs to every rule that
//! names it.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, UInt32Array, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;
use serde::Serialize;

use super::LinkError;
use super::records::Records;

/// One rule as resolved against the extracts.
#[derive(Clone, Debug, Serialize)]
pub struct RuleReport {
    pub columns: Vec<String>,
    /// Records with a known key under the rule.
    pub records_with_key: u64,
    /// Candidate pairs the rule's join yields (before removing pairs of earlier rules; pairs
    /// within a department whose records are distinct persons are never candidates).
    pub pairs: u64,
    /// Of `pairs`, those whose birth years are a year apart, one of them an estimate (rules
    /// naming `tok_birth_year`, on extracts holding estimates).
    #[serde(skip_serializing_if = "is_zero")]
    pub pairs_a_year_apart: u64,
    /// Pairs this rule added that no earlier rule had.
    pub new_pairs: u64,
    /// Sizes of the largest key groups (never the key values).
    pub largest_groups: Vec<u64>,
    /// Why the rule was skipped, if it was.
    pub skipped: Option<String>,
    /// For the residual blocking by LSH: its fields, residual records and bits per band.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lsh: Option<super::lsh::LshReport>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn mix(h: u64, t: u64) -> u64 {
    // splitmix64 finaliser over the running hash: order-sensitive, well spread
    let mut z = h ^ t.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Per-rid keys of a rule; 0 when any column is unknown.
fn rule_keys(records: &Records, columns: &[&[u64]]) -> Vec<u64> {
    (0..records.len())
        .map(|i| {
            let mut h = 0x6D69_6D61_6D6F_7269u64;
            for c in columns {
                let t = c[i];
                if t == 0 {
                    return 0;
                }
                h = mix(h, t);
            }
            h.max(1)
        })
        .collect()
}

/// A rule's keys with an estimated birth year's neighbours in place of the year. A pair meets
/// when `lo` of one is the key of the other, or `hi` of one the key of the other whose year is
/// no estimate (`whole`): each pair a year apart is found once, whichever side is an estimate.
struct Near {
    lo: Vec<u64>,
    hi: Vec<u64>,
    whole: Vec<u64>,
}

impl Near {
    fn of(records: &Records, rule: &[String], key: &[u64]) -> Option<Near> {
        let year = rule.iter().position(|c| c == "tok_birth_year")?;
        let with = |neighbour: &str| {
            let cols: Vec<&[u64]> = rule
                .iter()
                .enumerate()
                .map(|(i, c)| records.token(if i == year { neighbour } else { c }))
                .collect::<Option<_>>()?;
            Some(rule_keys(records, &cols))
        };
        let (lo, hi) = (with("tok_birth_year_lo")?, with("tok_birth_year_hi")?);
        let estimated = records.token("tok_birth_year_lo")?;
        if lo.iter().all(|k| *k == 0) {
            return None;
        }
        let whole = key.iter().zip(estimated).map(|(k, e)| if *e == 0 { *k } else { 0 }).collect();
        Some(Near { lo, hi, whole })
    }

    /// Whether records `a` and `b` meet through a neighbouring year (`key`: the rule's keys).
    fn meet(&self, key: &[u64], a: usize, b: usize) -> bool {
        let hit = |x: usize, y: usize| {
            (self.lo[x] != 0 && self.lo[x] == key[y]) || (self.hi[x] != 0 && self.hi[x] == self.whole[y])
        };
        hit(a, b) || hit(b, a)
    }
}

/// Per key: records per department (`None` for departments whose records may repeat a person).
type Groups = std::collections::HashMap<u64, Vec<(Option<u16>, u64)>>;

async fn groups(ctx: &SessionContext, column: &str) -> Result<Groups, LinkError> {
    let sql = format!(
        "SELECT {column} AS k, d, count(*) AS n FROM blocking_keys WHERE {column} IS NOT NULL GROUP BY {column}, d"
    );
    let batches = ctx.sql(&sql).await.map_err(df_err)?.collect().await.map_err(df_err)?;
    let mut groups = Groups::new();
    for b in &batches {
        let (Some(k), Some(d), Some(n)) = (
            b.column(0).as_any().downcast_ref::<UInt64Array>(),
            b.column(1).as_any().downcast_ref::<datafusion::arrow::array::UInt16Array>(),
            b.column(2).as_any().downcast_ref::<datafusion::arrow::array::Int64Array>(),
        ) else {
            return Err(df_err("unexpected types from the group count"));
        };
        for i in 0..b.num_rows() {
            groups.entry(k.value(i)).or_default().push((d.is_valid(i).then(|| d.value(i)), n.value(i) as u64));
        }
    }
    Ok(groups)
}

/// Pairs of records, one from each side's group of the same key, never two records of one
/// distinct-persons department.
fn pairs_between(left: &Groups, right: &Groups) -> u64 {
    let mut pairs = 0;
    for (k, l) in left {
        let Some(r) = right.get(k) else { continue };
        let total = |g: &[(Option<u16>, u64)]| g.iter().map(|x| x.1).sum::<u64>();
        pairs += total(l) * total(r);
        for (d, n) in l.iter().filter(|x| x.0.is_some()) {
            pairs -= n * r.iter().filter(|x| x.0 == *d).map(|x| x.1).sum::<u64>();
        }
    }
    pairs
}

fn df_err(e: impl std::fmt::Display) -> LinkError {
    LinkError::Engine(e.to_string())
}

/// The candidate pairs of all rules, each as `(a << 32) | b` with a < b, ordered by the rule
/// that found it first and then by pair.
pub struct Candidates {
    pub pairs: Vec<u64>,
    pub rule: Vec<u8>,
    pub reports: Vec<RuleReport>,
    /// Per applied rule: its index in `reports` and its key per rid (0 = unknown).
    pub keys: Vec<(usize, Vec<u64>)>,
    /// Per applied rule: its keys with estimated years' neighbours, if it names the birth year.
    near: Vec<Option<Near>>,
}

impl Candidates {
    /// Whether rule `j` (an index into `keys`) puts the pair's records in one block: its keys
    /// agree, or are a birth year apart with one year an estimate. The pair is then in the
    /// rule's EM session, whose fields are those the rule does not name.
    pub fn agree(&self, j: usize, pair: u64) -> bool {
        let k = &self.keys[j].1;
        let (a, b) = ((pair >> 32) as usize, (pair as u32) as usize);
        (k[a] != 0 && k[a] == k[b]) || self.near[j].as_ref().is_some_and(|n| n.meet(k, a, b))
    }
}

/// How blocking treats the rules it is given.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A rule with more candidate pairs explodes.
    pub max_pairs_per_rule: u64,
    /// Leave an exploding rule out and report it, unless every rule explodes (the default
    /// rules, which no one chose for this data), rather than refuse the run.
    pub leave_out_exploding: bool,
    /// Memory of the joins (DataFusion's pool), MiB.
    pub memory_limit_mib: u64,
    /// Bit per department holding one record per person: pairs within such a department are
    /// never produced (the join itself leaves them out).
    pub distinct_departments: u64,
}

/// Resolves the rules, counts their pairs, refuses (or leaves out, see [`Limits`]) an
/// exploding one, then runs the joins.
pub fn block(
    records: &Records,
    rules: &[Vec<String>],
    limits: Limits,
    notify: &mut dyn FnMut(&RuleReport),
) -> Result<Candidates, LinkError> {
    let Limits { max_pairs_per_rule, leave_out_exploding, memory_limit_mib, distinct_departments } = limits;
    let mut reports = Vec::new();
    let mut keys: Vec<Vec<u64>> = Vec::new();
    let mut near: Vec<Option<Near>> = Vec::new();
    for rule in rules {
        let missing: Vec<&String> = rule.iter().filter(|c| records.token(c).is_none()).collect();
        let mut report = RuleReport {
            columns: rule.clone(),
            records_with_key: 0,
            pairs: 0,
            pairs_a_year_apart: 0,
            new_pairs: 0,
            largest_groups: Vec::new(),
            skipped: None,
            lsh: None,
        };
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            report.skipped = Some(format!("no extract has {}", names.join(", ")));
            reports.push(report);
            continue;
        }
        let cols: Vec<&[u64]> = rule.iter().filter_map(|c| records.token(c)).collect();
        let k = rule_keys(records, &cols);
        report.records_with_key = k.iter().filter(|x| **x != 0).count() as u64;
        near.push(Near::of(records, rule, &k));
        keys.push(k);
        reports.push(report);
    }
    let active: Vec<usize> = (0..reports.len()).filter(|i| reports[*i].skipped.is_none()).collect();
    if active.is_empty() {
        return Err(LinkError::NoRules { rules: rules.iter().map(|r| r.join("+")).collect() });
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
        .thread_stack_size(8 << 20)
        .build()
        .map_err(df_err)?;
    runtime
        .block_on(async {
            let partitions = std::thread::available_parallelism().map_or(2, |n| n.get());
            let mut config = SessionConfig::new().with_target_partitions(partitions).with_batch_size(65_536);
            config.options_mut().set("datafusion.execution.collect_statistics", "false").map_err(df_err)?;
            let rt = RuntimeEnvBuilder::new()
                .with_memory_pool(Arc::new(FairSpillPool::new((memory_limit_mib as usize) << 20)))
                .build_arc()
                .map_err(df_err)?;
            let ctx = SessionContext::new_with_config_rt(config, rt);

            // the key table, split in as many partitions as cores so scans and joins run in parallel
            // d: the department, for departments whose records are distinct persons (no pair within)
            let mut fields = vec![Field::new("rid", DataType::UInt32, false), Field::new("d", DataType::UInt16, true)];
            for j in 0..keys.len() {
                fields.push(Field::new(format!("k{j}"), DataType::UInt64, true));
            }
            for (j, _) in near.iter().enumerate().filter(|(_, n)| n.is_some()) {
                for c in ["lo", "hi", "w"] {
                    fields.push(Field::new(format!("{c}{j}"), DataType::UInt64, true));
                }
            }
            let schema = Arc::new(Schema::new(fields));
            let n = records.len();
            let chunk = n.div_ceil(partitions).max(1);
            let mut parts = Vec::new();
            let mut start = 0;
            while start < n {
                let end = (start + chunk).min(n);
                let d = records.department_of[start..end]
                    .iter()
                    .map(|&d| (d < 64 && distinct_departments & (1 << d) != 0).then_some(d));
                let mut cols: Vec<ArrayRef> = vec![
                    Arc::new(UInt32Array::from_iter_values(start as u32..end as u32)),
                    Arc::new(datafusion::arrow::array::UInt16Array::from_iter(d)),
                ];
                let column = |k: &[u64]| -> ArrayRef {
                    Arc::new(UInt64Array::from_iter(k[start..end].iter().map(|x| (*x != 0).then_some(*x))))
                };
                cols.extend(keys.iter().map(|k| column(k)));
                for n in near.iter().flatten() {
                    cols.extend([column(&n.lo), column(&n.hi), column(&n.whole)]);
                }
                parts.push(vec![RecordBatch::try_new(schema.clone(), cols).map_err(df_err)?]);
                start = end;
            }
            let table = MemTable::try_new(schema, parts).map_err(df_err)?;
            ctx.register_table("blocking_keys", Arc::new(table)).map_err(df_err)?;

            // 1. pair counts per rule, from the key-group sizes (less the pairs within one
            //    distinct-persons department, which are never compared)
            let mut exploded: Option<LinkError> = None;
            for (j, &ri) in active.iter().enumerate() {
                let main = groups(&ctx, &format!("k{j}")).await?;
                let mut sizes: Vec<u64> =
                    main.values().map(|g| g.iter().map(|x| x.1).sum::<u64>()).filter(|n| *n > 1).collect();
                sizes.sort_unstable_by(|a, b| b.cmp(a));
                let within = |g: &[(Option<u16>, u64)]| {
                    let n: u64 = g.iter().map(|x| x.1).sum();
                    let same: u64 = g.iter().filter(|x| x.0.is_some()).map(|x| x.1 * x.1.saturating_sub(1) / 2).sum();
                    n * n.saturating_sub(1) / 2 - same
                };
                let mut pairs: u64 = main.values().map(|g| within(g)).sum();
                let mut apart = 0;
                if near[j].is_some() {
                    apart = pairs_between(&groups(&ctx, &format!("lo{j}")).await?, &main)
                        + pairs_between(&groups(&ctx, &format!("hi{j}")).await?, &groups(&ctx, &format!("w{j}")).await?);
                    pairs += apart;
                }
                let report = &mut reports[ri];
                report.pairs = pairs;
                report.pairs_a_year_apart = apart;
                report.largest_groups = sizes.iter().take(5).copied().collect();
                let explodes = pairs > max_pairs_per_rule;
                if explodes && leave_out_exploding {
                    report.skipped = Some(format!(
                        "would yield {pairs} candidate pairs, more than max_pairs_per_rule = {max_pairs_per_rule}: \
                         left out of the default rules (name rules in [linkage] blocking to choose)"
                    ));
                }
                notify(report);
                if explodes {
                    let error = LinkError::RuleExplodes {
                        rule: report.columns.join(" + "),
                        pairs,
                        limit: max_pairs_per_rule,
                        largest: report.largest_groups.clone(),
                    };
                    if !leave_out_exploding {
                        return Err(error);
                    }
                    exploded.get_or_insert(error);
                }
            }
            if active.iter().all(|&ri| reports[ri].skipped.is_some())
                && let Some(error) = exploded
            {
                return Err(error);
            }

            // 2. the joins; a pair an earlier rule has is skipped. A rule counted at no pair is
            //    not joined: its keys meet only within a distinct-persons department (a
            //    registry's postcodes), and the join would build those pairs to drop them all
            let mut pairs: Vec<u64> = Vec::new();
            let mut rule_of: Vec<u8> = Vec::new();
            let mut apart: std::collections::HashSet<u64> = std::collections::HashSet::new();
            // rules left out (too many pairs) or without a pair are not joined: their keys
            // neither drop a later rule's pairs nor make an EM session
            let joined: Vec<bool> =
                active.iter().map(|&ri| reports[ri].skipped.is_none() && reports[ri].pairs > 0).collect();
            for (j, &ri) in active.iter().enumerate() {
                if !joined[j] {
                    continue;
                }
                let other_department = "(l.d IS NULL OR r.d IS NULL OR l.d <> r.d)";
                let mut joins = vec![format!("l.k{j} = r.k{j} AND l.rid < r.rid")];
                if near[j].is_some() {
                    joins.extend([format!("l.lo{j} = r.k{j}"), format!("l.hi{j} = r.w{j}")]);
                }
                let mut mine: Vec<u64> = Vec::new();
                for (n, on) in joins.iter().enumerate() {
                    let sql = format!(
                        "SELECT l.rid AS a, r.rid AS b FROM blocking_keys l JOIN blocking_keys r ON {on} WHERE {other_department}"
                    );
                    let mut stream = ctx.sql(&sql).await.map_err(df_err)?.execute_stream().await.map_err(df_err)?;
                    while let Some(batch) = stream.next().await {
                        let batch = batch.map_err(df_err)?;
                        let (Some(a), Some(b)) = (
                            batch.column(0).as_any().downcast_ref::<UInt32Array>(),
                            batch.column(1).as_any().downcast_ref::<UInt32Array>(),
                        ) else {
                            return Err(df_err("join output is not (UInt32, UInt32)"));
                        };
                        for (&x, &y) in a.values().iter().zip(b.values().iter()) {
                            let (x, y) = (x.min(y), x.max(y));
                            let pair = ((x as u64) << 32) | y as u64;
                            let earlier = keys[..j]
                                .iter()
                                .zip(&joined)
                                .any(|(k, &on)| on && k[x as usize] != 0 && k[x as usize] == k[y as usize]);
                            // a pair a year apart is new to the exact joins of every later rule
                            // too, so it is remembered
                            let first = if n == 0 { !apart.contains(&pair) } else { apart.insert(pair) };
                            if !earlier && first {
                                mine.push(pair);
                            }
                        }
                    }
                }
                // a fixed order whatever the join's partitioning did: by rule, then by pair
                mine.sort_unstable();
                reports[ri].new_pairs = mine.len() as u64;
                rule_of.extend(std::iter::repeat_n(ri as u8, mine.len()));
                pairs.extend_from_slice(&mine);
            }
            Ok::<_, LinkError>((pairs, rule_of, joined))
        })
        .map(move |(pairs, rule_of, joined)| {
            for ((k, n), on) in keys.iter_mut().zip(near.iter_mut()).zip(joined) {
                if !on {
                    k.fill(0);
                    *n = None;
                }
            }
            Candidates { pairs, rule: rule_of, reports, keys: active.into_iter().zip(keys).collect(), near }
        })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::encode::TokenSalt;
    use crate::link::records::TokenColumn;

    /// Records of two departments with a surname and a birth year, a third of the years
    /// estimated from ages (their neighbours written as the estimate's `lo` / `hi` tokens).
    /// Tokens stand for values: a year's token is the year.
    fn census(n: usize) -> (Records, Vec<(u64, u64, bool)>) {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let people: Vec<(u64, u64, bool)> = (0..n).map(|_| (1 + next(4), 1850 + next(5), next(3) == 0)).collect();
        let column = |f: &dyn Fn(&(u64, u64, bool)) -> u64| people.iter().map(f).collect::<Vec<u64>>();
        let tokens: BTreeMap<String, TokenColumn> = [
            ("tok_family", column(&|p| p.0)),
            ("tok_birth_year", column(&|p| p.1)),
            ("tok_birth_year_lo", column(&|p| if p.2 { p.1 - 1 } else { 0 })),
            ("tok_birth_year_hi", column(&|p| if p.2 { p.1 + 1 } else { 0 })),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut records = Records::from_tokens(tokens, TokenSalt::None);
        // the first half is one department, the second another
        records.department_of = (0..n).map(|i| u16::from(i >= n / 2)).collect();
        (records, people)
    }

    fn limits(distinct_departments: u64) -> Limits {
        Limits {
            max_pairs_per_rule: 1_000_000,
            leave_out_exploding: false,
            memory_limit_mib: 256,
            distinct_departments,
        }
    }

    fn rule(columns: &[&str]) -> Vec<String> {
        columns.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn a_rule_on_the_birth_year_pairs_estimates_a_year_apart_once_and_counts_them_before_joining() {
        let (records, people) = census(120);
        for distinct in [0, 1] {
            let rules = [rule(&["tok_family", "tok_birth_year"]), rule(&["tok_family"])];
            let c = block(&records, &rules, limits(distinct), &mut |_| {}).unwrap();
            // every pair once
            let set: BTreeSet<u64> = c.pairs.iter().copied().collect();
            assert_eq!(set.len(), c.pairs.len(), "a pair is produced once");
            let (mut exact, mut apart) = (BTreeSet::new(), BTreeSet::new());
            for a in 0..people.len() {
                for b in a + 1..people.len() {
                    let (p, q) = (people[a], people[b]);
                    let same_department = records.department_of[a] == records.department_of[b];
                    if p.0 != q.0 || (distinct == 1 && same_department && records.department_of[a] == 0) {
                        continue;
                    }
                    let pair = ((a as u64) << 32) | b as u64;
                    if p.1 == q.1 {
                        exact.insert(pair);
                    } else if p.1.abs_diff(q.1) == 1 && (p.2 || q.2) {
                        apart.insert(pair);
                    }
                }
            }
            let first: BTreeSet<u64> = c.pairs.iter().zip(&c.rule).filter(|(_, r)| **r == 0).map(|(p, _)| *p).collect();
            let expected: BTreeSet<u64> = exact.union(&apart).copied().collect();
            assert_eq!(first, expected, "the year rule: the same year, or a year apart and one an estimate");
            assert!(!apart.is_empty());
            for p in &c.pairs {
                assert_eq!(c.agree(0, *p), expected.contains(p), "the year rule's EM session holds its pairs");
            }
            assert_eq!(c.reports[0].pairs, expected.len() as u64, "counted before the joins, exactly");
            assert_eq!(c.reports[0].pairs_a_year_apart, apart.len() as u64);
            // the surname rule adds the rest of its pairs, none of the first rule's again
            assert!(c.pairs.iter().zip(&c.rule).filter(|(_, r)| **r == 1).all(|(p, _)| !expected.contains(p)));
            assert_eq!(c.reports[1].new_pairs + c.reports[0].new_pairs, c.pairs.len() as u64);
        }
        // a rule left out for its size drops no pair of a later rule, and makes no EM session
        let wide = Limits { max_pairs_per_rule: 1_000, leave_out_exploding: true, ..limits(0) };
        let rules = [rule(&["tok_family"]), rule(&["tok_family", "tok_birth_year"])];
        let c = block(&records, &rules, wide, &mut |_| {}).unwrap();
        assert!(c.reports[0].skipped.is_some() && c.reports[0].pairs > 1_000, "{:?}", c.reports[0]);
        let alone = block(&records, &rules[1..], limits(0), &mut |_| {}).unwrap();
        assert_eq!(c.pairs, alone.pairs, "the year rule's pairs, all of them");
        assert!(c.pairs.iter().all(|p| !c.agree(0, *p) && c.agree(1, *p)));
        // without estimates a rule joins the same year only
        let (mut records, _) = census(60);
        for c in ["tok_birth_year_lo", "tok_birth_year_hi"] {
            records.tokens.get_mut(c).unwrap().fill(0);
        }
        let c = block(&records, &[rule(&["tok_family", "tok_birth_year"])], limits(0), &mut |_| {}).unwrap();
        let year = records.token("tok_birth_year").unwrap();
        assert!(c.pairs.iter().all(|p| year[(p >> 32) as usize] == year[(*p as u32) as usize]));
        assert_eq!(c.reports[0].pairs_a_year_apart, 0);
    }
}
