//! The policy gateway: the only way to the workspace's data through the engine.
//!
//! A query is parsed (one statement), planned to a DataFusion `LogicalPlan` (planning reads no
//! data), row-filtered for caseworkers, analysed (`policies::analyse`), checked by the plan rules
//! and the Cedar policies, rewritten for minimum group size, run, and its output cells under k
//! persons (or within k persons of a cell released before under the same purpose) suppressed.
//! Every decision, allowed or denied, is written to the audit log before any result is returned.
//! Messages of errors raised while the query runs are withheld: they may quote data values.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use arrow_array::{Array, ArrayRef, BooleanArray, FixedSizeBinaryArray, ListArray, RecordBatch, UInt64Array};
use arrow_schema::SchemaRef;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::sql::parser::DFParser;
use policies::rewrite::{self, PERSONS_COLUMN, RewriteError};
use policies::{KeyKind, Policies, Verdict};

/// A query rewritten with some output columns masked.
struct Masked {
    plan: datafusion::logical_expr::LogicalPlan,
    analysis: policies::Analysis,
    /// The masked output columns' names.
    columns: Vec<String>,
}
use serde_json::json;

use crate::audit::{self, Decision};
use crate::catalog::WorkspaceCatalog;
use crate::config::Config;
use crate::released::{self, Cell, Store};

/// A denial by policy: the CLI exits with code 2.
#[derive(Debug, thiserror::Error)]
#[error("denied: {}", .reasons.join("\n  "))]
pub struct Denied {
    pub reasons: Vec<String>,
}

/// What an allowed query returned.
pub struct Released {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// How the query was rewritten, for the user.
    pub rewrites: Vec<String>,
    /// Cells suppressed (under k persons, or differencing an earlier release).
    pub suppressed: usize,
    pub rows: usize,
    pub audit_seq: u64,
    pub timings: Timings,
}

impl Released {
    /// The released cells as display strings, row by row (NULL as an empty string).
    pub fn rows(&self) -> Result<Vec<Vec<String>>> {
        use arrow_cast::display::{ArrayFormatter, FormatOptions};
        let opts = FormatOptions::default();
        let mut rows = Vec::new();
        for b in &self.batches {
            let cols: Vec<ArrayFormatter> =
                b.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &opts)).collect::<Result<_, _>>()?;
            for row in 0..b.num_rows() {
                rows.push(cols.iter().map(|f| f.value(row).to_string()).collect());
            }
        }
        Ok(rows)
    }
}

/// Where the time of one query went (the gateway's overhead is plan + policy + audit).
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    /// Parsing and planning (no data read).
    pub plan: Duration,
    /// Row filters, analysis, plan rules, Cedar, rewrites.
    pub policy: Duration,
    /// Running the rewritten plan.
    pub run: Duration,
    /// Counting each cell's persons, suppression and the differencing checks.
    pub release: Duration,
    /// Writing the audit entry (synced) and the released cells.
    pub audit: Duration,
}

impl Timings {
    pub fn overhead(&self) -> Duration {
        self.plan + self.policy + self.audit
    }
}

/// A query as asked.
pub struct QueryRequest<'a> {
    pub user: &'a str,
    pub purpose: &'a str,
    pub sql: &'a str,
    /// A release outside the municipality: differentially private person counts per cell,
    /// with this ε (a decimal string), charged to the purpose's budget.
    pub external: Option<&'a str>,
}

/// The gateway over one workspace.
pub struct Gateway {
    workspace: PathBuf,
    config: Config,
    policies: Arc<Policies>,
    runtime: tokio::runtime::Runtime,
    catalog: WorkspaceCatalog,
}

