//! Unit tests over an in-memory catalog: lineage, uses, the Cedar defaults and the rewrites.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::MemorySchemaProvider;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::Resolver;
use crate::analyse::{BaseColumn, Use, analyse};
use crate::authorize::{Policies, Principal, PurposeContext, Verdict};
use crate::catalog::{Catalog, ColumnMeta, KeyKind, Sensitivity, TableMeta};
use crate::rewrite::{PERSONS_COLUMN, protect, row_filter};
use crate::rules;

fn table(
    name: &str,
    cols: &[(&str, DataType, Sensitivity)],
    keys: &[(&str, KeyKind)],
    district: bool,
) -> (TableMeta, Arc<MemTable>) {
    let schema =
        Arc::new(Schema::new(cols.iter().map(|(n, t, _)| Field::new(*n, t.clone(), true)).collect::<Vec<_>>()));
    let meta = TableMeta {
        name: name.into(),
        department: name.strip_prefix("extracts.").map(str::to_string),
        columns: cols.iter().map(|(n, _, s)| ColumnMeta { name: (*n).into(), sensitivity: *s }).collect(),
        person_keys: keys.iter().map(|(c, k)| ((*c).into(), *k)).collect(),
        district_column: district.then(|| "district".into()),
    };
    (meta, Arc::new(MemTable::try_new(schema, vec![vec![]]).unwrap()))
}

struct Fixture {
    ctx: SessionContext,
    catalog: Catalog,
    resolver: Resolver,
}

fn fixture() -> Fixture {
    use DataType::*;
    use Sensitivity::*;
    let ctx = SessionContext::new_with_config(
        SessionConfig::new().with_default_catalog_and_schema("mimamori", "linked").with_information_schema(false),
    );
    ctx.catalog("mimamori").unwrap().register_schema("extracts", Arc::new(MemorySchemaProvider::new())).unwrap();
    let mut catalog = Catalog::new();
    let tables = [
        table(
            "extracts.registry",
            &[
                ("record_ref", FixedSizeBinary(16), IdentifierToken),
                ("tok_name", FixedSizeBinary(16), IdentifierToken),
                ("district", Utf8, AggregateSafe),
                ("moved_in", Date32, QuasiIdentifier),
                ("person_id", UInt64, Pseudonym),
            ],
            &[("person_id", KeyKind::Person), ("record_ref", KeyKind::Record)],
            true,
        ),
        table(
            "extracts.welfare",
            &[
                ("record_ref", FixedSizeBinary(16), IdentifierToken),
                ("programme", Utf8, SpecialCare),
                ("person_id", UInt64, Pseudonym),
            ],
            &[("person_id", KeyKind::Person), ("record_ref", KeyKind::Record)],
            false,
        ),
        table(
            "linked.pairs",
            &[("record_ref_l", FixedSizeBinary(16), IdentifierToken), ("match_weight", Float32, LinkageMetric)],
            &[("record_ref_l", KeyKind::Record)],
            false,
        ),
    ];
    for (meta, mem) in tables {
        ctx.register_table(meta.name.as_str(), mem).unwrap();
        catalog.insert(meta);
    }
    Fixture { ctx, catalog, resolver: Resolver { catalog: "mimamori".into(), schema: "linked".into() } }
}

fn plan(f: &Fixture, sql: &str) -> LogicalPlan {
    futures_block(f.ctx.state().create_logical_plan(sql)).unwrap()
}

fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
}

fn col(t: &str, c: &str) -> BaseColumn {
    BaseColumn { table: t.into(), column: c.into() }
}

#[test]
fn lineage_follows_columns_through_ctes_functions_unions_and_windows() {
    let f = fixture();
    let cases = [
        ("WITH t AS (SELECT record_ref AS r FROM extracts.registry) SELECT r FROM t", "record_ref"),
        ("SELECT upper(encode(tok_name, 'hex')) AS x FROM extracts.registry", "tok_name"),
        ("SELECT district FROM extracts.registry UNION ALL SELECT programme FROM extracts.welfare", "programme"),
        ("SELECT first_value(programme) OVER (PARTITION BY person_id) AS p FROM extracts.welfare", "programme"),
        ("SELECT * FROM (SELECT * FROM linked.pairs) p", "record_ref_l"),
    ];
    for (sql, column) in cases {
        let a = analyse(&plan(&f, sql), &f.catalog, &f.resolver);
        assert!(
            a.uses.iter().any(|(c, u)| c.column == column && *u == Use::OutputRow),
            "{sql}: {column} reaches the output row by row: {:?}",
            a.uses
        );
        assert!(!rules::check(&a, &f.catalog).is_empty() || column == "programme", "{sql}");
    }
}

#[test]
fn aggregates_counts_joins_and_filters_are_told_apart() {
    let f = fixture();
    let a = analyse(
        &plan(
            &f,
            "SELECT r.district, count(DISTINCT w.person_id) AS n, count(w.programme) AS c FROM extracts.welfare w \
             JOIN extracts.registry r ON r.person_id = w.person_id WHERE r.moved_in > DATE '2020-01-01' \
             GROUP BY r.district",
        ),
        &f.catalog,
        &f.resolver,
    );
    assert!(a.aggregated);
    let has = |t: &str, c: &str, u: Use| a.uses.contains(&(col(t, c), u));
    assert!(has("extracts.registry", "district", Use::OutputAggregate));
    assert!(has("extracts.registry", "district", Use::Group));
    assert!(has("extracts.welfare", "person_id", Use::Count));
    assert!(has("extracts.welfare", "programme", Use::Count));
    assert!(has("extracts.registry", "person_id", Use::Join));
    assert!(has("extracts.registry", "moved_in", Use::Filter));
    assert!(!a.uses.iter().any(|(_, u)| *u == Use::OutputRow));
    assert!(rules::check(&a, &f.catalog).is_empty());
    // grouped by a person: row-level, not protected
    let a = analyse(
        &plan(&f, "SELECT person_id, max(programme) AS p FROM extracts.welfare GROUP BY person_id"),
        &f.catalog,
        &f.resolver,
    );
    assert!(!a.aggregated);
    assert!(a.uses.contains(&(col("extracts.welfare", "programme"), Use::OutputRow)));
}

