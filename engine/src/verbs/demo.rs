//! `mimamori demo`: the whole pipeline on the embedded synthetic municipality, everything local.
//! Each stage that lands extends it.

use std::path::Path;

use anyhow::{Result, bail};
use serde::Serialize;
use synthetic_data::SynthConfig;

use super::{init, synth};
use crate::cli::OutputFormat;
use crate::config::{self, Config};
use crate::staging::{StagedDir, is_absent_or_empty, write_new_file};

#[derive(Serialize)]
struct DemoSummary {
    households: u64,
    seed: u64,
    persons: u64,
    records: u64,
    records_by_department: std::collections::BTreeMap<String, u64>,
    custodians: &'static str,
    workspace: &'static str,
    stages_run: Vec<&'static str>,
}

pub fn run(out: &Path, households: u64, seed: u64, force: bool, format: OutputFormat) -> Result<()> {
    if households == 0 {
        bail!("--households must be at least 1");
    }
    if !force && !is_absent_or_empty(out)? {
        bail!("{} is not empty; choose a new folder for --out or add --force to replace it", out.display());
    }
    let staged = StagedDir::new(out)?;
    let root = staged.path().to_path_buf();

    let synth_config = SynthConfig { households, seed, ..SynthConfig::default() };
    let summary = synth::generate(&synth_config, &root.join("custodians"), format)?;

    let workspace = root.join("workspace");
    init::create(&workspace)?;
    Config::load(&workspace.join(config::FILE_NAME))?;

    let demo = DemoSummary {
        households,
        seed,
        persons: summary.population.persons,
        records: summary.records,
        records_by_department: summary.records_by_department.clone(),
        custodians: "custodians",
        workspace: "workspace",
        stages_run: vec!["synth", "init"],
    };
    write_new_file(&root.join("demo.json"), serde_json::to_string_pretty(&demo)?.as_bytes())?;
    staged.commit(force)?;

    let text = match format {
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(&demo)?),
        OutputFormat::Table => {
            let custodians = out.join("custodians");
            format!(
                "{}\nworkspace: {} (mimamori.toml: 6 departments, 8 districts, users and purposes)\n\nwhere to look next:\n  {}/registry/registry.csv and the other extracts: what each department holds\n  {}/truth/: the ground truth the evaluation scores against\n  mimamori config --workspace {}: the workspace's departments, districts, users and purposes\n",
                synth::describe(&summary, &custodians),
                out.join("workspace").display(),
                custodians.display(),
                custodians.display(),
                out.join("workspace").display(),
            )
        }
    };
    crate::print_stdout(&text)?;
    Ok(())
}
