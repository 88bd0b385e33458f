//! Plan rules: structural checks that hold whatever the Cedar policies say, each a small type
//! with one job (as DataFusion's analyzer rules are). They keep the non-negotiable guarantees
//! (identifiers never shown, only analysable queries) even under a mistaken policy file.

use crate::analyse::{Analysis, Use};
use crate::catalog::{Catalog, Sensitivity};

/// One structural check over an analysed query.
pub trait PlanRule {
    /// Short name, written into denials and the audit log.
    fn name(&self) -> &'static str;
    /// Reasons to deny (empty when the rule is satisfied).
    fn check(&self, analysis: &Analysis, catalog: &Catalog) -> Vec<String>;
}

/// The query is a query the analysis fully understood.
pub struct AnalysableShape;

impl PlanRule for AnalysableShape {
    fn name(&self) -> &'static str {
        "analysable-shape"
    }
    fn check(&self, a: &Analysis, _: &Catalog) -> Vec<String> {
        a.problems.clone()
    }
}

/// Every table is in the workspace catalog.
pub struct KnownTables;

impl PlanRule for KnownTables {
    fn name(&self) -> &'static str {
        "known-tables"
    }
    fn check(&self, a: &Analysis, c: &Catalog) -> Vec<String> {
        a.tables
            .iter()
            .filter(|t| c.table(t).is_none())
            .map(|t| format!("{t} is not a table of this workspace"))
            .collect()
    }
}

/// Identifier tokens and linkage ids never reach the output and are never compared with a value.
pub struct IdentifiersStayHidden;

impl PlanRule for IdentifiersStayHidden {
    fn name(&self) -> &'static str {
        "identifiers-stay-hidden"
    }
    fn check(&self, a: &Analysis, c: &Catalog) -> Vec<String> {
        let mut out = Vec::new();
        for (col, u) in &a.uses {
            let Some(s) = c.table(&col.table).and_then(|t| t.column(&col.column)).map(|m| m.sensitivity) else {
                continue;
            };
            let hidden = matches!(s, Sensitivity::IdentifierToken | Sensitivity::Pseudonym);
            let shown = matches!(u, Use::OutputRow | Use::OutputAggregate);
            if hidden && shown {
                out.push(format!("{col} ({s}) would reach the output"));
            } else if hidden && *u == Use::Filter {
                out.push(format!("{col} ({s}) is compared with a value (singling out a person)"));
            } else if s == Sensitivity::IdentifierToken && *u == Use::Group {
                out.push(format!("{col} ({s}) is a grouping key (cells of one person)"));
            }
        }
        out
    }
}

/// Rows that stand for single persons are not released: each one would be a cell of one
/// person, and even their number is a count no minimum group size protects.
pub struct NoRowsOfPersons;

impl PlanRule for NoRowsOfPersons {
    fn name(&self) -> &'static str {
        "no-rows-of-persons"
    }
    fn check(&self, a: &Analysis, _: &Catalog) -> Vec<String> {
        if a.rows_protected {
            return Vec::new();
        }
        vec![
            "the result has one row per person or record of a table of persons: aggregate it (GROUP BY) \
              so that cells under the minimum group size can be suppressed"
                .into(),
        ]
    }
}

/// One protected aggregate per query, and it makes the output: cells of a second aggregate
/// (joined, subtracted, unioned, windowed over) would escape the per-cell checks against what
/// was released before, and their arithmetic could difference two cells inside one query.
pub struct OneAggregateForTheOutput;

impl PlanRule for OneAggregateForTheOutput {
    fn name(&self) -> &'static str {
        "one-aggregate-for-the-output"
    }
    fn check(&self, a: &Analysis, _: &Catalog) -> Vec<String> {
        if a.protected_aggregates == 0 || (a.protected_aggregates == 1 && a.aggregated) {
            return Vec::new();
        }
        vec![
            "the query computes with the cells of an aggregate (joins, subtracts, unions or windows over \
              them, or aggregates them again): release one aggregate per query, its cells as the result \
              (GROUP BY … ROLLUP / GROUPING SETS gives totals with their parts)"
                .into(),
        ]
    }
}

/// The rules the gateway runs, in order.
pub fn default_rules() -> Vec<Box<dyn PlanRule + Send + Sync>> {
    vec![
        Box::new(AnalysableShape),
        Box::new(KnownTables),
        Box::new(IdentifiersStayHidden),
        Box::new(NoRowsOfPersons),
        Box::new(OneAggregateForTheOutput),
    ]
}

/// Runs every rule; returns (rule name, reason) for each violation.
pub fn check(analysis: &Analysis, catalog: &Catalog) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for r in default_rules() {
        for reason in r.check(analysis, catalog) {
            out.push((r.name(), reason));
        }
    }
    out
}
