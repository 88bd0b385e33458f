//! Plan analysis: walks a DataFusion `LogicalPlan` (as planned from SQL, before the optimiser)
//! and finds, for every base column the query touches, how it is used: shown row by row, shown
//! in an aggregate, grouped on, filtered on, joined on, counted or sorted on. Lineage follows
//! columns through projections, joins, CTEs and subqueries, window functions, `UNION` and
//! aggregates, so renaming or wrapping a column in a function never hides where it came from.
//!
//! An aggregate that is not grouped by a person key is *protected*: the gateway suppresses its
//! cells that describe fewer than k distinct persons (see `rewrite`), so what flows out of it is
//! exposed as an aggregate. An aggregate grouped by a person key yields one row per person and
//! is treated as row-level.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, TableReference};
use datafusion::logical_expr::utils::{grouping_set_to_exprlist, split_conjunction};
use datafusion::logical_expr::{Distinct, Expr, JoinType, LogicalPlan, Operator};
use serde::Serialize;

use crate::catalog::{Catalog, KeyKind, Sensitivity};

/// A column of a catalog table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct BaseColumn {
    /// `schema.table`
    pub table: String,
    pub column: String,
}

impl std::fmt::Display for BaseColumn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.table, self.column)
    }
}

/// How far a value is from a single row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    /// Summarised over a protected cell (at least k persons).
    Aggregated,
    /// As in one row, or summarised over one person.
    Row,
}

/// What a query does with a base column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Use {
    /// Its values reach the output row by row.
    OutputRow,
    /// Its values reach the output summarised over protected cells.
    OutputAggregate,
    /// A key of GROUP BY or PARTITION BY.
    Group,
    /// Compared with a value or an expression (WHERE, HAVING, ON beyond column = column).
    Filter,
    /// Compared for equality with another column only.
    Join,
    /// Tested for NULL only.
    Presence,
    /// Counted (count, count distinct): its values are not shown.
    Count,
    /// A sort key.
    Order,
}

impl Use {
    pub fn as_str(self) -> &'static str {
        match self {
            Use::OutputRow => "output_row",
            Use::OutputAggregate => "output_aggregate",
            Use::Group => "group",
            Use::Filter => "filter",
            Use::Join => "join",
            Use::Presence => "presence",
            Use::Count => "count",
            Use::Order => "order",
        }
    }
}

/// Where one field of a plan's output comes from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldLineage {
    /// Base columns whose values flow into the field, with the exposure of each.
    pub sources: BTreeMap<BaseColumn, Exposure>,
    /// Set when the field is the base column itself, unchanged (only renamed).
    pub direct: Option<BaseColumn>,
    /// Computed with a condition or a non-linear function (CASE, a comparison, a function
    /// other than a cast): aggregated, such a value can count a sub-population of a cell.
    pub conditioned: bool,
}

impl FieldLineage {
    fn merge(&mut self, other: &FieldLineage) {
        for (c, e) in &other.sources {
            let slot = self.sources.entry(c.clone()).or_insert(*e);
            *slot = (*slot).max(*e);
        }
        self.direct = None;
        self.conditioned |= other.conditioned;
    }

    fn with_exposure(mut self, exposure: Exposure) -> FieldLineage {
        for e in self.sources.values_mut() {
            *e = exposure;
        }
        self
    }
}

/// What the analysis found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Analysis {
    /// Every (base column, use) pair.
    pub uses: BTreeSet<(BaseColumn, Use)>,
    /// Catalog tables scanned (`schema.table`).
    pub tables: BTreeSet<String>,
    /// The output rows are cells of a protected aggregate.
    pub aggregated: bool,
    /// Every output row comes from protected aggregate cells or from tables whose rows are not
    /// persons (linkage pairs): no row stands for one person, so the number of rows tells
    /// nothing about fewer than k persons.
    pub rows_protected: bool,
    /// Constructs the gateway does not allow; any one denies the query.
    pub problems: Vec<String>,
    /// Aggregates not grouped by a person key (each is protected by the minimum group size).
    pub protected_aggregates: usize,
}

/// Maps a table reference as written in SQL to the catalog's `schema.table`.
#[derive(Clone, Debug)]
pub struct Resolver {
    pub catalog: String,
    pub schema: String,
}

impl Resolver {
    pub fn name(&self, table: &TableReference) -> Option<String> {
        let r = table.clone().resolve(&self.catalog, &self.schema);
        (*r.catalog == *self.catalog).then(|| format!("{}.{}", r.schema, r.table))
    }
}