impl Gateway {
    /// Loads the workspace's configuration, policies and catalog.
    pub fn open(workspace: &Path) -> Result<Gateway> {
        if !workspace.is_dir() {
            bail!("workspace {} does not exist", workspace.display());
        }
        let config = Config::load_workspace(workspace)?;
        let policies = load_policies(workspace)?;
        let runtime = crate::catalog::query_runtime()?;
        let catalog = runtime.block_on(WorkspaceCatalog::open(workspace))?;
        Ok(Gateway { workspace: workspace.to_path_buf(), config, policies, runtime, catalog })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The query with every output column masked that shows a base column the user may see
    /// only masked, if there is one and the masked query passes the plan rules and the policies.
    fn masked(
        &self,
        plan: &datafusion::logical_expr::LogicalPlan,
        principal: &policies::Principal,
        purpose: &policies::PurposeContext,
        k: u32,
    ) -> Result<Option<Masked>> {
        let cat = &self.catalog;
        let lineage = policies::analyse::lineage(plan, &cat.catalog, &cat.resolver);
        let mut indices = Vec::new();
        let mut columns = Vec::new();
        for (i, field) in lineage.iter().enumerate() {
            if let Some(c) = &field.direct
                && self.policies.check_masking(principal, purpose, &cat.catalog, c, false, k)?
            {
                indices.push(i);
                columns.push(plan.schema().field(i).name().clone());
            }
        }
        if indices.is_empty() {
            return Ok(None);
        }
        let masked = rewrite::mask(plan.clone(), &indices)?;
        let analysis = policies::analyse(&masked, &cat.catalog, &cat.resolver);
        if !policies::rules::check(&analysis, &cat.catalog).is_empty() {
            return Ok(None);
        }
        Ok(match self.policies.check_query(principal, purpose, &analysis, &cat.catalog, false, k)? {
            Verdict::Allow => Some(Masked { plan: masked, analysis, columns }),
            Verdict::Deny(_) => None,
        })
    }

    fn deny(
        &self,
        user: &str,
        purpose: &str,
        resource: &str,
        mut detail: serde_json::Value,
        reasons: Vec<String>,
    ) -> Result<Released> {
        detail["reasons"] = json!(reasons);
        audit::append(
            &self.workspace,
            audit::Record { user, action: "query", purpose: Some(purpose), resource, decision: Decision::Deny, detail },
        )?;
        Err(Denied { reasons }.into())
    }

    /// Runs one query through the gateway.
    pub fn query(&self, req: &QueryRequest) -> Result<Released> {
        let mut timings = Timings::default();
        let started = Instant::now();
        let mut detail = json!({ "sql": req.sql.trim() });
        let Some(user) = self.config.users.iter().find(|u| u.name == req.user) else {
            return self.deny(
                req.user,
                req.purpose,
                "-",
                detail,
                vec![format!("user {} is not in mimamori.toml", req.user)],
            );
        };
        detail["role"] = json!(user.role.as_str());
        let Some(purpose) = self.config.purposes.iter().find(|p| p.id == req.purpose) else {
            return self.deny(
                req.user,
                req.purpose,
                "-",
                detail,
                vec![format!("purpose {} is not in mimamori.toml", req.purpose)],
            );
        };

        // one statement, normalised for the log
        let statement = match DFParser::parse_sql(req.sql) {
            Ok(mut s) if s.len() == 1 => s.pop_front(),
            Ok(s) => {
                let n = s.len();
                return self.deny(
                    req.user,
                    req.purpose,
                    "-",
                    detail,
                    vec![format!("one statement per query, found {n}")],
                );
            }
            Err(e) => return self.refuse_sql(req, detail, &e),
        };
        let Some(statement) = statement else { bail!("no statement") };
        detail["sql"] = json!(statement.to_string());
        let state = self.catalog.ctx.state();
        let plan = match self.runtime.block_on(state.statement_to_plan(statement)) {
            Ok(p) => p,
            Err(e) => return self.refuse_sql(req, detail, &e),
        };

        timings.plan = started.elapsed();
        let started = Instant::now();
        let principal = crate::gate::principal(user);
        let purpose_ctx = crate::gate::purpose_context(purpose);
        let mut rewrites = Vec::new();
        let cat = &self.catalog;
        let plan = if user.role == crate::config::Role::Caseworker {
            let names: Vec<String> = user
                .districts
                .iter()
                .filter_map(|id| self.config.districts.iter().find(|d| &d.id == id).map(|d| d.name.clone()))
                .collect();
            let t = rewrite::row_filter(plan, &cat.catalog, &cat.resolver, &names)?;
            if t.transformed {
                rewrites.push(format!("rows limited to the districts of {}: {}", user.name, names.join(", ")));
            }
            t.data
        } else {
            plan
        };

        let k = self.config.min_group_size;
        let external = req.external.is_some();
        let mut plan = plan;
        let mut analysis = policies::analyse(&plan, &cat.catalog, &cat.resolver);
        let mut violations = policies::rules::check(&analysis, &cat.catalog);
        let mut verdict = if violations.is_empty() {
            self.policies.check_query(&principal, &purpose_ctx, &analysis, &cat.catalog, external, k)?
        } else {
            Verdict::Allow
        };
        // a query denied for showing columns the user may see only masked runs with them masked,
        // when the masked query passes every check (its denial is the plain query's otherwise)
        if !external
            && (!violations.is_empty() || matches!(verdict, Verdict::Deny(_)))
            && let Some(m) = self.masked(&plan, &principal, &purpose_ctx, k)?
        {
            rewrites.push(format!(
                "{} masked: shown as NULL (identifier tokens and linkage ids are never shown)",
                m.columns.join(", ")
            ));
            (plan, analysis, violations, verdict) = (m.plan, m.analysis, Vec::new(), Verdict::Allow);
        }
        let tables: Vec<&str> = analysis.tables.iter().map(String::as_str).collect();
        let resource = if tables.is_empty() { "-".to_string() } else { tables.join(",") };
        detail["tables"] = json!(tables);
        detail["aggregated"] = json!(analysis.aggregated);
        if !violations.is_empty() {
            let reasons = violations.into_iter().map(|(rule, r)| format!("{r} (rule {rule})")).collect();
            return self.deny(req.user, req.purpose, &resource, detail, reasons);
        }
        detail["external"] = json!(external);
        if let Verdict::Deny(reasons) = verdict {
            return self.deny(req.user, req.purpose, &resource, detail, reasons);
        }
        if external {
            match self.policies.check_action(&principal, &purpose_ctx, "release", true, k)? {
                Verdict::Allow => {}
                Verdict::Deny(reasons) => return self.deny(req.user, req.purpose, &resource, detail, reasons),
            }
            if analysis.aggregated && !policies::analyse::plain_output_path(&plan) {
                let reason = "a release outside the municipality chooses no cells by their exact values: \
                              no HAVING, ORDER BY, LIMIT or DISTINCT above the GROUP BY"
                    .to_string();
                return self.deny(req.user, req.purpose, &resource, detail, vec![reason]);
            }
            if !analysis.aggregated {
                let reason =
                    "a release outside the municipality is an aggregate: GROUP BY the cells to release".to_string();
                return self.deny(req.user, req.purpose, &resource, detail, vec![reason]);
            }
        }
        let protected = match rewrite::protect(plan, &cat.catalog, &cat.resolver, u64::from(k)) {
            Ok(p) => p,
            Err(RewriteError::Refused(r)) => return self.deny(req.user, req.purpose, &resource, detail, vec![r]),
            Err(e) => return Err(e.into()),
        };
        if external && protected.persons.is_none() {
            let reason = "an external release counts each cell's persons, and the cells of this query are not \
                          rows of persons (aggregate a table of persons directly, GROUP BY the cells to release)"
                .to_string();
            return self.deny(req.user, req.purpose, &resource, detail, vec![reason]);
        }
        if protected.persons.is_some() {
            rewrites.push(format!("cells describing fewer than {k} persons are suppressed"));
        }
        if protected.inner_protected > 0 {
            rewrites.push(format!(
                "{} inner aggregate(s) keep only groups of at least {k} persons",
                protected.inner_protected
            ));
        }
        detail["plan_digest"] =
            json!(blake3::hash(protected.plan.display_indent().to_string().as_bytes()).to_hex().to_string());
        detail["rewrites"] = json!(rewrites);

        timings.policy = started.elapsed();
        let started = Instant::now();
        // which output columns are plain group keys (the cells' labels, for external releases)
        let df_lineage: Vec<bool> = policies::analyse::lineage(&protected.plan, &cat.catalog, &cat.resolver)
            .iter()
            .map(|f| f.direct.is_some())
            .collect();
        let df = DataFrame::new(state, protected.plan);
        let output_schema: SchemaRef = Arc::new(arrow_schema::Schema::new(
            df.schema().as_arrow().fields().iter().filter(|f| f.name() != PERSONS_COLUMN).cloned().collect::<Vec<_>>(),
        ));
        let ran = self.runtime.block_on(df.collect()).map_err(|e| anyhow::anyhow!(withheld(&e)));
        let batches = self.audit_failure(req, &resource, detail.clone(), ran)?;

        timings.run = started.elapsed();
        let started = Instant::now();
        if let (Some(epsilon), Some(kind)) = (req.external, protected.persons) {
            let final_plan_lineage = df_lineage;
            let result = self.release_external(
                req,
                purpose,
                detail.clone(),
                &resource,
                batches,
                kind,
                epsilon,
                &final_plan_lineage,
                timings,
            );
            return self.audit_failure(req, &resource, detail, result);
        }
        let (batches, suppressed, mut store, new_cells) = match protected.persons {
            Some(kind) => {
                let r = self.suppress(batches, kind, k as usize);
                let r = self.audit_failure(req, &resource, detail.clone(), r);
                r?
            }
            None => (batches, 0, None, Vec::new()),
        };
        // how many cells went is for the audit log only: shown to the user, it would answer a
        // yes/no question about a suppressed cell (a HAVING true for a small cell, say)
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => output_schema,
        };
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        detail["rows"] = json!(rows);
        detail["suppressed_cells"] = json!(suppressed);
        detail["rewrites"] = json!(rewrites);
        timings.release = started.elapsed();
        let started = Instant::now();
        let entry = audit::append(
            &self.workspace,
            audit::Record {
                user: req.user,
                action: "query",
                purpose: Some(req.purpose),
                resource: &resource,
                decision: Decision::Allow,
                detail,
            },
        )?;
        if let Some(store) = store.as_mut() {
            let cells: Vec<Cell> =
                new_cells.into_iter().map(|(kind, persons)| Cell { kind, seq: entry.seq, persons }).collect();
            store.append(&cells)?;
        }
        timings.audit = started.elapsed();
        Ok(Released { schema, batches, rewrites, suppressed, rows, audit_seq: entry.seq, timings })
    }

