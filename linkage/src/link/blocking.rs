//! Blocking as DataFusion joins. Each rule's key (its token columns combined; unknown when any
//! is unknown) is a column of one in-memory table `blocking_keys(rid, k0, k1, …)`. Before any
//! pair is produced, every rule's candidate-pair count is computed from its key-group sizes
//! (`Σ n(n−1)/2`), so a rule that would explode is refused up front. Pairs are then produced by
//! a self-join per rule; a pair that an earlier rule already produced is dropped (its keys agree
//! under that rule), so the union holds each pair once and remembers the first rule.

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
}

impl Candidates {
    /// Whether rule `j` (an index into `keys`) puts the pair's records in one block.
    pub fn agree(&self, j: usize, pair: u64) -> bool {
        let k = &self.keys[j].1;
        let (a, b) = ((pair >> 32) as usize, (pair as u32) as usize);
        k[a] != 0 && k[a] == k[b]
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
    for rule in rules {
        let missing: Vec<&String> = rule.iter().filter(|c| records.token(c).is_none()).collect();
        let mut report = RuleReport {
            columns: rule.clone(),
            records_with_key: 0,
            pairs: 0,
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
                for k in &keys {
                    cols.push(Arc::new(UInt64Array::from_iter(k[start..end].iter().map(|x| (*x != 0).then_some(*x)))));
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
                let sql = format!(
                    "SELECT k{j} AS k, d, count(*) AS n FROM blocking_keys WHERE k{j} IS NOT NULL GROUP BY k{j}, d"
                );
                let batches = ctx.sql(&sql).await.map_err(df_err)?.collect().await.map_err(df_err)?;
                let mut groups: std::collections::HashMap<u64, (u64, u64)> = std::collections::HashMap::new();
                for b in &batches {
                    let (Some(k), Some(d), Some(n)) = (
                        b.column(0).as_any().downcast_ref::<UInt64Array>(),
                        b.column(1).as_any().downcast_ref::<datafusion::arrow::array::UInt16Array>(),
                        b.column(2).as_any().downcast_ref::<datafusion::arrow::array::Int64Array>(),
                    ) else {
                        return Err(df_err("unexpected types from the group count"));
                    };
                    for i in 0..b.num_rows() {
                        let c = n.value(i) as u64;
                        let g = groups.entry(k.value(i)).or_insert((0, 0));
                        g.0 += c;
                        if d.is_valid(i) {
                            g.1 += c * c.saturating_sub(1) / 2;
                        }
                    }
                }
                let mut sizes: Vec<u64> = groups.values().map(|g| g.0).filter(|n| *n > 1).collect();
                sizes.sort_unstable_by(|a, b| b.cmp(a));
                let pairs: u64 = groups.values().map(|(n, within)| n * n.saturating_sub(1) / 2 - within).sum();
                let report = &mut reports[ri];
                report.pairs = pairs;
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
            for (j, &ri) in active.iter().enumerate() {
                if reports[ri].skipped.is_some() || reports[ri].pairs == 0 {
                    continue;
                }
                let sql = format!(
                    "SELECT l.rid AS a, r.rid AS b FROM blocking_keys l JOIN blocking_keys r ON l.k{j} = r.k{j} \
                 WHERE l.rid < r.rid AND (l.d IS NULL OR r.d IS NULL OR l.d <> r.d)"
                );
                let mut stream = ctx.sql(&sql).await.map_err(df_err)?.execute_stream().await.map_err(df_err)?;
                let mut mine: Vec<u64> = Vec::new();
                while let Some(batch) = stream.next().await {
                    let batch = batch.map_err(df_err)?;
                    let (Some(a), Some(b)) = (
                        batch.column(0).as_any().downcast_ref::<UInt32Array>(),
                        batch.column(1).as_any().downcast_ref::<UInt32Array>(),
                    ) else {
                        return Err(df_err("join output is not (UInt32, UInt32)"));
                    };
                    for (&x, &y) in a.values().iter().zip(b.values().iter()) {
                        let earlier = keys[..j].iter().any(|k| k[x as usize] != 0 && k[x as usize] == k[y as usize]);
                        if !earlier {
                            mine.push(((x as u64) << 32) | y as u64);
                        }
                    }
                }
                // a fixed order whatever the join's partitioning did: by rule, then by pair
                mine.sort_unstable();
                reports[ri].new_pairs = mine.len() as u64;
                rule_of.extend(std::iter::repeat_n(ri as u8, mine.len()));
                pairs.extend_from_slice(&mine);
            }
            Ok::<_, LinkError>((pairs, rule_of))
        })
        .map(move |(pairs, rule_of)| Candidates {
            pairs,
            rule: rule_of,
            reports,
            keys: active.into_iter().zip(keys).collect(),
        })
}