/// Analyses a query plan.
pub fn analyse(plan: &LogicalPlan, catalog: &Catalog, resolver: &Resolver) -> Analysis {
    let mut w = Walker::new(catalog, resolver);
    let out = w.plan(plan);
    for f in &out {
        for (c, e) in &f.sources {
            let u = match e {
                Exposure::Row => Use::OutputRow,
                Exposure::Aggregated => Use::OutputAggregate,
            };
            w.analysis.uses.insert((c.clone(), u));
        }
    }
    w.analysis.aggregated = output_aggregate(plan, catalog, resolver).is_some();
    w.analysis.rows_protected = rows_protected(plan, catalog, resolver);
    let mut n = 0;
    let _ = plan.apply_with_subqueries(|p| {
        if let LogicalPlan::Aggregate(a) = p
            && !grouped_by_person(a, catalog, resolver)
        {
            n += 1;
        }
        Ok(TreeNodeRecursion::Continue)
    });
    w.analysis.protected_aggregates = n;
    w.analysis
}

/// Whether every path from `plan` down to a table of persons passes a protected aggregate.
pub fn rows_protected(plan: &LogicalPlan, catalog: &Catalog, resolver: &Resolver) -> bool {
    match plan {
        LogicalPlan::Aggregate(a) => {
            !grouped_by_person(a, catalog, resolver) || rows_protected(&a.input, catalog, resolver)
        }
        LogicalPlan::TableScan(t) => {
            resolver.name(&t.table_name).and_then(|n| catalog.table(&n)).is_some_and(|t| !t.holds_persons())
        }
        _ => {
            plan.inputs().iter().all(|i| rows_protected(i, catalog, resolver))
                && subqueries(plan).iter().all(|s| rows_protected(s, catalog, resolver))
        }
    }
}

/// Whether rows of a table of persons reach `plan`'s output (not only protected cells).
fn has_person_rows(plan: &LogicalPlan, catalog: &Catalog, resolver: &Resolver) -> bool {
    match plan {
        LogicalPlan::Aggregate(a) => {
            grouped_by_person(a, catalog, resolver) && has_person_rows(&a.input, catalog, resolver)
        }
        LogicalPlan::TableScan(t) => {
            resolver.name(&t.table_name).and_then(|n| catalog.table(&n)).is_some_and(|t| t.holds_persons())
        }
        _ => plan.inputs().iter().any(|i| has_person_rows(i, catalog, resolver)),
    }
}

/// The plans of the subqueries in a node's expressions (IN, EXISTS, scalar).
fn subqueries(plan: &LogicalPlan) -> Vec<LogicalPlan> {
    let mut out = Vec::new();
    for e in plan.expressions() {
        let _ = e.apply(|x| {
            match x {
                Expr::ScalarSubquery(s) => out.push(s.subquery.as_ref().clone()),
                Expr::InSubquery(s) => out.push(s.subquery.subquery.as_ref().clone()),
                Expr::Exists(s) => out.push(s.subquery.subquery.as_ref().clone()),
                Expr::SetComparison(s) => out.push(s.subquery.subquery.as_ref().clone()),
                _ => {}
            }
            Ok(TreeNodeRecursion::Continue)
        });
    }
    out
}

/// The lineage of each output field of `plan` (used by the rewrites to find person keys).
pub fn lineage(plan: &LogicalPlan, catalog: &Catalog, resolver: &Resolver) -> Vec<FieldLineage> {
    Walker::new(catalog, resolver).plan(plan)
}

/// The person key a field is, if it is one unchanged.
pub fn key_kind(field: &FieldLineage, catalog: &Catalog) -> Option<KeyKind> {
    let c = field.direct.as_ref()?;
    catalog.table(&c.table)?.key_kind(&c.column)
}

/// Whether an aggregate is grouped by a person key (one row per person: not protected).
pub fn grouped_by_person(agg: &datafusion::logical_expr::Aggregate, catalog: &Catalog, resolver: &Resolver) -> bool {
    let mut w = Walker::new(catalog, resolver);
    let input = w.plan(&agg.input);
    let Ok(groups) = grouping_set_to_exprlist(&agg.group_expr) else { return false };
    groups.iter().any(|g| key_kind(&w.expr(g, agg.input.schema(), &input), catalog).is_some())
}