    /// An external release: for each cell, a differentially private count of its distinct
    /// persons (each person counted in one cell at most), labelled by the cell's group keys.
    /// The charge is written to `<ws>/dp/ledger.jsonl` before anything is computed from the data.
    #[allow(clippy::too_many_arguments)]
    fn release_external(
        &self,
        req: &QueryRequest,
        purpose: &crate::config::Purpose,
        mut detail: serde_json::Value,
        resource: &str,
        batches: Vec<RecordBatch>,
        _kind: KeyKind,
        epsilon: &str,
        group_columns: &[bool],
        mut timings: Timings,
    ) -> Result<Released> {
        use arrow_array::{Int64Array, StringArray, UInt64Array as U64};
        use dp_core::{Rational, accountant::Cost, ledger, mechanism};
        let started = Instant::now();
        let parse = |s: &str, what: &str| {
            s.parse::<Rational>().map_err(|e| anyhow::anyhow!("{what} {s:?} is not a decimal: {e}"))
        };
        let eps = parse(epsilon, "--epsilon")?;
        if eps.is_zero() {
            bail!("--epsilon must be greater than zero");
        }
        let budget = ledger::Budget {
            epsilon: parse(&purpose.dp_epsilon, "dp_epsilon")?,
            delta: parse(&purpose.dp_delta, "dp_delta")?,
        };
        if budget.epsilon.is_zero() {
            return self.deny(
                req.user,
                req.purpose,
                resource,
                detail,
                vec![format!("purpose {} has no DP budget (dp_epsilon = 0)", purpose.id)],
            );
        }
        // the cells: labels from the group-key columns, persons from the hidden column
        let mut labels: Vec<Vec<String>> = Vec::new();
        let mut records: Vec<(u64, usize)> = Vec::new();
        let mut label_names: Vec<String> = Vec::new();
        for batch in &batches {
            let schema = batch.schema();
            let hidden = schema.index_of(PERSONS_COLUMN)?;
            let keys: Vec<usize> = (0..batch.num_columns())
                .filter(|i| *i != hidden && group_columns.get(*i).copied().unwrap_or(false))
                .collect();
            if label_names.is_empty() {
                label_names = keys.iter().map(|i| schema.field(*i).name().clone()).collect();
            }
            let fmts: Vec<_> = keys
                .iter()
                .map(|i| arrow_cast::display::ArrayFormatter::try_new(batch.column(*i).as_ref(), &Default::default()))
                .collect::<Result<_, _>>()?;
            let list = batch
                .column(hidden)
                .as_any()
                .downcast_ref::<ListArray>()
                .context("the hidden persons column is not a list")?;
            for row in 0..batch.num_rows() {
                let cell = labels.len();
                labels.push(fmts.iter().map(|f| f.value(row).to_string()).collect());
                if !list.is_null(row) {
                    for p in person_keys(&list.value(row)) {
                        records.push((p, cell));
                    }
                }
            }
        }
        let delta_zero = budget.delta.is_zero();
        let single_cell = label_names.is_empty();
        if delta_zero && !single_cell {
            let reason = format!(
                "purpose {} has no δ budget (dp_delta = 0): cells whose labels come from the data cannot be released \
                 (their existence could leak); use a purpose with dp_delta > 0, or release one total without GROUP BY",
                purpose.id
            );
            return self.deny(req.user, req.purpose, resource, detail, vec![reason]);
        }
        let release_delta = if delta_zero {
            Rational::from_integer(0)
        } else {
            // a tenth of the purpose's δ per release
            Rational::new(budget.delta.numer().clone(), budget.delta.denom() * 10u32).context("δ")?
        };
        let cost = if delta_zero {
            Cost::Pure { epsilon: eps.clone() }
        } else {
            Cost::Approx { epsilon: eps.clone(), delta: release_delta.clone() }
        };
        let ledger_file = ledger_path(&self.workspace);
        let ledger = ledger::Ledger::new(&ledger_file);
        if let Some(dir) = ledger_file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let release_id = format!("query:{}", blake3::hash(req.sql.as_bytes()).to_hex().get(..16).unwrap_or(""));
        let mut rng = dp_core::csprng::os_seeded().map_err(|e| anyhow::anyhow!("{e}"))?;
        let charged =
            ledger.release(&purpose.id, &budget, &release_id, &cost, || -> Result<(Vec<(usize, i64)>, u64)> {
                let scale = eps.to_f64().recip();
                if delta_zero {
                    let persons: Vec<u64> = records.iter().map(|(p, _)| *p).collect();
                    let r =
                        mechanism::count(&mut rng, persons, 1, &mechanism::Noise::Laplace { epsilon: eps.clone() })?;
                    Ok((vec![(0, r.value)], r.error95))
                } else {
                    let sel =
                        mechanism::partition_selection(&mut rng, records.iter().copied(), 1, &eps, &release_delta)?;
                    let _ = sel.threshold;
                    Ok((sel.released, mechanism::laplace_error95(scale)))
                }
            });
        let (cells, error95) = match charged {
            Ok(r) => r?,
            Err(e @ ledger::LedgerError::Exhausted { .. }) => {
                return self.deny(req.user, req.purpose, resource, detail, vec![e.to_string()]);
            }
            Err(e) => return Err(e.into()),
        };
        // the released table: labels, noisy persons, 95 % error bound
        let mut fields: Vec<arrow_schema::Field> =
            label_names.iter().map(|n| arrow_schema::Field::new(n, arrow_schema::DataType::Utf8, true)).collect();
        fields.push(arrow_schema::Field::new("persons_dp", arrow_schema::DataType::Int64, false));
        fields.push(arrow_schema::Field::new("error95", arrow_schema::DataType::UInt64, false));
        let schema = Arc::new(arrow_schema::Schema::new(fields));
        let mut columns: Vec<ArrayRef> = (0..label_names.len())
            .map(|c| {
                let values: Vec<String> = cells.iter().map(|(cell, _)| labels[*cell][c].clone()).collect();
                Arc::new(StringArray::from(values)) as ArrayRef
            })
            .collect();
        columns.push(Arc::new(Int64Array::from(cells.iter().map(|(_, n)| (*n).max(0)).collect::<Vec<_>>())));
        columns.push(Arc::new(U64::from(vec![error95; cells.len()])));
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        let rows = batch.num_rows();
        let withheld_cells = labels.len().saturating_sub(rows);
        let rewrites = vec![
            format!(
                "released outside: differentially private counts of distinct persons per cell (ε = {epsilon}{}), each person in one cell at most",
                if delta_zero { String::new() } else { format!(", δ = {release_delta}") }
            ),
            format!("other aggregate columns are not released; counts are ±{error95} at 95 %"),
        ];
        // how many cells fell below the threshold is exact: it goes to the audit log only
        detail["rows"] = json!(rows);
        detail["rewrites"] = json!(rewrites);
        detail["withheld_cells"] = json!(withheld_cells);
        detail["dp"] = json!({"epsilon": epsilon, "delta": release_delta.to_string(), "release": release_id});
        timings.release = started.elapsed();
        let started = Instant::now();
        let entry = audit::append(
            &self.workspace,
            audit::Record {
                user: req.user,
                action: "release",
                purpose: Some(req.purpose),
                resource,
                decision: Decision::Allow,
                detail,
            },
        )?;
        timings.audit = started.elapsed();
        Ok(Released {
            schema,
            batches: vec![batch],
            rewrites,
            suppressed: withheld_cells,
            rows,
            audit_seq: entry.seq,
            timings,
        })
    }