fn officer() -> Principal {
    Principal { name: "officer".into(), role: "data_linkage_officer".into(), districts: vec![], department: None }
}

fn purpose() -> PurposeContext {
    PurposeContext {
        id: "child_outreach".into(),
        legal_basis: "個人情報保護法 第69条第2項第2号".into(),
        roles: vec!["data_linkage_officer".into(), "caseworker".into()],
    }
}

#[test]
fn the_default_policies_validate_against_the_schema_and_decide_by_role_and_usage() {
    let p = Policies::defaults().unwrap();
    let f = fixture();
    let check = |who: &Principal, sql: &str| {
        let a = analyse(&plan(&f, sql), &f.catalog, &f.resolver);
        p.check_query(who, &purpose(), &a, &f.catalog, false, 10).unwrap()
    };
    assert_eq!(
        check(&officer(), "SELECT programme, count(*) AS n FROM extracts.welfare GROUP BY programme"),
        Verdict::Allow
    );
    match check(&officer(), "SELECT programme FROM extracts.welfare") {
        Verdict::Deny(r) => assert!(r.iter().any(|r| r.contains("special-care")), "{r:?}"),
        Verdict::Allow => panic!("row-level special-care output allowed"),
    }
    let cw =
        Principal { name: "cw".into(), role: "caseworker".into(), districts: vec!["minato".into()], department: None };
    assert_eq!(check(&cw, "SELECT district, count(*) AS n FROM extracts.registry GROUP BY district"), Verdict::Allow);
    assert!(matches!(check(&cw, "SELECT count(*) AS n FROM extracts.welfare"), Verdict::Deny(_)));
    let reviewer = Principal { name: "r".into(), role: "reviewer".into(), districts: vec![], department: None };
    match check(&reviewer, "SELECT count(*) AS n FROM extracts.registry") {
        Verdict::Deny(r) => assert!(r.iter().any(|r| r.contains("not approved for the user's role")), "{r:?}"),
        Verdict::Allow => panic!("a purpose not approved for the role"),
    }
    // a policy file with an error is refused with its name
    let err =
        Policies::load([("bad.cedar".to_string(), "permit (principal, action, resource) when { nope };".to_string())]);
    assert!(err.is_err());
    let err = Policies::load([(
        "typo.cedar".to_string(),
        "permit (principal, action == Mimamori::Action::\"query\", resource is Mimamori::Column) when { resource.sensitivty == \"x\" };".to_string(),
    )]);
    assert!(matches!(err, Err(crate::PolicyError::Invalid(_))), "strict validation catches a misspelt attribute");
}

#[test]
fn protect_adds_the_hidden_persons_column_and_protects_inner_aggregates() {
    let f = fixture();
    let p = protect(
        plan(&f, "SELECT district, count(*) AS n FROM extracts.registry GROUP BY district ORDER BY n"),
        &f.catalog,
        &f.resolver,
        10,
    )
    .unwrap();
    assert_eq!(p.persons, Some(KeyKind::Person));
    let names: Vec<String> = p.plan.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names.last().map(String::as_str), Some(PERSONS_COLUMN), "{names:?}");
    // the key is carried up through a subquery that dropped it
    let p = protect(
        plan(&f, "SELECT district, count(*) AS n FROM (SELECT district FROM extracts.registry) t GROUP BY district"),
        &f.catalog,
        &f.resolver,
        10,
    )
    .unwrap();
    assert_eq!(p.persons, Some(KeyKind::Person));
    // an inner aggregate gets HAVING count(DISTINCT key) >= k; the outer one is then safe
    let p = protect(
        plan(&f, "SELECT max(n) AS m FROM (SELECT district, count(*) AS n FROM extracts.registry GROUP BY district) t"),
        &f.catalog,
        &f.resolver,
        10,
    )
    .unwrap();
    assert_eq!(p.inner_protected, 1);
    assert_eq!(p.persons, None);
    // rows from a UNION of tables: persons cannot be told
    assert!(
        protect(
            plan(&f, "SELECT count(*) AS n FROM (SELECT district FROM extracts.registry UNION ALL SELECT programme FROM extracts.welfare) t"),
            &f.catalog,
            &f.resolver,
            10,
        )
        .is_err()
    );
}

#[test]
fn row_filters_reach_every_scan_of_a_district_table() {
    let f = fixture();
    let p = plan(
        &f,
        "SELECT count(*) AS n FROM extracts.registry WHERE person_id IN (SELECT person_id FROM extracts.registry)",
    );
    let t = row_filter(p, &f.catalog, &f.resolver, &["港小学校区".into()]).unwrap();
    assert!(t.transformed);
    let text = t.data.display_indent().to_string();
    assert_eq!(text.matches("港小学校区").count(), 2, "{text}");
}