/// The aggregate whose cells are the output rows: reached from the root through nodes that
/// keep rows as they are (projection, filter, sort, limit, alias, distinct), and not grouped by
/// a person key. (A window is not on that path: it computes across cells, so it must see the
/// cells after suppression; an aggregate under a window is protected inside the plan.)
pub fn output_aggregate<'p>(
    plan: &'p LogicalPlan,
    catalog: &Catalog,
    resolver: &Resolver,
) -> Option<&'p datafusion::logical_expr::Aggregate> {
    match plan {
        LogicalPlan::Aggregate(a) => (!grouped_by_person(a, catalog, resolver)).then_some(a),
        LogicalPlan::Projection(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Distinct(Distinct::All(_)) => {
            output_aggregate(plan.inputs().first().copied()?, catalog, resolver)
        }
        _ => None,
    }
}

const NOT_ON_PERSONS: &str = "IN (SELECT …) and EXISTS (…) must match on a person key (person_id IN (SELECT person_id …), \
     or correlated on person_id): matched on a district, a date or a household, the subquery answers \
     a question about its few rows for a whole cell";

const UNCORRELATED: &str = "a subquery condition that does not refer to the outer rows is a yes/no question \
     about the data (it can single out one person): join or use IN (SELECT …) instead";

/// Aggregate functions whose result reveals no value of their argument.
const COUNTING: &[&str] = &["count", "approx_distinct", "grouping"];
/// Aggregate functions that summarise values over the cell (mean, total, spread).
const SUMMARISING: &[&str] = &[
    "sum",
    "avg",
    "mean",
    "median",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "var",
    "var_pop",
    "var_samp",
    "var_population",
    "var_sample",
    "corr",
    "covar",
    "covar_pop",
    "covar_samp",
    "approx_median",
    "regr_slope",
    "regr_intercept",
    "regr_count",
    "regr_r2",
    "regr_avgx",
    "regr_avgy",
    "regr_sxx",
    "regr_syy",
    "regr_sxy",
];

struct Walker<'a> {
    catalog: &'a Catalog,
    resolver: &'a Resolver,
    analysis: Analysis,
    /// Schemas and lineage of enclosing queries, innermost last (for correlated subqueries).
    outer: Vec<(DFSchema, Vec<FieldLineage>)>,
}

impl<'a> Walker<'a> {
    fn new(catalog: &'a Catalog, resolver: &'a Resolver) -> Self {
        Walker { catalog, resolver, analysis: Analysis::default(), outer: Vec::new() }
    }

    fn problem(&mut self, p: impl Into<String>) {
        let p = p.into();
        if !self.analysis.problems.contains(&p) {
            self.analysis.problems.push(p);
        }
    }

    /// column = column is a join only between two base columns, unchanged, and a key or token
    /// only with a column of the same sensitivity (`person_id = v.x` over a list of constants,
    /// or `person_id = grade`, is a comparison with values).
    fn joinable(&self, l: &FieldLineage, r: &FieldLineage) -> bool {
        let (Some(a), Some(b)) = (&l.direct, &r.direct) else { return false };
        let sensitivity =
            |c: &BaseColumn| self.catalog.table(&c.table).and_then(|t| t.column(&c.column)).map(|m| m.sensitivity);
        let hidden = |s: Option<Sensitivity>| matches!(s, Some(Sensitivity::IdentifierToken | Sensitivity::Pseudonym));
        let (sa, sb) = (sensitivity(a), sensitivity(b));
        if hidden(sa) || hidden(sb) {
            return sa == sb;
        }
        true
    }

    fn record(&mut self, l: &FieldLineage, u: Use) {
        for c in l.sources.keys() {
            self.analysis.uses.insert((c.clone(), u));
        }
    }

    fn empty(n: usize) -> Vec<FieldLineage> {
        vec![FieldLineage::default(); n]
    }

