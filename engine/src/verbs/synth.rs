//! `mimamori synth`: a synthetic municipality on disk.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use synthetic_data::{Summary, SynthConfig};

use super::count;
use crate::cli::OutputFormat;
use crate::progress::Progress;
use crate::staging::is_absent_or_empty;

/// Where each department's extract is, with its format, for summaries.
pub const FILES: [(&str, &str, &str); 6] = [
    ("registry", "registry/registry.csv", "CSV UTF-8"),
    ("welfare", "welfare/welfare.csv", "CSV CP932"),
    ("health", "health/health.csv", "CSV CP932"),
    ("education", "education/education.xlsx", "Excel"),
    ("nursery", "nursery/nursery.csv", "CSV UTF-8 BOM"),
    ("consultation", "consultation/consultation.parquet", "Parquet"),
];

/// Generates into `out` with progress; shared with `demo`.
pub fn generate(config: &SynthConfig, out: &Path, format: OutputFormat) -> Result<Summary> {
    if !is_absent_or_empty(out)? {
        bail!("{} is not empty; choose a new folder for --out", out.display());
    }
    let mut progress = Progress::new("households", config.households, format);
    let summary = synthetic_data::generate(config, out, &mut |done| progress.set(done))
        .with_context(|| format!("cannot generate the synthetic municipality in {}", out.display()))?;
    progress.finish();
    Ok(summary)
}

pub fn run(households: u64, seed: u64, out: &Path, as_of: chrono::NaiveDate, format: OutputFormat) -> Result<()> {
    if households == 0 {
        bail!("--households must be at least 1");
    }
    let config = SynthConfig { households, seed, as_of, ..SynthConfig::default() };
    let summary = generate(&config, out, format)?;
    let text = match format {
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(&summary)?),
        OutputFormat::Table => describe(&summary, out),
    };
    crate::print_stdout(&text)?;
    Ok(())
}

/// A short human summary of a generated municipality.
pub fn describe(s: &Summary, out: &Path) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "synthetic municipality みまもり市: {} households, {} persons ({} children), seed {}",
        count(s.config.households),
        count(s.population.persons),
        count(s.population.children),
        s.config.seed
    );
    let _ = writeln!(t, "written to {}:", out.display());
    for (dept, file, fmt) in FILES {
        let n = s.records_by_department.get(dept).copied().unwrap_or(0);
        let _ = writeln!(t, "  {dept:<13} {:>10} records  {file} ({fmt}) + {dept}/{dept}.toml", count(n));
    }
    let _ = writeln!(
        t,
        "  {:<13} {:>10} records  truth/truth.csv, truth/outcomes.csv, truth/noise.csv",
        "truth",
        count(s.records)
    );
    let _ = writeln!(
        t,
        "  gaiji lost to CP932 (written as ?): {}; noise rates measured per kind in synth.json",
        count(s.gaiji_lost)
    );
    t
}
