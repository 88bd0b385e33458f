//! `mimamori link`: links the workspace's extracts into WS/linked/, staged and then renamed, so
//! that a failed run leaves the previous result in place.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use linkage::link::{self, Event, Quality};
use serde_json::json;

use crate::audit;
use crate::cli::OutputFormat;
use crate::config::Config;
use crate::gate;
use crate::staging::StagedDir;

/// A record of the workspace: (department, record_ref).
pub type RecordKey = (String, [u8; 16]);

/// (true person, true household) per (department, record_ref), interned as numbers.
pub type TruthMap = HashMap<(String, [u8; 16]), (u64, u64)>;

/// Truth per (department, record_ref), through the custodians' vaults (evaluation only).
fn load_truth(workspace: &Path, truth: &Path, vault_dir: &Path) -> Result<TruthMap> {
    let mut intern: HashMap<String, u64> = HashMap::new();
    let mut id = |s: &str, prefix: &str| {
        let n = intern.len() as u64;
        *intern.entry(format!("{prefix}{s}")).or_insert(n)
    };
    let mut out = HashMap::new();
    for (key, (p, h)) in truth_rows(workspace, truth, vault_dir)? {
        let person = id(&p, "p");
        let household = id(&h, "h");
        out.insert(key, (person, household));
    }
    Ok(out)
}

/// The true person of each (department, record_ref), as the truth file names it.
pub fn truth_persons(workspace: &Path, truth: &Path, vault_dir: &Path) -> Result<HashMap<RecordKey, String>> {
    Ok(truth_rows(workspace, truth, vault_dir)?.into_iter().map(|(k, (p, _))| (k, p)).collect())
}

/// (true person, true household) as written in `truth.csv`, per (department, record_ref): the
/// custodians' vaults map each record id to its record_ref.
fn truth_rows(workspace: &Path, truth: &Path, vault_dir: &Path) -> Result<HashMap<RecordKey, (String, String)>> {
    let found = link::manifests(workspace)?;
    // record_id → record_ref per department
    let mut by_id: HashMap<(String, String), [u8; 16]> = HashMap::new();
    for (_, m) in &found {
        let refs = super::export_links::open_vault(vault_dir, &m.department)?;
        for (r, id) in refs {
            by_id.insert((m.department.clone(), id), r);
        }
    }
    let mut reader = csv::Reader::from_path(truth).with_context(|| format!("cannot read {}", truth.display()))?;
    let headers = reader.headers().with_context(|| format!("{}: no header line", truth.display()))?.clone();
    let col = |name: &str| {
        headers.iter().position(|h| h == name).with_context(|| {
            format!("{}:1: no `{name}` column (expected department,record_id,person_id,household_id)", truth.display())
        })
    };
    let (d, r, p, h) = (col("department")?, col("record_id")?, col("person_id")?, col("household_id")?);
    let mut out = HashMap::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.with_context(|| format!("{}:{}: not a CSV row", truth.display(), i + 2))?;
        let key = (row[d].to_string(), row[r].to_string());
        if let Some(rf) = by_id.get(&key) {
            out.insert((key.0, *rf), (row[p].to_string(), row[h].to_string()));
        }
    }
    Ok(out)
}

pub fn run(
    workspace: &Path,
    truth: Option<&Path>,
    vault_dir: Option<&Path>,
    user: Option<&str>,
    purpose: &str,
    format: OutputFormat,
) -> Result<()> {
    if !workspace.is_dir() {
        bail!("workspace {} does not exist; create it with `mimamori init --workspace DIR`", workspace.display());
    }
    let (config, source) = gate::workspace_config(workspace)?;
    let user = gate::officer_actor(&config, user)?;
    let truth = match (truth, vault_dir) {
        (Some(t), Some(v)) => Some((t, v)),
        _ => None,
    };
    let quality = link_workspace(workspace, &Actor { user: &user, purpose, config: &config, source }, truth, format)?;
    let text = match format {
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(&quality)?),
        OutputFormat::Table => summary(&quality),
    };
    crate::print_stdout(&text)?;
    Ok(())
}

/// Evaluation: the truth per record, its record ids mapped to record_refs through the
/// custodians' vaults, which each department's custodian opens (policy action `export`,
/// audited as `evaluate-links`).
fn gated_truth(workspace: &Path, config: &Config, truth: &Path, vault_dir: &Path, purpose: &str) -> Result<TruthMap> {
    let departments: Vec<String> = link::manifests(workspace)?.into_iter().map(|(_, m)| m.department).collect();
    let openers = gate::with_denial_detail(json!({"via": "link --truth"}), || {
        gate::vault_openers(workspace, config, None, purpose, "export", "vaults", &departments)
    })?;
    let detail = json!({
        "truth_file": truth.file_name().map(|n| n.to_string_lossy().to_string()),
        "departments": departments,
        "login": audit::os_user(),
        "policy_action": "export",
    });
    let loaded = load_truth(workspace, truth, vault_dir);
    let loaded =
        gate::log_failure_with(workspace, &openers.who, purpose, "evaluate-links", "vaults", detail.clone(), loaded)?;
    gate::record(workspace, &openers.who, purpose, "evaluate-links", "vaults", detail)?;
    Ok(loaded)
}

