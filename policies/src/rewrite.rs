//! Rewrites the gateway applies to an allowed plan before it runs.
//!
//! - **Row filters**: a caseworker's scans of tables that carry a district are filtered to the
//!   caseworker's districts, wherever the table appears (subqueries and CTEs included).
//! - **Minimum group size**: every aggregate that is not grouped by a person key is protected.
//!   The gateway finds a person key in the aggregate's input (carrying it up through
//!   projections of subqueries where the query dropped it) and
//!   - for the aggregate whose cells are the output, adds `array_agg(DISTINCT key)` as a hidden
//!     last column, so that the engine can count each cell's persons, suppress cells under k
//!     and compare the persons of each cell with what was released before (differencing);
//!   - for any inner aggregate, adds `HAVING count(DISTINCT key) >= k`, so that no cell under k
//!     feeds the rest of the query.
//!
//!   An aggregate whose persons cannot be told (say, over a `UNION` of row-level tables) is
//!   refused with the reason.
//! - **Column masking**: an output column that is a base column shown row by row, which the
//!   policies let the user see only masked (`output_masked`), is replaced by NULL of its type
//!   under its own name (`SELECT *` over linkage pairs shows their diagnostics, not their
//!   record_refs). The masked plan is analysed and checked again as a whole.

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, ScalarValue};
use datafusion::functions_aggregate::array_agg::array_agg_udaf;
use datafusion::functions_aggregate::count::count_distinct;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{Aggregate, Distinct, Expr, Filter, JoinType, LogicalPlan, Projection, lit, when};

use crate::analyse::{self, Resolver};
use crate::catalog::{Catalog, KeyKind};

/// The hidden output column holding each cell's persons.
pub const PERSONS_COLUMN: &str = "__mimamori_persons";
const COUNT_COLUMN: &str = "__mimamori_n";

/// Errors of the rewrites: the message is the reason given to the user.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error("{0}")]
    Refused(String),
    #[error("the gateway could not rewrite the plan: {0}")]
    Plan(#[from] datafusion::error::DataFusionError),
}

/// Replaces output columns `masked` (indices into the plan's output) by NULL of their type, under
/// their own names.
pub fn mask(plan: LogicalPlan, masked: &[usize]) -> Result<LogicalPlan, RewriteError> {
    let schema = plan.schema().clone();
    let exprs: Vec<Expr> = (0..schema.fields().len())
        .map(|i| {
            let (qualifier, field) = schema.qualified_field(i);
            if masked.contains(&i) {
                let null = ScalarValue::try_from(field.data_type())?;
                Ok(lit(null).alias_qualified(qualifier.cloned(), field.name()))
            } else {
                Ok(Expr::Column(Column::from((qualifier, field))))
            }
        })
        .collect::<Result<_, datafusion::error::DataFusionError>>()?;
    Ok(LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(plan))?))
}

/// Filters every scan of a table with a district column to `districts`.
pub fn row_filter(
    plan: LogicalPlan,
    catalog: &Catalog,
    resolver: &Resolver,
    districts: &[String],
) -> Result<Transformed<LogicalPlan>, RewriteError> {
    Ok(plan.transform_up_with_subqueries(|node| {
        let LogicalPlan::TableScan(scan) = &node else { return Ok(Transformed::no(node)) };
        let Some(district) =
            resolver.name(&scan.table_name).and_then(|n| catalog.table(&n)).and_then(|t| t.district_column.clone())
        else {
            return Ok(Transformed::no(node));
        };
        let column = Expr::Column(Column::new(Some(scan.table_name.clone()), district));
        let allowed: Vec<Expr> = districts.iter().map(|d| lit(d.as_str())).collect();
        let predicate = if allowed.is_empty() { lit(false) } else { column.in_list(allowed, false) };
        Ok(Transformed::yes(LogicalPlan::Filter(Filter::try_new(predicate, Arc::new(node))?)))
    })?)
}