    /// Passes `result` through; an error other than a denial (which is logged already) is
    /// written to the audit log first, so that a failure after the run leaves its trace.
    fn audit_failure<T>(
        &self,
        req: &QueryRequest,
        resource: &str,
        detail: serde_json::Value,
        result: Result<T>,
    ) -> Result<T> {
        let action = if req.external.is_some() { "release" } else { "query" };
        crate::gate::log_failure_with(&self.workspace, req.user, req.purpose, action, resource, detail, result)
    }

    fn refuse_sql(&self, req: &QueryRequest, mut detail: serde_json::Value, e: &DataFusionError) -> Result<Released> {
        // planning reads no data: its messages name only the query's own text and the schema
        let message = format!("the SQL does not plan: {}", e.strip_backtrace());
        detail["error"] = json!(message);
        audit::append(
            &self.workspace,
            audit::Record {
                user: req.user,
                action: "query",
                purpose: Some(req.purpose),
                resource: "-",
                decision: Decision::Error,
                detail,
            },
        )?;
        bail!("{message}")
    }

    /// Drops cells under k persons or within k persons of a released cell; removes the hidden
    /// persons column. Returns the batches, the number suppressed, the locked store and the
    /// cells to record.
    #[allow(clippy::type_complexity)]
    fn suppress(
        &self,
        batches: Vec<RecordBatch>,
        kind: KeyKind,
        k: usize,
    ) -> Result<(Vec<RecordBatch>, usize, Option<Store>, Vec<(u8, Vec<u64>)>)> {
        // one ledger for every purpose: a complement asked under another purpose is a complement
        let store = Store::open(&self.workspace)?;
        let code = released::kind_code(kind);
        // every cell's persons
        let mut cells: Vec<(usize, usize, Vec<u64>)> = Vec::new();
        for (b, batch) in batches.iter().enumerate() {
            let idx = batch.schema().index_of(PERSONS_COLUMN).context("the hidden persons column is missing")?;
            let list = batch
                .column(idx)
                .as_any()
                .downcast_ref::<ListArray>()
                .context("the hidden persons column is not a list")?;
            for row in 0..batch.num_rows() {
                let persons = if list.is_null(row) { Vec::new() } else { person_keys(&list.value(row)) };
                cells.push((b, row, persons));
            }
        }
        let mut keep: Vec<Vec<bool>> = batches.iter().map(|b| vec![false; b.num_rows()]).collect();
        let mut accepted: Vec<usize> = Vec::new();
        let mut suppressed = 0;
        for (i, (_, _, persons)) in cells.iter().enumerate() {
            let earlier = accepted.iter().map(|&j| Cell { kind: code, seq: u64::MAX, persons: cells[j].2.clone() });
            let earlier: Vec<Cell> = earlier.collect();
            if persons.len() < k || released::conflict(persons, code, k, store.cells.iter().chain(&earlier)).is_some() {
                suppressed += 1;
            } else {
                accepted.push(i);
            }
        }
        // within the result: a cell minus the shown cells inside it (a total and its parts, as
        // ROLLUP or GROUPING SETS give) must not leave fewer than k persons
        suppressed += residual_suppression(&cells, &mut accepted, k);
        // the cells shown together must not difference an earlier release either (a total
        // minus the shown cells would reveal the suppressed ones)
        let union_of = |acc: &[usize]| -> Vec<u64> {
            let mut u: Vec<u64> = acc.iter().flat_map(|&j| cells[j].2.iter().copied()).collect();
            u.sort_unstable();
            u.dedup();
            u
        };
        let mut union = union_of(&accepted);
        while accepted.len() > 1 && released::conflict(&union, code, k, &store.cells).is_some() {
            // secondary suppression: the smallest cell goes
            let Some((pos, _)) = accepted.iter().enumerate().min_by_key(|(_, j)| cells[**j].2.len()) else { break };
            accepted.remove(pos);
            suppressed += 1;
            union = union_of(&accepted);
        }
        for &j in &accepted {
            keep[cells[j].0][cells[j].1] = true;
        }
        let mut out = Vec::with_capacity(batches.len());
        for (batch, mask) in batches.iter().zip(keep) {
            let filtered = datafusion::arrow::compute::filter_record_batch(batch, &BooleanArray::from(mask))?;
            let idx = filtered.schema().index_of(PERSONS_COLUMN)?;
            let cols: Vec<usize> = (0..filtered.num_columns()).filter(|c| *c != idx).collect();
            out.push(filtered.project(&cols)?);
        }
        let mut record: Vec<(u8, Vec<u64>)> = accepted.iter().map(|&j| (code, cells[j].2.clone())).collect();
        if accepted.len() > 1 {
            record.push((code, union));
        }
        Ok((out, suppressed, Some(store), record))
    }
}

