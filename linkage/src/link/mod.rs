//! Probabilistic record linkage of pseudonymised extracts: blocking on tokens as DataFusion
//! joins, comparison vectors over tokens and Bloom encodings, a Fellegi–Sunter model (u from
//! random pairs, m and λ by EM over pattern counts, term-frequency adjustment), a threshold from
//! the model's own estimate of F1, persons by constrained clustering, and households.
//!
//! [`link`] reads `WS/extracts/*/` and writes the contract outputs into a folder the caller
//! stages: `persons.parquet`, `households.parquet`, `pairs.parquet`, `review.parquet`,
//! `model.json`, `quality.json`. Nothing it writes or reports holds a key or a plaintext value.

mod blocking;
mod cluster;
pub mod config;
mod fields;
mod lsh;
mod one_to_one;
mod output;
pub mod quality;
mod records;
mod score;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

pub use blocking::RuleReport;
pub use cluster::{ClusterStats, HouseholdStats};
pub use config::LinkConfig;
pub use lsh::LshReport;
pub use records::manifests;
pub use score::{Expected, ModelReport};

/// Files written into the output folder.
pub const PERSONS_FILE: &str = "persons.parquet";
pub const HOUSEHOLDS_FILE: &str = "households.parquet";
pub const PAIRS_FILE: &str = "pairs.parquet";
pub const REVIEW_FILE: &str = "review.parquet";
pub const MODEL_FILE: &str = "model.json";
pub const QUALITY_FILE: &str = "quality.json";

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot read the extracts in {dir}: {message}")]
    NoExtracts { dir: PathBuf, message: String },
    #[error("{path}: {message}")]
    Extract { path: PathBuf, message: String },
    #[error(
        "extracts `{first}` and `{other}` differ in their {what}: they were pseudonymised with different settings and cannot be linked; re-run `mimamori pseudonymise` for one of them with the shared linkage key and defaults"
    )]
    Mismatch { what: String, first: String, other: String },
    #[error("the extract of `{department}` has no records; remove its folder or pseudonymise a non-empty extract")]
    EmptyExtract { department: String },
    #[error("{records} records are more than one linkage run handles (2^31)")]
    TooLarge { records: u64 },
    #[error("no blocking rule applies to these extracts (rules: {}); name token columns they have in [linkage] blocking", rules.join(", "))]
    NoRules { rules: Vec<String> },
    #[error(
        "blocking rule `{rule}` would produce {pairs} candidate pairs (limit {limit}); its largest key groups hold {largest:?} records. Add a column to the rule (e.g. tok_sex or tok_birth_year) so groups are smaller, or raise max_pairs_per_rule in [linkage]"
    )]
    RuleExplodes { rule: String, pairs: u64, limit: u64, largest: Vec<u64> },
    #[error(
        "blocking found no candidate pairs: no two records agree on any rule's columns. Check that the extracts were pseudonymised with the same linkage key and that the rules name columns they share"
    )]
    NoPairs,
    #[error("query engine: {0}")]
    Engine(String),
    #[error("model: {0}")]
    Model(String),
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
}

/// A step of the run, for progress display.
#[derive(Clone, Debug)]
pub enum Event {
    Stage(String),
    Rule(RuleReport),
}