/// What `protect` did.
#[derive(Debug)]
pub struct Protected {
    pub plan: LogicalPlan,
    /// The kind of key in the hidden persons column, when the output is protected cells.
    pub persons: Option<KeyKind>,
    /// Inner aggregates given a HAVING count(DISTINCT key) >= k.
    pub inner_protected: usize,
}

/// Protects every aggregate of `plan` with minimum group size `k`.
pub fn protect(plan: LogicalPlan, catalog: &Catalog, resolver: &Resolver, k: u64) -> Result<Protected, RewriteError> {
    let mut p = Protector { catalog, resolver, k, persons: None, inner: 0, next_alias: 0 };
    let (plan, _) = p.rewrite(plan, true)?;
    Ok(Protected { plan, persons: p.persons, inner_protected: p.inner })
}

enum Key {
    /// The plan with a person key at this output index.
    Found(LogicalPlan, usize, KeyKind),
    /// Every row comes from protected cells (or from constants): nothing to count.
    Safe(LogicalPlan),
    Unknown,
}

struct Protector<'a> {
    catalog: &'a Catalog,
    resolver: &'a Resolver,
    k: u64,
    persons: Option<KeyKind>,
    inner: usize,
    next_alias: usize,
}

fn keeps_rows(plan: &LogicalPlan) -> bool {
    matches!(
        plan,
        LogicalPlan::Projection(_)
            | LogicalPlan::Filter(_)
            | LogicalPlan::Sort(_)
            | LogicalPlan::Limit(_)
            | LogicalPlan::SubqueryAlias(_)
            | LogicalPlan::Distinct(Distinct::All(_))
    )
}

fn column_of(plan: &LogicalPlan, i: usize) -> Expr {
    let (q, f) = plan.schema().qualified_field(i);
    Expr::Column(Column::new(q.cloned(), f.name()))
}