/// Whether sorted `a` is a subset of sorted `b`.
fn is_subset(a: &[u64], b: &[u64]) -> bool {
    let mut j = 0;
    for x in a {
        while j < b.len() && b[j] < *x {
            j += 1;
        }
        if j == b.len() || b[j] != *x {
            return false;
        }
        j += 1;
    }
    true
}

/// Secondary suppression inside one result: while some shown cell C holds shown cells whose
/// union leaves 1..k-1 of C's persons uncovered, the smallest of those cells is suppressed too.
/// Returns the number suppressed.
fn residual_suppression(cells: &[(usize, usize, Vec<u64>)], accepted: &mut Vec<usize>, k: usize) -> usize {
    let mut suppressed = 0;
    loop {
        let mut order = accepted.clone();
        order.sort_by_key(|&j| std::cmp::Reverse(cells[j].2.len()));
        let mut drop = None;
        for &c in &order {
            let outer = &cells[c].2;
            let inner: Vec<usize> = accepted
                .iter()
                .copied()
                .filter(|&a| a != c && cells[a].2.len() < outer.len() && is_subset(&cells[a].2, outer))
                .collect();
            if inner.is_empty() {
                continue;
            }
            let mut covered: Vec<u64> = inner.iter().flat_map(|&a| cells[a].2.iter().copied()).collect();
            covered.sort_unstable();
            covered.dedup();
            let rest = outer.len() - covered.len();
            if rest > 0 && rest < k {
                drop = inner.iter().copied().min_by_key(|&a| cells[a].2.len());
                break;
            }
        }
        match drop {
            Some(d) => {
                accepted.retain(|&a| a != d);
                suppressed += 1;
            }
            None => return suppressed,
        }
    }
}

