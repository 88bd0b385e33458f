//! The workspace catalog: every Parquet table of a workspace registered in DataFusion, with the
//! sensitivity of each column (from the extract manifests and the linkage outputs' contract).
//!
//! Tables (schema `extracts` for departments, `linked` for linkage outputs; `linked` is the
//! default schema, so `persons` means `linked.persons`):
//! - `extracts.<department>`: the pseudonymised extract, plus `person_id` and `household_id`
//!   from the last linkage (NULL when not linked), so that departments join on `person_id`;
//! - `linked.persons`, `linked.households`, `linked.pairs`, `linked.review`;
//! - `risk.features`, `risk.scores`: the last scoring, one row per child (see `mimamori score`).
//!
//! An extract's column named `district` is taken as the district (小学校区) the row belongs to:
//! caseworkers' queries are filtered on it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow_schema::SchemaRef;
use datafusion::catalog::{MemorySchemaProvider, Session, TableProvider};
use datafusion::common::Column;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext, col, lit};
use linkage::link;
use linkage::pseudonymise::manifest::ColumnSensitivity;
use policies::{Catalog, ColumnMeta, KeyKind, Resolver, Sensitivity, TableMeta};

pub const CATALOG: &str = "mimamori";
pub const LINKED: &str = "linked";
pub const EXTRACTS: &str = "extracts";
pub const RISK: &str = "risk";
/// The column that places a row in a district.
pub const DISTRICT_COLUMN: &str = "district";

/// A DataFusion session over a workspace, and what the gateway knows of its tables.
pub struct WorkspaceCatalog {
    pub ctx: SessionContext,
    pub catalog: Catalog,
    pub resolver: Resolver,
}

fn sensitivity(s: ColumnSensitivity) -> Sensitivity {
    match s {
        ColumnSensitivity::IdentifierToken => Sensitivity::IdentifierToken,
        ColumnSensitivity::QuasiIdentifier => Sensitivity::QuasiIdentifier,
        ColumnSensitivity::SpecialCare => Sensitivity::SpecialCare,
        ColumnSensitivity::AggregateSafe => Sensitivity::AggregateSafe,
    }
}

/// Sensitivity of the linkage outputs' columns (their schema is a contract of `mimamori link`).
fn linked_sensitivity(column: &str) -> Sensitivity {
    match column {
        "department" | "department_l" | "department_r" | "basis" => Sensitivity::AggregateSafe,
        "record_ref" | "record_ref_l" | "record_ref_r" => Sensitivity::IdentifierToken,
        "person_id" | "household_id" => Sensitivity::Pseudonym,
        _ => Sensitivity::LinkageMetric,
    }
}

/// Sensitivity of the scoring's columns (`risk.features`, `risk.scores`): every flag and score
/// is about a child's circumstances (要配慮).
fn risk_sensitivity(column: &str) -> Sensitivity {
    match column {
        "person_id" | "household_id" => Sensitivity::Pseudonym,
        "district" => Sensitivity::AggregateSafe,
        _ => Sensitivity::SpecialCare,
    }
}

fn linked_keys(table: &str) -> Vec<(String, KeyKind)> {
    let k = |c: &str, kind| (c.to_string(), kind);
    match table {
        "persons" => vec![
            k("person_id", KeyKind::Person),
            k("household_id", KeyKind::Household),
            k("record_ref", KeyKind::Record),
        ],
        "households" => vec![k("person_id", KeyKind::Person), k("household_id", KeyKind::Household)],
        _ => vec![k("record_ref_l", KeyKind::Record)],
    }
}