    fn plan(&mut self, plan: &LogicalPlan) -> Vec<FieldLineage> {
        let n = plan.schema().fields().len();
        let out = match plan {
            LogicalPlan::TableScan(t) => {
                let Some(name) = self.resolver.name(&t.table_name) else {
                    self.problem(format!("table {} is not in the workspace catalog", t.table_name));
                    return Self::empty(n);
                };
                if self.catalog.table(&name).is_none() {
                    self.problem(format!("table {name} is not in the workspace catalog"));
                }
                self.analysis.tables.insert(name.clone());
                let out: Vec<FieldLineage> = t
                    .projected_schema
                    .fields()
                    .iter()
                    .map(|f| {
                        let c = BaseColumn { table: name.clone(), column: f.name().clone() };
                        FieldLineage {
                            sources: BTreeMap::from([(c.clone(), Exposure::Row)]),
                            direct: Some(c),
                            conditioned: false,
                        }
                    })
                    .collect();
                for f in &t.filters {
                    self.predicate(f, &t.projected_schema, &out);
                }
                out
            }
            LogicalPlan::Projection(p) => {
                let input = self.plan(&p.input);
                let schema = p.input.schema().as_ref().clone();
                p.expr
                    .iter()
                    .map(|e| {
                        if contains_scalar_subquery(e) {
                            self.problem(
                                "a subquery in the SELECT list is not allowed (its value is not protected): \
                                 use a join",
                            );
                        }
                        self.expr(e, &schema, &input)
                    })
                    .collect()
            }
            LogicalPlan::Filter(f) => {
                let input = self.plan(&f.input);
                self.predicate(&f.predicate, f.input.schema(), &input);
                input
            }
            LogicalPlan::Sort(s) => {
                let input = self.plan(&s.input);
                for e in &s.expr {
                    let l = self.expr(&e.expr, s.input.schema(), &input);
                    self.record(&l, Use::Order);
                }
                input
            }
            LogicalPlan::Limit(l) => self.plan(&l.input),
            LogicalPlan::SubqueryAlias(s) => self.plan(&s.input),
            LogicalPlan::Subquery(s) => self.plan(&s.subquery),
            // DISTINCT (and UNION, INTERSECT, EXCEPT, planned with one) groups on every column:
            // the number of its rows counts distinct values, as GROUP BY does
            LogicalPlan::Distinct(Distinct::All(input)) => {
                let fields = self.plan(input);
                for f in &fields {
                    self.record(f, Use::Group);
                }
                fields
            }
            LogicalPlan::Distinct(Distinct::On(d)) => {
                let input = self.plan(&d.input);
                for e in &d.on_expr {
                    let l = self.expr(e, d.input.schema(), &input);
                    self.record(&l, Use::Group);
                }
                for e in d.sort_expr.iter().flatten() {
                    let l = self.expr(&e.expr, d.input.schema(), &input);
                    self.record(&l, Use::Order);
                }
                d.select_expr.iter().map(|e| self.expr(e, d.input.schema(), &input)).collect()
            }
            LogicalPlan::Join(j) => self.join(j),
            LogicalPlan::Aggregate(a) => self.aggregate(a),
            LogicalPlan::Window(w) => {
                let input = self.plan(&w.input);
                let schema = w.input.schema().as_ref().clone();
                let mut out = input.clone();
                for e in &w.window_expr {
                    out.push(self.window_expr(e, &schema, &input));
                }
                out
            }
            LogicalPlan::Union(u) => {
                let mut out = Self::empty(n);
                let mut first = true;
                for i in &u.inputs {
                    let l = self.plan(i);
                    for (o, f) in out.iter_mut().zip(&l) {
                        if first {
                            *o = f.clone();
                        } else if o.direct.is_some() && o.direct == f.direct {
                            // the same base column on every side stays direct
                        } else {
                            o.merge(f);
                        }
                    }
                    first = false;
                }
                out
            }
            LogicalPlan::EmptyRelation(_) => Self::empty(n),
            LogicalPlan::Values(v) => {
                for row in &v.values {
                    for e in row {
                        if !matches!(e, Expr::Literal(..)) {
                            self.problem("VALUES may hold constants only");
                        }
                    }
                }
                Self::empty(n)
            }
            LogicalPlan::Unnest(_) => {
                self.problem("UNNEST is not supported by the gateway");
                Self::empty(n)
            }
            LogicalPlan::RecursiveQuery(_) => {
                self.problem("recursive queries (WITH RECURSIVE) are not supported by the gateway");
                Self::empty(n)
            }
            LogicalPlan::Repartition(r) => self.plan(&r.input),
            LogicalPlan::Explain(_) | LogicalPlan::Analyze(_) => {
                self.problem("EXPLAIN is not available through the gateway");
                Self::empty(n)
            }
            LogicalPlan::Statement(_)
            | LogicalPlan::Dml(_)
            | LogicalPlan::Ddl(_)
            | LogicalPlan::Copy(_)
            | LogicalPlan::DescribeTable(_)
            | LogicalPlan::Extension(_) => {
                self.problem("only queries (SELECT, WITH) are allowed: statements that define or change data are not");
                Self::empty(n)
            }
        };
        if out.len() != n {
            self.problem("the query has a shape the gateway cannot analyse");
            return Self::empty(n);
        }
        out
    }