/// The workspace's own policy set when `WS/policies/*.cedar` exists (it replaces the defaults
/// as a whole, and is validated against the shipped schema the same way), else the defaults.
///
/// Parsing and validating a policy set costs milliseconds, so a long-running process (the
/// portal) keeps the last one loaded per workspace and loads again only when the set of policy
/// files, their sizes or modification times change.
/// The workspace's DP budget ledger, where every external release is charged.
pub fn ledger_path(workspace: &Path) -> PathBuf {
    workspace.join("dp").join("ledger.jsonl")
}

/// One purpose's use of its DP budget, as the ledger holds it.
pub struct PurposeSpending<'a> {
    pub purpose: &'a crate::config::Purpose,
    pub spent: dp_core::accountant::Spent,
    pub releases: usize,
}

/// What each purpose of `config` has spent of its DP budget and how many releases it made, and
/// the number of releases in the ledger (nothing spent when there is no ledger yet).
pub fn budget_spending<'a>(workspace: &Path, config: &'a Config) -> Result<(Vec<PurposeSpending<'a>>, usize)> {
    let path = ledger_path(workspace);
    let ledger = dp_core::ledger::Ledger::new(&path);
    let used = path.is_file();
    let releases = if used { ledger.releases()? } else { Vec::new() };
    let mut rows = Vec::with_capacity(config.purposes.len());
    for purpose in &config.purposes {
        let spent = if used { ledger.spent(&purpose.id)? } else { Default::default() };
        let n = releases.iter().filter(|(p, _)| p == &purpose.id).count();
        rows.push(PurposeSpending { purpose, spent, releases: n });
    }
    Ok((rows, releases.len()))
}