impl WorkspaceCatalog {
    /// Registers every table of `workspace`.
    pub async fn open(workspace: &Path) -> Result<WorkspaceCatalog> {
        let config = SessionConfig::new()
            .with_default_catalog_and_schema(CATALOG, LINKED)
            .with_create_default_catalog_and_schema(true)
            .with_information_schema(false)
            .with_target_partitions(std::thread::available_parallelism().map_or(2, |n| n.get()).min(8));
        let ctx = SessionContext::new_with_config(config);
        let Some(cat) = ctx.catalog(CATALOG) else { bail!("the DataFusion catalog could not be created") };
        cat.register_schema(EXTRACTS, Arc::new(MemorySchemaProvider::new()))?;
        let mut catalog = Catalog::new();
        let opts = || ParquetReadOptions::default();

        let linked_dir = workspace.join("linked");
        let mut linked = false;
        for table in ["persons", "households", "pairs", "review"] {
            let name = format!("{LINKED}.{table}");
            let path = linked_dir.join(format!("{table}.parquet"));
            let Some(columns) = register_file(&ctx, &name, &path, linked_sensitivity).await? else { continue };
            catalog.insert(TableMeta {
                name,
                department: None,
                columns,
                person_keys: linked_keys(table),
                district_column: None,
            });
            linked |= table == "persons";
        }

        for (dir, manifest) in link::manifests(workspace).unwrap_or_default() {
            let dept = manifest.department.clone();
            let records = dir.join("records.parquet");
            let name = format!("{EXTRACTS}.{dept}");
            let mut columns: Vec<ColumnMeta> = manifest
                .columns
                .iter()
                .map(|c| ColumnMeta { name: c.name.clone(), sensitivity: sensitivity(c.sensitivity) })
                .collect();
            let df = ctx
                .read_parquet(path_str(&records)?, opts())
                .await
                .with_context(|| format!("cannot read {}", records.display()))?;
            let record_columns: Vec<String> = df.schema().fields().iter().map(|f| f.name().clone()).collect();
            for f in &record_columns {
                if !columns.iter().any(|c| &c.name == f) {
                    bail!(
                        "{}: column {f} of records.parquet is not in the manifest",
                        dir.join("manifest.json").display()
                    );
                }
            }
            let mut keys = vec![("record_ref".to_string(), KeyKind::Record)];
            let view = if linked {
                let persons = ctx
                    .table(format!("{LINKED}.persons").as_str())
                    .await?
                    .filter(col("department").eq(lit(dept.as_str())))?
                    .select(vec![col("record_ref").alias("__linked_ref"), col("person_id"), col("household_id")])?;
                let mut keep: Vec<_> = record_columns.iter().map(|c| col(format!("\"{c}\""))).collect();
                keep.push(col("person_id"));
                keep.push(col("household_id"));
                columns.push(ColumnMeta { name: "person_id".into(), sensitivity: Sensitivity::Pseudonym });
                columns.push(ColumnMeta { name: "household_id".into(), sensitivity: Sensitivity::Pseudonym });
                keys.insert(0, ("person_id".into(), KeyKind::Person));
                keys.insert(1, ("household_id".into(), KeyKind::Household));
                df.join(persons, datafusion::logical_expr::JoinType::Left, &["record_ref"], &["__linked_ref"], None)?
                    .select(keep)?
            } else {
                df
            };
            let provider = LinkedExtract::new(view.logical_plan().clone());
            ctx.register_table(name.as_str(), Arc::new(provider))?;
            let district_column =
                columns.iter().any(|c| c.name == DISTRICT_COLUMN).then(|| DISTRICT_COLUMN.to_string());
            catalog.insert(TableMeta { name, department: Some(dept), columns, person_keys: keys, district_column });
        }

        // the last scoring: one row per child (flags, probability), special care throughout
        cat.register_schema(RISK, Arc::new(MemorySchemaProvider::new()))?;
        for table in ["features", "scores"] {
            let name = format!("{RISK}.{table}");
            let path = workspace.join(RISK).join(format!("{table}.parquet"));
            let Some(columns) = register_file(&ctx, &name, &path, risk_sensitivity).await? else { continue };
            catalog.insert(TableMeta {
                name,
                department: None,
                columns,
                person_keys: vec![("person_id".into(), KeyKind::Person), ("household_id".into(), KeyKind::Household)],
                district_column: Some(DISTRICT_COLUMN.to_string()),
            });
        }
        Ok(WorkspaceCatalog { ctx, catalog, resolver: Resolver { catalog: CATALOG.into(), schema: LINKED.into() } })
    }
}

/// The runtime that plans and runs queries over a workspace (as many workers as cores, up to 8).
pub fn query_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()).min(8))
        .enable_all()
        .build()
        .context("cannot start the query runtime")
}

/// Registers `path` as table `name` when the file exists; returns its columns with the
/// sensitivity `sensitivity` gives each name (None when there is no such file).
async fn register_file(
    ctx: &SessionContext,
    name: &str,
    path: &Path,
    sensitivity: fn(&str) -> Sensitivity,
) -> Result<Option<Vec<ColumnMeta>>> {
    if !path.is_file() {
        return Ok(None);
    }
    ctx.register_parquet(name, path_str(path)?, ParquetReadOptions::default())
        .await
        .with_context(|| format!("cannot read {}", path.display()))?;
    let schema = ctx.table(name).await?.schema().clone();
    Ok(Some(
        schema
            .fields()
            .iter()
            .map(|f| ColumnMeta { name: f.name().clone(), sensitivity: sensitivity(f.name()) })
            .collect(),
    ))
}

fn path_str(p: &Path) -> Result<String> {
    let abs: PathBuf = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir()?.join(p) };
    abs.to_str().map(str::to_string).with_context(|| format!("{} is not a UTF-8 path", p.display()))
}

/// An extract joined with the linkage's person ids, as a base table. (A DataFusion view would
/// be inlined into the query's plan at planning time; the gateway must see a scan of
/// `extracts.<department>` itself, not of the files behind it.)
#[derive(Debug)]
struct LinkedExtract {
    plan: LogicalPlan,
    schema: SchemaRef,
}

impl LinkedExtract {
    fn new(plan: LogicalPlan) -> Self {
        let schema = Arc::new(plan.schema().as_arrow().clone());
        LinkedExtract { plan, schema }
    }
}

#[async_trait::async_trait]
impl TableProvider for LinkedExtract {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let mut b = LogicalPlanBuilder::from(self.plan.clone());
        if let Some(p) = projection {
            let cols: Vec<Expr> =
                p.iter().map(|i| Expr::Column(Column::from(self.plan.schema().qualified_field(*i)))).collect();
            b = b.project(cols)?;
        }
        if let Some(l) = limit {
            b = b.limit(0, Some(l))?;
        }
        state.create_physical_plan(&b.build()?).await
    }
}