/// Who links, under which purpose, checked against which configuration.
pub struct Actor<'a> {
    pub user: &'a str,
    pub purpose: &'a str,
    pub config: &'a Config,
    pub source: gate::ConfigSource,
}

/// The policies' `link` check for `actor`, the evaluation truth (`(truth.csv, vault folder)`,
/// opened by the custodians) when given, then the linkage into WS/linked/ (staged), audited;
/// used by `link` and `demo`.
pub fn link_workspace(
    workspace: &Path,
    actor: &Actor,
    truth: Option<(&Path, &Path)>,
    format: OutputFormat,
) -> Result<Quality> {
    gate::workspace_action(workspace, actor.config, actor.user, actor.purpose, "link", "extracts")?;
    let truth = truth.map(|(t, v)| gated_truth(workspace, actor.config, t, v, actor.purpose)).transpose()?;
    let target = workspace.join("linked");
    let staged = StagedDir::new(&target)?;
    let interactive = format == OutputFormat::Table && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut observe = |e: Event| match e {
        Event::Stage(s) if interactive => eprintln!("  {s}"),
        Event::Rule(r) if interactive => eprintln!(
            "    rule {:<44} {:>12} candidate pairs (largest group {})",
            r.columns.join(" + "),
            super::count(r.pairs),
            r.largest_groups.first().copied().unwrap_or(0)
        ),
        _ => {}
    };
    let lookup = truth.as_ref().map(|t| move |d: &str, r: &[u8; 16]| t.get(&(d.to_string(), *r)).copied());
    let result = link::link(
        workspace,
        &actor.config.linkage,
        staged.path(),
        lookup.as_ref().map(|f| f as &dyn Fn(&str, &[u8; 16]) -> Option<(u64, u64)>),
        &mut observe,
    );
    let detail = json!({"login": audit::os_user(), "configuration": actor.source.as_str()});
    let quality = gate::log_failure_with(
        workspace,
        actor.user,
        actor.purpose,
        "link",
        "extracts",
        detail.clone(),
        result.map_err(anyhow::Error::from),
    )?;
    let mut detail = detail;
    for (k, v) in [
        ("records", json!(quality.records)),
        ("departments", json!(quality.departments.iter().map(|d| d.name.clone()).collect::<Vec<_>>())),
        ("candidate_pairs", json!(quality.candidate_pairs)),
        ("persons", json!(quality.persons.persons)),
        ("households", json!(quality.households.households)),
    ] {
        detail[k] = v;
    }
    gate::record(workspace, actor.user, actor.purpose, "link", "extracts", detail)?;
    staged.commit(true)?;
    Ok(quality)
}

fn summary(q: &Quality) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "linked {} records of {} departments into {} persons and {} households\n",
        super::count(q.records),
        q.departments.len(),
        super::count(q.persons.persons),
        super::count(q.households.households)
    ));
    s.push_str("blocking rules (candidate pairs, new pairs):\n");
    for r in &q.blocking {
        match &r.skipped {
            Some(why) => s.push_str(&format!("  {:<46} skipped: {why}\n", r.columns.join(" + "))),
            None => s.push_str(&format!(
                "  {:<46} {:>12} {:>12}{}\n",
                r.columns.join(" + "),
                super::count(r.pairs),
                super::count(r.new_pairs),
                if r.pairs_a_year_apart > 0 {
                    format!("  ({} of them a birth year apart, one year estimated)", super::count(r.pairs_a_year_apart))
                } else {
                    String::new()
                }
            )),
        }
    }
    let e = &q.expected;
    s.push_str(&format!(
        "candidate pairs {}; threshold p ≥ {:.3}; model's own estimate: precision {:.4}, recall {:.4} (of candidate pairs)\n",
        super::count(q.candidate_pairs),
        e.threshold,
        e.precision,
        e.recall
    ));
    s.push_str(&format!(
        "persons: largest {} records, {} merges refused (records that must differ), {} bridges, {} low-confidence records\n",
        q.persons.largest, q.persons.refused_merges, q.persons.bridges, q.persons.low_confidence_records
    ));
    if let Some(t) = &q.truth {
        s.push_str(&format!(
            "against truth ({} records): persons pair F1 {:.4} (P {:.4}, R {:.4}), cluster F1 {:.4}; households pair F1 {:.4}\n",
            super::count(t.records_covered),
            t.persons.pair_f1,
            t.persons.pair_precision,
            t.persons.pair_recall,
            t.persons.cluster_f1,
            t.households.pair_f1
        ));
    }
    let total: f64 = q.seconds.iter().map(|(_, t)| t).sum();
    s.push_str(&format!("time {total:.1} s ("));
    s.push_str(&q.seconds.iter().map(|(n, t)| format!("{n} {t:.1}")).collect::<Vec<_>>().join(", "));
    s.push_str(")\nwritten: WS/linked/{persons,households,pairs,review}.parquet, model.json, quality.json\n");
    s
}