    fn join(&mut self, j: &datafusion::logical_expr::Join) -> Vec<FieldLineage> {
        let left = self.plan(&j.left);
        let right = self.plan(&j.right);
        for (l, r) in &j.on {
            let ll = self.expr(l, j.left.schema(), &left);
            let rl = self.expr(r, j.right.schema(), &right);
            let u = if self.joinable(&ll, &rl) { Use::Join } else { Use::Filter };
            self.record(&ll, u);
            self.record(&rl, u);
        }
        // an outer join keeps every row of one side and marks which match the other: with no
        // persons on the nullable side, the marks split a cell by its condition unchecked
        let nullable: &[&LogicalPlan] = match j.join_type {
            JoinType::Left => &[j.right.as_ref()],
            JoinType::Right => &[j.left.as_ref()],
            JoinType::Full => &[j.left.as_ref(), j.right.as_ref()],
            _ => &[],
        };
        if nullable.iter().any(|side| !has_person_rows(side, self.catalog, self.resolver)) {
            self.problem(
                "an outer join to a side without persons (constants, VALUES, a list) splits cells by its ON \
                 condition: use an inner join or a WHERE condition",
            );
        }
        let both: Vec<FieldLineage> = left.iter().chain(&right).cloned().collect();
        if let Some(f) = &j.filter {
            match j.left.schema().join(j.right.schema()) {
                Ok(schema) => self.predicate(f, &schema, &both),
                Err(_) => self.problem("a join condition the gateway cannot analyse"),
            }
        }
        match j.join_type {
            JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full => both,
            JoinType::LeftSemi | JoinType::LeftAnti => left,
            JoinType::RightSemi | JoinType::RightAnti => right,
            JoinType::LeftMark => left.into_iter().chain([FieldLineage::default()]).collect(),
            JoinType::RightMark => right.into_iter().chain([FieldLineage::default()]).collect(),
        }
    }

    fn aggregate(&mut self, a: &datafusion::logical_expr::Aggregate) -> Vec<FieldLineage> {
        let input = self.plan(&a.input);
        let schema = a.input.schema().as_ref().clone();
        let Ok(groups) = grouping_set_to_exprlist(&a.group_expr) else {
            self.problem("a GROUP BY the gateway cannot analyse");
            return Self::empty(a.schema.fields().len());
        };
        if !nested_grouping_sets(&a.group_expr) {
            self.problem(
                "GROUPING SETS and CUBE must nest, as ROLLUP does: two partitions of the same group would \
                 rebuild a suppressed cell by subtraction",
            );
        }
        let group_lineage: Vec<FieldLineage> = groups.iter().map(|g| self.expr(g, &schema, &input)).collect();
        for g in &group_lineage {
            self.record(g, Use::Group);
            if g.direct.is_none() {
                // a computed key (`person_id = 100`, `x > 5`) compares its columns with values
                self.record(g, Use::Filter);
            }
        }
        let per_person = group_lineage.iter().any(|g| key_kind(g, self.catalog).is_some());
        let exposure = if per_person { Exposure::Row } else { Exposure::Aggregated };
        let mut out: Vec<FieldLineage> = group_lineage.into_iter().map(|g| g.with_exposure(exposure)).collect();
        let n_aggr = a.aggr_expr.len();
        // grouping sets add an internal grouping id between the keys and the aggregates
        while out.len() + n_aggr < a.schema.fields().len() {
            out.push(FieldLineage::default());
        }
        for e in &a.aggr_expr {
            if !per_person && let Expr::AggregateFunction(f) = e.clone().unalias_nested().data {
                for arg in &f.params.args {
                    self.aggregate_argument(arg, &schema, &input);
                }
            }
            out.push(self.aggregate_expr(e, &schema, &input, exposure));
        }
        out
    }

    fn aggregate_expr(
        &mut self,
        e: &Expr,
        schema: &DFSchema,
        input: &[FieldLineage],
        exposure: Exposure,
    ) -> FieldLineage {
        let Expr::AggregateFunction(f) = e.clone().unalias_nested().data else {
            let l = self.expr(e, schema, input);
            return l.with_exposure(Exposure::Row);
        };
        let mut args = FieldLineage::default();
        for a in &f.params.args {
            let l = self.expr(a, schema, input);
            args.merge(&l);
        }
        if let Some(filter) = &f.params.filter {
            self.predicate(filter, schema, input);
        }
        for o in &f.params.order_by {
            let l = self.expr(&o.expr, schema, input);
            self.record(&l, Use::Order);
        }
        let name = f.func.name().to_ascii_lowercase();
        // a percentile away from the ends summarises; at 0 or 1 it is a minimum or a maximum
        if COUNTING.contains(&name.as_str()) {
            self.record(&args, Use::Count);
            FieldLineage::default()
        } else if SUMMARISING.contains(&name.as_str()) {
            args.with_exposure(exposure)
        } else {
            // min, max, percentiles (interpolated near the ends of a cell of about k persons, with
            // its sum, they give single values back), bool_or/bool_and,
            // first_value, array_agg, string_agg, …: they return values of single rows
            args.with_exposure(Exposure::Row)
        }
    }