pub fn load_policies(workspace: &Path) -> Result<Arc<Policies>> {
    use std::sync::Mutex;
    type Stamp = Vec<(String, u64, Option<std::time::SystemTime>)>;
    static LOADED: Mutex<Vec<(PathBuf, Stamp, Arc<Policies>)>> = Mutex::new(Vec::new());
    let dir = workspace.join("policies");
    let mut stamp: Stamp = Vec::new();
    if dir.is_dir() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "cedar") {
                let meta = std::fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
                stamp.push((path.display().to_string(), meta.len(), meta.modified().ok()));
            }
        }
        if stamp.is_empty() {
            bail!("{} holds no .cedar file; remove the folder to use the default policies", dir.display());
        }
        stamp.sort();
    }
    if let Ok(cache) = LOADED.lock()
        && let Some((_, _, p)) = cache.iter().find(|(w, s, _)| w == workspace && *s == stamp)
    {
        return Ok(p.clone());
    }
    let policies = Arc::new(if stamp.is_empty() {
        Policies::defaults()?
    } else {
        let mut files = Vec::new();
        for (path, _, _) in &stamp {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
            files.push((path.clone(), text));
        }
        Policies::load(files)?
    });
    if let Ok(mut cache) = LOADED.lock() {
        cache.retain(|(w, _, _)| w != workspace);
        cache.push((workspace.to_path_buf(), stamp, policies.clone()));
    }
    Ok(policies)
}