impl Protector<'_> {
    /// Rewrites `plan`; on the output path returns the index of the hidden persons column.
    fn rewrite(&mut self, plan: LogicalPlan, output_path: bool) -> Result<(LogicalPlan, Option<usize>), RewriteError> {
        if let LogicalPlan::Aggregate(a) = plan {
            return self.aggregate(a, output_path);
        }
        let on_path = output_path && keeps_rows(&plan);
        let inputs: Vec<LogicalPlan> = plan.inputs().into_iter().cloned().collect();
        let mut new_inputs = Vec::with_capacity(inputs.len());
        let mut hidden = None;
        for input in inputs {
            let (p, h) = self.rewrite(input, on_path)?;
            hidden = hidden.or(h);
            new_inputs.push(p);
        }
        let Some(h) = hidden else {
            return Ok((plan.with_new_exprs(plan.expressions(), new_inputs)?, None));
        };
        // carry the hidden column up through a row-keeping node
        match &plan {
            LogicalPlan::Projection(p) => {
                let input = new_inputs.remove(0);
                let mut exprs = p.expr.clone();
                exprs.push(column_of(&input, h));
                let n = exprs.len() - 1;
                Ok((LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(input))?), Some(n)))
            }
            _ => Ok((plan.with_new_exprs(plan.expressions(), new_inputs)?, Some(h))),
        }
    }

    fn aggregate(&mut self, a: Aggregate, output_path: bool) -> Result<(LogicalPlan, Option<usize>), RewriteError> {
        let (input, _) = self.rewrite(a.input.as_ref().clone(), false)?;
        let rebuilt = Aggregate::try_new(Arc::new(input.clone()), a.group_expr.clone(), a.aggr_expr.clone())?;
        if analyse::grouped_by_person(&rebuilt, self.catalog, self.resolver) {
            return Ok((LogicalPlan::Aggregate(rebuilt), None));
        }
        if opaque(&input, self.catalog, self.resolver) {
            return Err(RewriteError::Refused(UNKNOWN_PERSONS.into()));
        }
        if !every_scan_keyed(&input, self.catalog, self.resolver) {
            return Err(RewriteError::Refused(
                "every table of persons joined into an aggregate must keep its person_id up to the GROUP BY \
                 (a joined subquery without it would put its rows into cells uncounted)"
                    .into(),
            ));
        }
        match self.key(input)? {
            Key::Safe(input) => {
                Ok((LogicalPlan::Aggregate(Aggregate::try_new(Arc::new(input), a.group_expr, a.aggr_expr)?), None))
            }
            Key::Unknown => Err(RewriteError::Refused(UNKNOWN_PERSONS.into())),
            Key::Found(input, i, kind) => {
                let key = column_of(&input, i);
                let n_out = a.schema.fields().len();
                let mut aggr = a.aggr_expr.clone();
                // every other person key in scope (a second table of persons joined, even
                // without a join condition) must hold k distinct persons per cell too
                let mut extras: Vec<Expr> =
                    self.other_keys(&input, i).into_iter().map(|x| count_distinct(column_of(&input, x))).collect();
                // each branch of a CASE and each side of a FILTER inside an aggregate describes
                // a part of the cell: its persons must be none or at least k too
                for part in region_keys(&a.aggr_expr, &key)? {
                    extras.push(count_distinct(part));
                }
                let n_extras = extras.len();
                for (j, e) in extras.into_iter().enumerate() {
                    aggr.push(e.alias(format!("{COUNT_COLUMN}{j}")));
                }
                if !output_path {
                    aggr.push(count_distinct(key.clone()).alias(format!("{COUNT_COLUMN}{n_extras}")));
                }
                let n_counts = if output_path { n_extras } else { n_extras + 1 };
                if output_path {
                    aggr.push(
                        Expr::AggregateFunction(AggregateFunction::new_udf(
                            array_agg_udaf(),
                            vec![key],
                            true,
                            None,
                            vec![],
                            None,
                        ))
                        .alias(PERSONS_COLUMN),
                    );
                    self.persons = Some(kind);
                }
                let agg = LogicalPlan::Aggregate(Aggregate::try_new(Arc::new(input), a.group_expr, aggr)?);
                if n_counts == 0 {
                    let idx = agg.schema().fields().len() - 1;
                    return Ok((agg, Some(idx)));
                }
                let k = lit(ScalarValue::Int64(Some(self.k as i64)));
                let mut at_least_k: Option<Expr> = None;
                for c in 0..n_counts {
                    // a joined table may contribute no one to a cell (an outer join's NULL side):
                    // its persons must be none or at least k
                    let count = column_of(&agg, n_out + c);
                    let cond = if c < n_extras {
                        count.clone().eq(lit(ScalarValue::Int64(Some(0)))).or(count.gt_eq(k.clone()))
                    } else {
                        count.gt_eq(k.clone())
                    };
                    at_least_k = Some(match at_least_k {
                        Some(e) => e.and(cond),
                        None => cond,
                    });
                }
                let Some(at_least_k) = at_least_k else { return Ok((agg, None)) };
                let filtered = LogicalPlan::Filter(Filter::try_new(at_least_k, Arc::new(agg))?);
                let mut keep: Vec<Expr> = (0..n_out).map(|i| column_of(&filtered, i)).collect();
                if output_path {
                    keep.push(column_of(&filtered, n_out + n_counts));
                } else {
                    self.inner += 1;
                }
                let projected = LogicalPlan::Projection(Projection::try_new(keep, Arc::new(filtered))?);
                let hidden = output_path.then_some(n_out);
                Ok((projected, hidden))
            }
        }
    }

    /// Person keys in `plan`'s output besides field `primary`: every linked person id, and for
    /// tables without one in scope, their best key.
    fn other_keys(&self, plan: &LogicalPlan, primary: usize) -> Vec<usize> {
        let lineage = analyse::lineage(plan, self.catalog, self.resolver);
        let keyed: Vec<(usize, KeyKind, String)> = lineage
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let kind = analyse::key_kind(f, self.catalog)?;
                Some((i, kind, f.direct.as_ref()?.table.clone()))
            })
            .collect();
        let with_person: std::collections::BTreeSet<&str> =
            keyed.iter().filter(|(_, k, _)| *k == KeyKind::Person).map(|(_, _, t)| t.as_str()).collect();
        let mut best: std::collections::BTreeMap<&str, (KeyKind, usize)> = std::collections::BTreeMap::new();
        let mut out: Vec<usize> = Vec::new();
        for (i, kind, table) in &keyed {
            if *kind == KeyKind::Person {
                out.push(*i);
            } else if !with_person.contains(table.as_str()) {
                let slot = best.entry(table.as_str()).or_insert((*kind, *i));
                if (*kind, *i) < *slot {
                    *slot = (*kind, *i);
                }
            }
        }
        out.extend(best.values().map(|(_, i)| *i));
        // the primary key's own table instance is counted by the primary
        let primary_table = keyed.iter().find(|(i, _, _)| *i == primary).map(|(_, _, t)| t.clone());
        out.retain(|i| {
            *i != primary
                && !(keyed.iter().any(|(j, k, t)| j == i && *k != KeyKind::Person && Some(t) == primary_table.as_ref()))
        });
        out.sort_unstable();
        out
    }

    /// Finds (or carries up) a person key in `plan`'s output.
    fn key(&mut self, plan: LogicalPlan) -> Result<Key, RewriteError> {
        let lineage = analyse::lineage(&plan, self.catalog, self.resolver);
        let here = lineage
            .iter()
            .enumerate()
            .filter_map(|(i, f)| analyse::key_kind(f, self.catalog).map(|k| (i, k)))
            .min_by_key(|(i, k)| (*k, *i));
        if let Some((i, KeyKind::Person)) = here {
            return Ok(Key::Found(plan, i, KeyKind::Person));
        }
        // a linked person id dropped by a subquery is carried up rather than settling for a
        // household or record key: the release ledger compares cells of one kind of key only
        let below = self.key_below(plan.clone())?;
        Ok(match (below, here) {
            (Key::Found(p, i, KeyKind::Person), _) => Key::Found(p, i, KeyKind::Person),
            (_, Some((i, kind))) => Key::Found(plan, i, kind),
            (below, None) => below,
        })
    }

    /// Carries a person key up from `plan`'s inputs.
    fn key_below(&mut self, plan: LogicalPlan) -> Result<Key, RewriteError> {
        match plan {
            LogicalPlan::Projection(p) => match self.key(p.input.as_ref().clone())? {
                Key::Found(input, i, kind) => {
                    let mut exprs = p.expr.clone();
                    self.next_alias += 1;
                    exprs.push(column_of(&input, i).alias(format!("__mimamori_key{}", self.next_alias)));
                    let n = exprs.len() - 1;
                    Ok(Key::Found(LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(input))?), n, kind))
                }
                Key::Safe(input) => {
                    Ok(Key::Safe(LogicalPlan::Projection(Projection::try_new(p.expr, Arc::new(input))?)))
                }
                Key::Unknown => Ok(Key::Unknown),
            },
            LogicalPlan::Filter(_)
            | LogicalPlan::Sort(_)
            | LogicalPlan::Limit(_)
            | LogicalPlan::SubqueryAlias(_)
            | LogicalPlan::Window(_)
            | LogicalPlan::Repartition(_) => {
                let input = plan.inputs()[0].clone();
                match self.key(input)? {
                    Key::Found(input, i, kind) => {
                        Ok(Key::Found(plan.with_new_exprs(plan.expressions(), vec![input])?, i, kind))
                    }
                    Key::Safe(input) => Ok(Key::Safe(plan.with_new_exprs(plan.expressions(), vec![input])?)),
                    Key::Unknown => Ok(Key::Unknown),
                }
            }
            LogicalPlan::Join(j) => {
                let left_len = j.left.schema().fields().len();
                let left = self.key(j.left.as_ref().clone())?;
                let right = self.key(j.right.as_ref().clone())?;
                let exprs = LogicalPlan::Join(j.clone()).expressions();
                let keeps_left =
                    !matches!(j.join_type, JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark);
                let keeps_right = matches!(
                    j.join_type,
                    JoinType::Inner
                        | JoinType::Left
                        | JoinType::Right
                        | JoinType::Full
                        | JoinType::RightSemi
                        | JoinType::RightAnti
                        | JoinType::RightMark
                );
                let right_offset = if keeps_left { left_len } else { 0 };
                let unknown = matches!(left, Key::Unknown) || matches!(right, Key::Unknown);
                let (lp, lk) = split(left, j.left.as_ref());
                let (rp, rk) = split(right, j.right.as_ref());
                let pick = match (lk.filter(|_| keeps_left), rk.filter(|_| keeps_right)) {
                    (Some((i, a)), Some((k, b))) => Some(if b < a { (right_offset + k, b) } else { (i, a) }),
                    (Some((i, a)), None) => Some((i, a)),
                    (None, Some((k, b))) => Some((right_offset + k, b)),
                    (None, None) => None,
                };
                if unknown {
                    return Ok(Key::Unknown);
                }
                let rebuilt = LogicalPlan::Join(j).with_new_exprs(exprs, vec![lp, rp])?;
                Ok(match pick {
                    Some((i, kind)) => Key::Found(rebuilt, i, kind),
                    None => Key::Unknown,
                })
            }
            LogicalPlan::Aggregate(_) | LogicalPlan::EmptyRelation(_) | LogicalPlan::Values(_) => Ok(Key::Safe(plan)),
            LogicalPlan::Union(_) | LogicalPlan::Distinct(_) => {
                let inputs: Vec<LogicalPlan> = plan.inputs().into_iter().cloned().collect();
                let mut safe = Vec::with_capacity(inputs.len());
                for i in inputs {
                    match self.key(i)? {
                        Key::Safe(p) => safe.push(p),
                        _ => return Ok(Key::Unknown),
                    }
                }
                Ok(Key::Safe(plan.with_new_exprs(plan.expressions(), safe)?))
            }
            _ => Ok(Key::Unknown),
        }
    }
}