    fn window_expr(&mut self, e: &Expr, schema: &DFSchema, input: &[FieldLineage]) -> FieldLineage {
        let Expr::WindowFunction(w) = e.clone().unalias_nested().data else {
            return self.expr(e, schema, input).with_exposure(Exposure::Row);
        };
        for p in &w.params.partition_by {
            let l = self.expr(p, schema, input);
            self.record(&l, Use::Group);
            if l.direct.is_none() {
                self.record(&l, Use::Filter);
            }
        }
        for o in &w.params.order_by {
            let l = self.expr(&o.expr, schema, input);
            self.record(&l, Use::Order);
        }
        if let Some(filter) = &w.params.filter {
            self.predicate(filter, schema, input);
        }
        let mut args = FieldLineage::default();
        for a in &w.params.args {
            let l = self.expr(a, schema, input);
            args.merge(&l);
        }
        let name = w.fun.to_string().to_ascii_lowercase();
        if COUNTING.contains(&name.as_str()) {
            self.record(&args, Use::Count);
            return FieldLineage::default();
        }
        // a window keeps every row: whatever it computes is row-level
        args.with_exposure(Exposure::Row)
    }

    /// A WHERE / HAVING / ON condition: column = column is a join, IS [NOT] NULL a presence
    /// test, anything else a filter on every column it mentions.
    fn predicate(&mut self, e: &Expr, schema: &DFSchema, input: &[FieldLineage]) {
        for c in split_conjunction(e) {
            match c {
                Expr::BinaryExpr(b) if b.op == Operator::Eq && is_column(&b.left) && is_column(&b.right) => {
                    let l = self.expr(&b.left, schema, input);
                    let r = self.expr(&b.right, schema, input);
                    let u = if self.joinable(&l, &r) { Use::Join } else { Use::Filter };
                    self.record(&l, u);
                    self.record(&r, u);
                }
                Expr::IsNull(x) | Expr::IsNotNull(x) if is_column(x) => {
                    let l = self.expr(x, schema, input);
                    self.record(&l, Use::Presence);
                }
                Expr::InSubquery(s) => {
                    let l = self.expr(&s.expr, schema, input);
                    let sub = self.subquery(&s.subquery.subquery, schema, input);
                    let u = if sub.len() == 1 && self.joinable(&l, &sub[0]) { Use::Join } else { Use::Filter };
                    // on a person or a record: a household key would count whole households
                    // for the few persons the subquery selects
                    let on_persons = matches!(key_kind(&l, self.catalog), Some(KeyKind::Person | KeyKind::Record));
                    if !on_persons || u == Use::Filter {
                        self.problem(NOT_ON_PERSONS);
                    }
                    self.record(&l, u);
                    for f in &sub {
                        self.record(f, u);
                    }
                }
                Expr::Exists(s) => {
                    if s.subquery.outer_ref_columns.is_empty() {
                        self.problem(UNCORRELATED);
                    }
                    // correlated through a person key: a semi-join on persons, not a question
                    // about the subquery's rows answered for a whole district
                    let on_persons = s.subquery.outer_ref_columns.iter().any(|r| match r {
                        Expr::OuterReferenceColumn(_, c) => matches!(
                            key_kind(&self.column(c, schema, input), self.catalog),
                            Some(KeyKind::Person | KeyKind::Record)
                        ),
                        _ => false,
                    });
                    if !on_persons {
                        self.problem(NOT_ON_PERSONS);
                    }
                    // EXISTS (SELECT …): the subquery's own conditions are recorded inside it
                    self.subquery(&s.subquery.subquery, schema, input);
                }
                Expr::SetComparison(s) => {
                    self.problem(
                        "comparisons with ANY / ALL (SELECT …) are not supported by the gateway: join instead",
                    );
                    self.subquery(&s.subquery.subquery, schema, input);
                }
                other => {
                    let l = self.expr(other, schema, input);
                    self.record(&l, Use::Filter);
                }
            }
        }
    }