/// Sorted, de-duplicated 64-bit keys of one cell's persons.
fn person_keys(values: &ArrayRef) -> Vec<u64> {
    let mut out: Vec<u64> = if let Some(a) = values.as_any().downcast_ref::<UInt64Array>() {
        a.iter().flatten().collect()
    } else if let Some(a) = values.as_any().downcast_ref::<FixedSizeBinaryArray>() {
        (0..a.len())
            .filter(|i| a.is_valid(*i))
            .map(|i| {
                let v = a.value(i);
                let mut b = [0u8; 8];
                let n = v.len().min(8);
                b[..n].copy_from_slice(&v[..n]);
                u64::from_le_bytes(b)
            })
            .collect()
    } else {
        // any other key type: hash its display form (never shown)
        let formatter = arrow_cast::display::ArrayFormatter::try_new(values.as_ref(), &Default::default());
        match formatter {
            Ok(f) => (0..values.len())
                .filter(|i| values.is_valid(*i))
                .map(|i| {
                    let h = blake3::hash(f.value(i).to_string().as_bytes());
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&h.as_bytes()[..8]);
                    u64::from_le_bytes(b)
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// The message shown for an error raised while the query ran.
fn withheld(e: &DataFusionError) -> String {
    match e.find_root() {
        DataFusionError::ResourcesExhausted(m) => format!("the query ran out of memory: {m}"),
        DataFusionError::Plan(_) | DataFusionError::SchemaError(..) => {
            format!("the query does not plan: {}", e.strip_backtrace())
        }
        _ => "the query failed while running; the message is withheld because it may quote values from the data"
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_total_shown_with_its_parts_cannot_reveal_a_suppressed_part() {
        // total of 30 persons; parts of 12, 14 and a suppressed part of 4
        let total: Vec<u64> = (0..30).collect();
        let a: Vec<u64> = (0..12).collect();
        let b: Vec<u64> = (12..26).collect();
        let cells = vec![(0, 0, total), (0, 1, a), (0, 2, b)];
        let mut accepted = vec![0, 1, 2];
        assert_eq!(residual_suppression(&cells, &mut accepted, 10), 1);
        assert_eq!(accepted, vec![0, 2], "the smaller part goes: the total then covers 16 unshown persons");
        // parts that leave k or more uncovered are fine
        let mut accepted = vec![0, 2];
        assert_eq!(residual_suppression(&cells, &mut accepted, 10), 0);
        assert!(is_subset(&[1, 3], &[1, 2, 3]) && !is_subset(&[1, 4], &[1, 2, 3]));
    }
}