#[derive(Clone, Debug, Serialize)]
pub struct DepartmentInfo {
    pub name: String,
    pub records: u64,
    /// Whether its records were treated as distinct persons.
    pub distinct_persons: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct TruthScores {
    /// Records of the workspace found in the truth file.
    pub records_covered: u64,
    pub persons: quality::Scores,
    pub households: quality::Scores,
}

/// quality.json.
#[derive(Clone, Debug, Serialize)]
pub struct Quality {
    pub records: u64,
    pub departments: Vec<DepartmentInfo>,
    pub blocking: Vec<RuleReport>,
    pub candidate_pairs: u64,
    pub pairs_written: u64,
    /// The model's own expectation at the threshold (no truth needed).
    pub expected: Expected,
    pub persons: ClusterStats,
    pub households: HouseholdStats,
    /// (lower edge of a 1-wide match-weight bin, pairs in it)
    pub weight_histogram: Vec<(i32, u64)>,
    pub review_pairs: u64,
    pub seconds: Vec<(String, f64)>,
    pub truth: Option<TruthScores>,
}

/// Truth per record (evaluation only): (true person, true household) of a department's record.
pub type Truth<'a> = &'a dyn Fn(&str, &[u8; 16]) -> Option<(u64, u64)>;

/// Links every extract of `workspace` into `out` (an existing, empty folder).
pub fn link(
    workspace: &Path,
    config: &LinkConfig,
    out: &Path,
    truth: Option<Truth>,
    observe: &mut dyn FnMut(Event),
) -> Result<Quality, LinkError> {
    let mut seconds = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |name: &str, seconds: &mut Vec<(String, f64)>| {
        seconds.push((name.to_string(), clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    };

    observe(Event::Stage("reading extracts".into()));
    let found = records::manifests(workspace)?;
    let records = records::load(found)?;
    lap("read", &mut seconds);

    // departments whose records are distinct persons
    let distinct: Vec<bool> = records
        .departments
        .iter()
        .map(|d| match &config.distinct_within {
            Some(list) => list.contains(&d.name),
            None => resident_numbers_unique(&records, d),
        })
        .collect();
    let distinct_mask: u64 =
        distinct.iter().enumerate().filter(|(i, d)| **d && *i < 64).fold(0, |m, (i, _)| m | (1u64 << i));
    let department_of = &records.department_of;
    let keep = move |a: u32, b: u32| {
        let (da, db) = (department_of[a as usize], department_of[b as usize]);
        !(da == db && da < 64 && distinct_mask & (1 << da) != 0)
    };

    observe(Event::Stage("blocking".into()));
    let mut notify = |r: &RuleReport| observe(Event::Rule(r.clone()));
    let limits = blocking::Limits {
        max_pairs_per_rule: config.max_pairs_per_rule,
        leave_out_exploding: config.blocking_is_default(),
        memory_limit_mib: config.memory_limit_mib,
        distinct_departments: distinct_mask,
    };
    let candidates = blocking::block(&records, &config.blocking, limits, &mut notify)?;
    if candidates.pairs.is_empty() {
        return Err(LinkError::NoPairs);
    }
    lap("blocking", &mut seconds);

    observe(Event::Stage(format!("comparing {} candidate pairs", candidates.pairs.len())));
    let comparator = fields::Comparator::new(&records, config.seed, &config.exclude_fields);
    let gammas = score::gammas(&comparator, &candidates.pairs);
    lap("comparisons", &mut seconds);

    observe(Event::Stage("estimating the model (u from random pairs, m and λ by EM)".into()));
    let u = score::estimate_u(&comparator, &records, config.u_sample_pairs, config.seed, &keep);
    let household_fields = score::household_level(&comparator, &gammas, &u);
    let mask = household_fields.iter().fold(0u64, |m, f| m | (fields::UNKNOWN << (4 * f)));
    let gammas: Vec<u64> = if mask == 0 { gammas } else { gammas.into_iter().map(|g| g | mask).collect() };
    let comparable = comparable_pairs(&records, &distinct);
    let model = score::fit(&comparator, &records, &candidates, &gammas, u, comparable, config.em_max_iterations)?;
    let base = model.weights(&comparator, &records, &candidates.pairs, &gammas);
    let (one_to_one, weights, probabilities, expected) =
        finish_weights(config, &records, &candidates.pairs, &base, model.parameters.lambda, &distinct);
    let mut scored = Scored { candidates, gammas, base, one_to_one, weights, probabilities, expected };
    lap("model", &mut seconds);

    // residual blocking for the records the rules' pairs left without a partner
    let fields = lsh::usable_fields(&records, &config.lsh_fields);
    if config.lsh_bands > 0 && !fields.is_empty() {
        observe(Event::Stage("residual blocking (LSH on Bloom encodings) for records without a partner".into()));
        let context =
            Residual { config, records: &records, comparator: &comparator, model: &model, mask, distinct: &distinct };
        let report = context.add_pairs(&fields, distinct_mask, &mut scored);
        observe(Event::Rule(report.clone()));
        scored.candidates.reports.push(report);
        lap("residual blocking", &mut seconds);
    }
    let Scored { candidates, gammas, one_to_one, weights, probabilities, expected, .. } = scored;
    let basis = if config.threshold.is_some() {
        "set in [linkage] threshold"
    } else {
        "maximises the model's expected F1 over the candidate pairs"
    };

    observe(Event::Stage("clustering persons and households".into()));
    let constraints = cluster::Constraints {
        distinct_departments: distinct_mask,
        resident_id: if config.resident_id_distinct { records.token("tok_resident_id") } else { None },
    };
    let (person_of, person_stats) =
        cluster::persons(&records, &candidates.pairs, &probabilities, expected.threshold, &constraints);
    let (household_of_person, basis_of_person, household_stats) =
        cluster::households(&records, &person_of, person_stats.persons);
    lap("clustering", &mut seconds);

    observe(Event::Stage("writing outputs".into()));
    let mut report = model.report(&comparator, config.u_sample_pairs, expected.threshold, basis);
    report.household_level_fields = household_fields.iter().map(|f| comparator.fields[*f].name.clone()).collect();
    report.one_to_one_shares = one_to_one.shares;
    let written = output::write_all(
        out,
        &output::Outputs {
            records: &records,
            comparator: &comparator,
            candidates: &candidates,
            gammas: &gammas,
            weights: &weights,
            one_to_one: &one_to_one.weights,
            probabilities: &probabilities,
            person_of: &person_of,
            household_of_person: &household_of_person,
            basis_of_person: &basis_of_person,
            model: &report,
            config,
            threshold: expected.threshold,
        },
    )?;
    lap("write", &mut seconds);

    let truth = truth.map(|t| {
        let mut persons = Vec::new();
        let mut households = Vec::new();
        for (rid, &p) in person_of.iter().enumerate() {
            let dept = &records.departments[records.department_of[rid] as usize].name;
            if let Some((tp, th)) = t(dept, &records.record_ref[rid]) {
                persons.push((p, tp));
                households.push((household_of_person[(p - 1) as usize], th));
            }
        }
        TruthScores {
            records_covered: persons.len() as u64,
            persons: quality::score(&persons),
            households: quality::score(&households),
        }
    });

    let mut histogram = std::collections::BTreeMap::new();
    for w in &weights {
        *histogram.entry(w.floor().clamp(-60.0, 80.0) as i32).or_insert(0u64) += 1;
    }
    let quality = Quality {
        records: records.len() as u64,
        departments: records
            .departments
            .iter()
            .zip(&distinct)
            .map(|(d, x)| DepartmentInfo { name: d.name.clone(), records: d.rows as u64, distinct_persons: *x })
            .collect(),
        blocking: candidates.reports.clone(),
        candidate_pairs: candidates.pairs.len() as u64,
        pairs_written: written.pairs,
        expected,
        persons: person_stats,
        households: household_stats,
        weight_histogram: histogram.into_iter().collect(),
        review_pairs: written.review,
        seconds,
        truth,
    };
    output::write_json(&out.join(QUALITY_FILE), &quality)?;
    Ok(quality)
}

/// The candidate pairs as scored so far: comparison vectors, weights before and after the
/// one-to-one adjustment, probabilities and the threshold.
struct Scored {
    candidates: blocking::Candidates,
    gammas: Vec<u64>,
    /// Weights before the one-to-one adjustment.
    base: Vec<f32>,
    one_to_one: one_to_one::Adjustments,
    weights: Vec<f32>,
    probabilities: Vec<f64>,
    expected: Expected,
}

/// What the residual step (step 7 of docs/linkage.md) reads: the first model and its fields.
struct Residual<'a> {
    config: &'a LinkConfig,
    records: &'a records::Records,
    comparator: &'a fields::Comparator<'a>,
    model: &'a score::Model,
    /// Household-level fields, unknown in every γ.
    mask: u64,
    distinct: &'a [bool],
}

impl Residual<'_> {
    /// Looks, by Hamming LSH on the Bloom `fields`, for partners of every record the first
    /// model left without a pair at or above its threshold; adds the new pairs to `s`, weighed by
    /// the same model (the threshold is chosen again), and returns the step's blocking report.
    fn add_pairs(&self, fields: &[String], distinct_mask: u64, s: &mut Scored) -> RuleReport {
        let (config, records) = (self.config, self.records);
        // per record: its own distinct-persons department and those it has a partner in
        let distinct_bit: Vec<u64> = records
            .department_of
            .iter()
            .map(|&d| if d < 64 && distinct_mask & (1 << d) != 0 { 1u64 << d } else { 0 })
            .collect();
        let mut closed = distinct_bit.clone();
        let mut linked = vec![false; records.len()];
        for (p, pr) in s.candidates.pairs.iter().zip(&s.probabilities) {
            if *pr >= s.expected.threshold {
                let (a, b) = ((p >> 32) as usize, (*p as u32) as usize);
                linked[a] = true;
                linked[b] = true;
                closed[a] |= distinct_bit[b];
                closed[b] |= distinct_bit[a];
            }
        }
        let residual: Vec<bool> = linked.iter().map(|l| !l).collect();
        let (found, lsh_report) = lsh::residual_pairs(
            records,
            fields,
            config.lsh_bands,
            config.lsh_pairs_per_record,
            &residual,
            &lsh::Closed { closed: &closed, distinct_bit: &distinct_bit },
            config.seed,
        );
        // the pairs the rules already hold that touch a residual record: the only ones LSH can repeat
        let mut known: Vec<u64> = s
            .candidates
            .pairs
            .iter()
            .filter(|p| residual[(*p >> 32) as usize] || residual[(**p as u32) as usize])
            .copied()
            .collect();
        known.sort_unstable();
        let added: Vec<u64> = found.iter().filter(|p| known.binary_search(p).is_err()).copied().collect();
        let report = RuleReport {
            columns: vec![format!("lsh:{}", fields.join("+"))],
            records_with_key: lsh_report.residual_records,
            pairs: found.len() as u64,
            pairs_a_year_apart: 0,
            new_pairs: added.len() as u64,
            largest_groups: Vec::new(),
            skipped: None,
            lsh: Some(lsh_report),
        };
        if added.is_empty() {
            return report;
        }
        let new_gammas: Vec<u64> = score::gammas(self.comparator, &added).into_iter().map(|g| g | self.mask).collect();
        s.base.extend(self.model.weights(self.comparator, records, &added, &new_gammas));
        s.gammas.extend(new_gammas);
        s.candidates.rule.extend(std::iter::repeat_n(s.candidates.reports.len() as u8, added.len()));
        s.candidates.pairs.extend(added);
        if s.one_to_one.shares.is_empty() {
            // no one-to-one adjustment applies: the earlier pairs keep their weights
            let added_base = &s.base[s.weights.len()..];
            s.probabilities.extend(added_base.iter().map(|w| score::probability(*w)));
            s.weights.extend_from_slice(added_base);
            s.one_to_one.weights.resize(s.weights.len(), 0.0);
            s.expected = score::choose_threshold(&s.probabilities, config.threshold);
        } else {
            (s.one_to_one, s.weights, s.probabilities, s.expected) = finish_weights(
                config,
                records,
                &s.candidates.pairs,
                &s.base,
                self.model.parameters.lambda,
                self.distinct,
            );
        }
        report
    }
}

/// Weights with the one-to-one adjustment, their probabilities and the threshold.
fn finish_weights(
    config: &LinkConfig,
    records: &records::Records,
    pairs: &[u64],
    base: &[f32],
    lambda: f64,
    distinct: &[bool],
) -> (one_to_one::Adjustments, Vec<f32>, Vec<f64>, Expected) {
    let one_to_one = if config.one_to_one {
        one_to_one::adjustments(&records.departments, &records.department_of, pairs, base, lambda, distinct)
    } else {
        one_to_one::Adjustments { weights: vec![0.0; base.len()], shares: Vec::new() }
    };
    let weights: Vec<f32> = base.iter().zip(&one_to_one.weights).map(|(w, a)| w + a).collect();
    let probabilities: Vec<f64> = weights.iter().map(|w| score::probability(*w)).collect();
    let expected = score::choose_threshold(&probabilities, config.threshold);
    (one_to_one, weights, probabilities, expected)
}

/// Record pairs that may be the same person: all pairs but those within a distinct-persons
/// department.
fn comparable_pairs(records: &records::Records, distinct: &[bool]) -> f64 {
    let n = records.len() as f64;
    let within: f64 = records
        .departments
        .iter()
        .zip(distinct)
        .filter(|(_, d)| **d)
        .map(|(d, _)| d.rows as f64 * (d.rows as f64 - 1.0) / 2.0)
        .sum();
    n * (n - 1.0) / 2.0 - within
}

/// A department's records are distinct persons when each carries a resident number and none
/// repeats (a resident registry has one record per person).
fn resident_numbers_unique(records: &records::Records, d: &records::Department) -> bool {
    let Some(col) = records.token("tok_resident_id") else { return false };
    let slice = &col[d.start as usize..(d.start + d.rows) as usize];
    if slice.contains(&0) {
        return false;
    }
    let mut v = slice.to_vec();
    v.sort_unstable();
    v.windows(2).all(|w| w[0] != w[1])
}