/// For each part of a cell that an aggregate's CASE branch or FILTER clause singles out, an
/// expression that is the person key on the part's rows and NULL elsewhere (counted distinct).
/// Written as CASE chains (first match wins, NULL conditions count as false), not with NOT and
/// IS TRUE, which DataFusion 55's common-subexpression elimination mis-types.
fn region_keys(aggr: &[Expr], key: &Expr) -> Result<Vec<Expr>, RewriteError> {
    let null = || lit(ScalarValue::Null);
    let mut out = Vec::new();
    for e in aggr {
        let Expr::AggregateFunction(f) = e.clone().unalias_nested().data else { continue };
        let filter = f.params.filter.as_deref().cloned();
        // inside the filter, then outside it
        let within = |inner: Expr| -> Result<Expr, RewriteError> {
            Ok(match &filter {
                Some(fl) => when(fl.clone(), inner).end()?,
                None => inner,
            })
        };
        if let Some(fl) = &filter {
            out.push(when(fl.clone(), key.clone()).end()?);
            out.push(when(fl.clone(), null()).otherwise(key.clone())?);
        }
        // the rows where an argument is not NULL are a part too (count(col), avg(col) of a
        // column set for a few persons only)
        for arg in &f.params.args {
            // (the key itself: its persons are the cell's, counted after the run)
            if !matches!(arg, Expr::Literal(..)) && arg != key {
                out.push(within(when(arg.clone().is_not_null(), key.clone()).end()?)?);
            }
        }
        let mut cases = Vec::new();
        for arg in &f.params.args {
            let _ = arg.apply(|x| {
                if let Expr::Case(c) = x {
                    cases.push(c.clone());
                }
                Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
            });
        }
        for c in cases {
            let conds: Vec<Expr> = c
                .when_then_expr
                .iter()
                .map(|(w, _)| match &c.expr {
                    Some(base) => base.as_ref().clone().eq(w.as_ref().clone()),
                    None => w.as_ref().clone(),
                })
                .collect();
            // branch i: earlier conditions give NULL, condition i gives the key
            for i in 0..conds.len() {
                let mut b: Option<datafusion::logical_expr::conditional_expressions::CaseBuilder> = None;
                for (j, cond) in conds.iter().enumerate().take(i + 1) {
                    let then = if j == i { key.clone() } else { null() };
                    b = Some(match b {
                        None => when(cond.clone(), then),
                        Some(mut b) => b.when(cond.clone(), then),
                    });
                }
                if let Some(b) = b {
                    out.push(within(b.end()?)?);
                }
            }
            // the rest: no condition held
            let mut b: Option<datafusion::logical_expr::conditional_expressions::CaseBuilder> = None;
            for cond in &conds {
                b = Some(match b {
                    None => when(cond.clone(), null()),
                    Some(mut b) => b.when(cond.clone(), null()),
                });
            }
            if let Some(mut b) = b {
                out.push(within(b.otherwise(key.clone())?)?);
            }
        }
    }
    Ok(out)
}

