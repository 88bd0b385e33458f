//! A synthetic municipality for mimamori: a resident registry (住民記録) and department
//! extracts (welfare, maternal and child health, education, nursery, consultations), each in its
//! own format and encoding, with the identity noise real extracts carry, ground truth for every
//! record and latent outcomes drawn from a documented generative model (`MODEL.md`).
//!
//! Output is deterministic for a seed: household `i` draws from its own ChaCha stream, so the
//! first `n` households of a larger run are the households of a run with `n`. Rows stream to
//! disk household by household, so memory does not grow with the number of records.
//!
//! ```no_run
//! let config = synthetic_data::SynthConfig { households: 1_000, ..Default::default() };
//! let summary = synthetic_data::generate(&config, std::path::Path::new("out"), &mut |_| {})?;
//! println!("{} records", summary.records);
//! # Ok::<(), synthetic_data::SynthError>(())
//! ```

mod extract;
pub mod latent;
pub mod municipality;
pub mod noise;
pub mod population;
mod sink;
mod truth;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

pub use noise::{NoiseCount, NoiseKind, NoiseRates, NoiseStats};

/// The departments the municipality exports, in the order they are written.
pub const DEPARTMENTS: [&str; 6] = ["registry", "welfare", "health", "education", "nursery", "consultation"];

/// Errors while generating; each names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("output folder {path} exists and is not empty; choose another or remove it")]
    NotEmpty { path: PathBuf },
    #[error("invalid setting: {0}")]
    Config(String),
}

impl SynthError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        SynthError::Io { path: path.to_path_buf(), source }
    }
}

/// What to generate.
#[derive(Clone, Debug, Serialize)]
pub struct SynthConfig {
    /// Households with children (each 2–8 persons).
    pub households: u64,
    pub seed: u64,
    /// Reference date: the end of the school year the extracts describe.
    pub as_of: NaiveDate,
    pub noise: NoiseRates,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            households: 5_000,
            seed: 20_260_401,
            as_of: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap_or_default(),
            noise: NoiseRates::default(),
        }
    }
}

/// Population facts, for checking the generator against its configured rates.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PopulationStats {
    pub persons: u64,
    pub children: u64,
    /// Birth events (a twin birth counts once).
    pub births: u64,
    pub twin_pairs: u64,
    pub outside_registry_households: u64,
    pub moved_within_households: u64,
    pub surname_changed_persons: u64,
    pub pregnancies: u64,
}

/// What was written; also saved as `synth.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub config: SynthConfig,
    pub records: u64,
    pub records_by_department: BTreeMap<String, u64>,
    /// Characters outside CP932 written as `?` in CP932 extracts.
    pub gaiji_lost: u64,
    pub population: PopulationStats,
    pub noise: NoiseStats,
}

/// Generates the municipality into `out`, which must not exist or be empty. Files are written
/// into a temporary sibling folder that is renamed into place at the end, so `out` never holds
/// a half-written municipality. `progress` is called with the number of households done.
pub fn generate(config: &SynthConfig, out: &Path, progress: &mut dyn FnMut(u64)) -> Result<Summary, SynthError> {
    if config.households == 0 {
        return Err(SynthError::Config("--households must be at least 1".into()));
    }
    if out.exists() {
        let mut entries = fs::read_dir(out).map_err(|e| SynthError::io(out, e))?;
        if entries.next().is_some() {
            return Err(SynthError::NotEmpty { path: out.to_path_buf() });
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| SynthError::io(&parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".mimamori-synth-")
        .tempdir_in(&parent)
        .map_err(|e| SynthError::io(&parent, e))?;
    let summary = write_all(config, staging.path(), progress)?;
    if out.exists() {
        fs::remove_dir(out).map_err(|e| SynthError::io(out, e))?;
    }
    let staged = staging.keep();
    fs::rename(&staged, out).map_err(|e| {
        let _ = fs::remove_dir_all(&staged);
        SynthError::io(out, e)
    })?;
    Ok(summary)
}

/// Mixed into the seed of the second random stream of each household (see `draw_household`).
const AUX_STREAM: u64 = 0x6d69_6d61_6d6f_7269;

fn write_all(config: &SynthConfig, dir: &Path, progress: &mut dyn FnMut(u64)) -> Result<Summary, SynthError> {
    use extract::*;

    let truth_dir = dir.join("truth");
    fs::create_dir_all(&truth_dir).map_err(|e| SynthError::io(&truth_dir, e))?;
    let mut truth = truth::TruthWriter::create(&truth_dir)?;
    let mut stats = NoiseStats::default();
    let mut registry = registry::Registry::create(dir)?;
    let mut welfare = welfare::Welfare::create(dir)?;
    let mut health = health::Health::create(dir)?;
    let mut education = education::Education::create(dir, config.as_of)?;
    let mut nursery = nursery::Nursery::create(dir)?;
    let mut consultation = consultation::Consultation::create(dir)?;
    let mut population = PopulationStats::default();

    for i in 0..config.households {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(i);
        let mut aux = ChaCha8Rng::seed_from_u64(config.seed ^ AUX_STREAM);
        aux.set_stream(i);
        let h = population::draw_household(&mut rng, &mut aux, i, config.as_of);
        population.persons += h.members.len() as u64;
        population.children += h.children().count() as u64;
        population.births += h.children().count() as u64 - u64::from(h.twin_pairs);
        population.twin_pairs += u64::from(h.twin_pairs);
        population.outside_registry_households += u64::from(h.outside_registry);
        population.moved_within_households += u64::from(h.previous_address.is_some());
        population.surname_changed_persons += h.members.iter().filter(|p| p.former_family.is_some()).count() as u64;
        population.pregnancies += u64::from(h.pregnancy.is_some());

        let mut ctx = Context { rates: &config.noise, stats: &mut stats, truth: &mut truth, as_of: config.as_of };
        registry.household(&mut ctx, &mut rng, &h)?;
        welfare.household(&mut ctx, &mut rng, &h)?;
        health.household(&mut ctx, &mut rng, &h)?;
        education.household(&mut ctx, &mut rng, &h)?;
        nursery.household(&mut ctx, &mut rng, &h)?;
        consultation.household(&mut ctx, &mut rng, &h)?;
        truth.outcomes(&h)?;
        if (i + 1) % 256 == 0 {
            progress(i + 1);
        }
    }
    progress(config.households);

    let mut records_by_department = BTreeMap::new();
    for w in [&mut registry.w, &mut welfare.w, &mut health.w, &mut education.w, &mut nursery.w, &mut consultation.w] {
        w.finish()?;
        records_by_department.insert(w.department.to_string(), w.rows);
    }
    let gaiji_lost = welfare.w.lost_characters() + health.w.lost_characters();
    let records = truth.records;
    truth.finish()?;

    let summary =
        Summary { config: config.clone(), records, records_by_department, gaiji_lost, population, noise: stats };
    let path = dir.join("synth.json");
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| SynthError::io(&path, e.into()))?;
    fs::write(&path, json).map_err(|e| SynthError::io(&path, e))?;
    Ok(summary)
}