    /// Analyses a subquery used in a condition; its aggregates would not be protected.
    fn subquery(&mut self, plan: &LogicalPlan, schema: &DFSchema, input: &[FieldLineage]) -> Vec<FieldLineage> {
        if contains_aggregate(plan) {
            self.problem(
                "an aggregate inside a subquery condition is not allowed (its cells are not protected): \
                 aggregate in FROM and join instead",
            );
        }
        self.outer.push((schema.clone(), input.to_vec()));
        let out = self.plan(plan);
        self.outer.pop();
        out
    }

    fn column(&mut self, c: &Column, schema: &DFSchema, input: &[FieldLineage]) -> FieldLineage {
        if let Ok(i) = schema.index_of_column(c)
            && let Some(l) = input.get(i)
        {
            return l.clone();
        }
        for (s, l) in self.outer.iter().rev() {
            if let Ok(i) = s.index_of_column(c)
                && let Some(l) = l.get(i)
            {
                return l.clone();
            }
        }
        self.problem(format!("column {c} could not be traced to a table"));
        FieldLineage::default()
    }

    /// The lineage of a scalar expression over `input`.
    fn expr(&mut self, e: &Expr, schema: &DFSchema, input: &[FieldLineage]) -> FieldLineage {
        match e {
            Expr::Column(c) => self.column(c, schema, input),
            Expr::OuterReferenceColumn(_, c) => self.column(c, schema, input),
            Expr::Alias(a) => self.expr(&a.expr, schema, input),
            Expr::ScalarSubquery(s) => {
                if s.outer_ref_columns.is_empty() {
                    self.problem(UNCORRELATED);
                }
                let out = self.subquery(&s.subquery, schema, input);
                let mut l = FieldLineage::default();
                for f in &out {
                    l.merge(f);
                }
                l.with_exposure(Exposure::Row)
            }
            Expr::InSubquery(_) | Expr::Exists(_) | Expr::SetComparison(_) => {
                // a boolean computed from a subquery: analysed as a condition
                let mut l = FieldLineage::default();
                let before: BTreeSet<_> = self.analysis.uses.clone();
                self.predicate(e, schema, input);
                for (c, _) in self.analysis.uses.difference(&before) {
                    l.sources.insert(c.clone(), Exposure::Row);
                }
                l
            }
            _ => {
                let mut l = FieldLineage::default();
                let _ = e.apply_children(|child| {
                    let cl = self.expr(child, schema, input);
                    l.merge(&cl);
                    Ok(TreeNodeRecursion::Continue)
                });
                l.direct = None;
                l.conditioned |= !is_linear(e, schema);
                l
            }
        }
    }

    /// Checks what a protected aggregate's argument may be: columns, constants, + − ×, casts,
    /// and CASE WHEN (its conditions are recorded as filters; the rewrite counts the persons of
    /// each branch). A value computed with a condition below (in a subquery) is refused: as a
    /// GROUP BY key it would make cells that are counted.
    fn aggregate_argument(&mut self, e: &Expr, schema: &DFSchema, input: &[FieldLineage]) {
        match e {
            Expr::Column(c) => {
                if self.column(c, schema, input).conditioned {
                    self.problem(CONDITIONED);
                }
            }
            Expr::Literal(..) => {}
            Expr::Alias(a) => self.aggregate_argument(&a.expr, schema, input),
            Expr::Cast(c) if widening(c.field.data_type()) && numeric(&c.expr, schema) => {
                self.aggregate_argument(&c.expr, schema, input)
            }
            Expr::TryCast(c) if widening(c.field.data_type()) && numeric(&c.expr, schema) => {
                self.aggregate_argument(&c.expr, schema, input)
            }
            Expr::Negative(x) => self.aggregate_argument(x, schema, input),
            Expr::BinaryExpr(b) if matches!(b.op, Operator::Plus | Operator::Minus) => {
                self.aggregate_argument(&b.left, schema, input);
                self.aggregate_argument(&b.right, schema, input);
            }
            // × by a constant only: products of columns give moments, and moments give values
            Expr::BinaryExpr(b) if b.op == Operator::Multiply && (is_constant(&b.left) || is_constant(&b.right)) => {
                self.aggregate_argument(&b.left, schema, input);
                self.aggregate_argument(&b.right, schema, input);
            }
            Expr::Case(c) => {
                for (when, then) in &c.when_then_expr {
                    match &c.expr {
                        Some(base) => {
                            let cond = base.as_ref().clone().eq(when.as_ref().clone());
                            self.predicate(&cond, schema, input);
                        }
                        None => self.predicate(when, schema, input),
                    }
                    self.aggregate_argument(then, schema, input);
                }
                if let Some(x) = &c.else_expr {
                    self.aggregate_argument(x, schema, input);
                }
            }
            _ => self.problem(
                "inside an aggregate only columns, constants, + − ×, casts and CASE WHEN are allowed \
                 (a function can count a few persons of a cell): put the expression in GROUP BY",
            ),
        }
    }
}