/// Whether each scan of a table of persons under `plan` (above protected aggregates) has a key
/// of its own in `plan`'s output: a linked person id per scan, or the table's best key.
fn every_scan_keyed(plan: &LogicalPlan, catalog: &Catalog, resolver: &Resolver) -> bool {
    use std::collections::BTreeMap;
    fn scans(plan: &LogicalPlan, catalog: &Catalog, resolver: &Resolver, out: &mut BTreeMap<String, usize>) {
        match plan {
            LogicalPlan::Aggregate(a) if !analyse::grouped_by_person(a, catalog, resolver) => {}
            LogicalPlan::TableScan(t) => {
                if let Some(meta) = resolver.name(&t.table_name).and_then(|n| catalog.table(&n))
                    && meta.holds_persons()
                {
                    *out.entry(meta.name.clone()).or_default() += 1;
                }
            }
            _ => {
                for i in plan.inputs() {
                    scans(i, catalog, resolver, out);
                }
            }
        }
    }
    let mut wanted = BTreeMap::new();
    scans(plan, catalog, resolver, &mut wanted);
    if wanted.values().sum::<usize>() <= 1 {
        // one table of persons: its key is carried up to the aggregate if a subquery dropped it
        return true;
    }
    let lineage = analyse::lineage(plan, catalog, resolver);
    let mut found: BTreeMap<String, (KeyKind, usize)> = BTreeMap::new();
    for f in &lineage {
        let (Some(kind), Some(c)) = (analyse::key_kind(f, catalog), f.direct.as_ref()) else { continue };
        let slot = found.entry(c.table.clone()).or_insert((kind, 0));
        if kind < slot.0 {
            *slot = (kind, 0);
        }
        if kind == slot.0 {
            slot.1 += 1;
        }
    }
    wanted.iter().all(|(table, n)| found.get(table).is_some_and(|(_, m)| m >= n))
}

const UNKNOWN_PERSONS: &str = "the gateway cannot tell how many persons each cell of an aggregate describes \
     (its rows come from a UNION or a DISTINCT over rows of persons, or from such a list joined in): \
     aggregate each table directly, joined on person_id";

/// Whether rows of persons reach `plan`'s output through a UNION or DISTINCT (not below a
/// protected aggregate): their multiplicity or their values escape the per-cell person counts.
fn opaque(plan: &LogicalPlan, catalog: &Catalog, resolver: &Resolver) -> bool {
    match plan {
        LogicalPlan::Aggregate(a) if !analyse::grouped_by_person(a, catalog, resolver) => false,
        LogicalPlan::Distinct(_) | LogicalPlan::Union(_) => !analyse::rows_protected(plan, catalog, resolver),
        _ => plan.inputs().iter().any(|i| opaque(i, catalog, resolver)),
    }
}

/// The plan of a side (rewritten if a key was carried) and the key found in it.
fn split(k: Key, original: &LogicalPlan) -> (LogicalPlan, Option<(usize, KeyKind)>) {
    match k {
        Key::Found(p, i, kind) => (p, Some((i, kind))),
        Key::Safe(p) => (p, None),
        Key::Unknown => (original.clone(), None),
    }
}