const CONDITIONED: &str = "an aggregate sums or counts a value computed with a condition or a function \
     in a subquery (it could count a few persons of a cell): make that value a GROUP BY key instead";

/// Expressions that keep a value linear in its inputs (no condition can hide in them).
fn is_linear(e: &Expr, schema: &DFSchema) -> bool {
    match e {
        Expr::Cast(c) => widening(c.field.data_type()) && numeric(&c.expr, schema),
        Expr::TryCast(c) => widening(c.field.data_type()) && numeric(&c.expr, schema),
        Expr::Negative(_) | Expr::Literal(..) | Expr::Alias(_) => true,
        Expr::BinaryExpr(b) => {
            matches!(b.op, Operator::Plus | Operator::Minus)
                || (b.op == Operator::Multiply && (is_constant(&b.left) || is_constant(&b.right)))
        }
        _ => false,
    }
}

/// Casts that keep every value (to floating point or decimal): a cast to BOOLEAN is `x ≠ 0`,
/// one to an integer truncates, and either makes an indicator.
fn widening(t: &datafusion::arrow::datatypes::DataType) -> bool {
    use datafusion::arrow::datatypes::DataType::*;
    matches!(t, Float16 | Float32 | Float64 | Decimal128(..) | Decimal256(..))
}

/// Whether the grouping sets of a GROUP BY form a chain under inclusion (plain GROUP BY and
/// ROLLUP do; CUBE of two or more keys does not).
fn nested_grouping_sets(group_expr: &[Expr]) -> bool {
    use datafusion::logical_expr::GroupingSet;
    let sets: Vec<Vec<&Expr>> = match group_expr {
        [Expr::GroupingSet(GroupingSet::GroupingSets(sets))] => sets.iter().map(|s| s.iter().collect()).collect(),
        [Expr::GroupingSet(GroupingSet::Rollup(_))] => return true,
        [Expr::GroupingSet(GroupingSet::Cube(exprs))] => return exprs.len() <= 1,
        _ => return true,
    };
    let mut sorted = sets;
    sorted.sort_by_key(|s| s.len());
    sorted.windows(2).all(|w| w[0].iter().all(|e| w[1].contains(e)))
}

/// Whether `e` is a number (a cast from BOOLEAN to a number is an indicator).
fn numeric(e: &Expr, schema: &DFSchema) -> bool {
    use datafusion::logical_expr::ExprSchemable;
    e.get_type(schema).is_ok_and(|t| t.is_numeric())
}

fn is_constant(e: &Expr) -> bool {
    match e {
        Expr::Literal(..) => true,
        Expr::Alias(a) => is_constant(&a.expr),
        Expr::Cast(c) => is_constant(&c.expr),
        Expr::TryCast(c) => is_constant(&c.expr),
        Expr::Negative(x) => is_constant(x),
        _ => false,
    }
}

/// Whether only projections and aliases stand between the root and the output aggregate (no
/// HAVING, ORDER BY, LIMIT or DISTINCT: each would choose cells by their exact values, which an
/// external release must not do).
pub fn plain_output_path(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Aggregate(_) => true,
        LogicalPlan::Projection(p) => plain_output_path(&p.input),
        LogicalPlan::SubqueryAlias(a) => plain_output_path(&a.input),
        _ => false,
    }
}

fn is_column(e: &Expr) -> bool {
    match e {
        Expr::Column(_) | Expr::OuterReferenceColumn(..) => true,
        Expr::Alias(a) => is_column(&a.expr),
        Expr::Cast(c) => is_column(&c.expr),
        Expr::TryCast(c) => is_column(&c.expr),
        _ => false,
    }
}

fn contains_scalar_subquery(e: &Expr) -> bool {
    let mut found = false;
    let _ = e.apply(|x| {
        if matches!(x, Expr::ScalarSubquery(_)) {
            found = true;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

fn contains_aggregate(plan: &LogicalPlan) -> bool {
    let mut found = false;
    let _ = plan.apply_with_subqueries(|p| {
        if matches!(p, LogicalPlan::Aggregate(_) | LogicalPlan::Window(_)) {
            found = true;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}
