//! Scoring and outreach over a workspace: the files under `<ws>/risk/`, labels, list state and
//! approvals. The numerical work is in the `risk-model` crate; this module reads and writes the
//! workspace and goes through the gate and the audit log.
//!
//! ```text
//! <ws>/risk/features.parquet     one row per child: person_id, household_id, district, one flag per indicator
//! <ws>/risk/scores.parquet       one row per child: probability, scorecard points, fold, known case
//! <ws>/risk/households.json      household scores with reasons and suggested supports
//! <ws>/risk/model.json           indicators (with digests), coefficients, calibration, λ grid
//! <ws>/risk/evaluation.json      out-of-fold AUC, precision at list sizes, calibration, fairness
//! <ws>/risk/labels.parquet       person_id, need: labelled outcomes (optional)
//! <ws>/risk/outcomes.jsonl       what caseworkers recorded (feeds the next scoring)
//! <ws>/risk/outreach/<district>.parquet + <district>.json   the list and its state
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow_array::{
    Array, ArrayRef, BooleanArray, FixedSizeBinaryArray, Float64Array, RecordBatch, StringArray, UInt32Array,
    UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use risk_model::outreach::HouseholdScore;
use serde::{Deserialize, Serialize};

use crate::staging::write_atomically;

pub const DIR: &str = "risk";
pub const LABELS_FILE: &str = "labels.parquet";
pub const OUTCOMES_FILE: &str = "outcomes.jsonl";
pub const HOUSEHOLDS_FILE: &str = "households.json";
pub const MODEL_FILE: &str = "model.json";
pub const EVALUATION_FILE: &str = "evaluation.json";

pub fn dir(workspace: &Path) -> PathBuf {
    workspace.join(DIR)
}

pub fn outreach_dir(workspace: &Path) -> PathBuf {
    dir(workspace).join("outreach")
}

/// Writes one record batch as Parquet, atomically.
pub fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<()> {
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), None)?;
    w.write(batch)?;
    w.close()?;
    write_atomically(path, &buf)
}

/// Reads every batch of Parquet bytes (already read and, where it matters, hashed).
pub fn parse_parquet(bytes: Vec<u8>, path: &Path) -> Result<Vec<RecordBatch>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .with_context(|| format!("{} is not a Parquet file", path.display()))?
        .build()?;
    reader.collect::<Result<Vec<_>, _>>().with_context(|| format!("cannot read {}", path.display()))
}

/// Reads every batch of a Parquet file.
pub fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>> {
    let f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .with_context(|| format!("{} is not a Parquet file", path.display()))?
        .build()?;
    reader.collect::<Result<Vec<_>, _>>().with_context(|| format!("cannot read {}", path.display()))
}

fn column<'a, T: 'static>(b: &'a RecordBatch, name: &str, path: &Path) -> Result<&'a T> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .with_context(|| format!("{}: no column {name} of the expected type", path.display()))
}

/// A text column as plain Utf8, whatever its Parquet encoding (dictionary, view, large).
fn strings(b: &RecordBatch, name: &str, path: &Path) -> Result<StringArray> {
    let c = b.column_by_name(name).with_context(|| format!("{}: no column {name}", path.display()))?;
    let c = arrow_cast::cast(c, &DataType::Utf8)
        .with_context(|| format!("{}: column {name} is not text", path.display()))?;
    c.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .with_context(|| format!("{}: column {name} is not text", path.display()))
}

/// What a caseworker found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Support was needed (確認: 支援が必要).
    Confirmed,
    /// No support needed (支援不要).
    NoNeed,
    /// Already supported elsewhere (既に支援中).
    AlreadySupported,
    /// Could not be reached (不在・連絡不能): no label.
    Unreachable,
}

impl Outcome {
    /// The label the outcome gives each child of the household.
    pub fn label(self) -> Option<bool> {
        match self {
            Outcome::Confirmed | Outcome::AlreadySupported => Some(true),
            Outcome::NoNeed => Some(false),
            Outcome::Unreachable => None,
        }
    }

    pub fn japanese(self) -> &'static str {
        match self {
            Outcome::Confirmed => "支援が必要と確認",
            Outcome::NoNeed => "支援不要",
            Outcome::AlreadySupported => "既に支援中",
            Outcome::Unreachable => "連絡がとれない",
        }
    }
}

/// One recorded outcome (`outcomes.jsonl`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordedOutcome {
    /// The household id under the linkage it was recorded in (for reading only: labels follow
    /// `records`, which survive a re-linkage).
    pub household_id: u64,
    /// The household's records when the outcome was recorded, as `department:record_ref(hex)`.
    pub records: Vec<String>,
    pub outcome: Outcome,
    pub list_id: String,
    pub user: String,
    pub time: String,
    /// The caseworker's note stays with the caseworker: only whether one was written is kept.
    pub noted: bool,
}

pub fn read_outcomes(workspace: &Path) -> Result<Vec<RecordedOutcome>> {
    let path = dir(workspace).join(OUTCOMES_FILE);
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line.trim_end()) {
            Ok(o) => out.push(o),
            // a last line cut short by a crash while it was written was never recorded
            Err(_) if i + 1 == lines.len() && !line.ends_with('\n') => {}
            Err(e) => bail!("{}:{}: not a recorded outcome: {e}", path.display(), i + 1),
        }
    }
    Ok(out)
}

pub fn append_outcome(workspace: &Path, o: &RecordedOutcome) -> Result<()> {
    use std::io::Write;
    let path = dir(workspace).join(OUTCOMES_FILE);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.lock().with_context(|| format!("cannot lock {}", path.display()))?;
    // a line cut short by a crash was never recorded: drop it before appending
    let text = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if text.last().is_some_and(|b| *b != b'\n') {
        let keep = text.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
        f.set_len(keep as u64)?;
    }
    let mut line = serde_json::to_string(o)?;
    line.push('\n');
    f.write_all(line.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Where the labels of a scoring came from.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LabelSources {
    /// Children labelled by `labels.parquet`.
    pub labels_file: usize,
    /// Children labelled (or relabelled) by outcomes caseworkers recorded.
    pub recorded_outcomes: usize,
    pub positives: usize,
    pub negatives: usize,
}

/// One row of `linked/persons.parquet`.
pub struct LinkedRecord {
    pub department: String,
    pub record_ref: [u8; 16],
    pub person_id: u64,
    pub household_id: u64,
}

impl LinkedRecord {
    /// `department:record_ref` in hex: how outcomes name a record.
    pub fn key(&self) -> String {
        record_key(&self.department, &self.record_ref)
    }
}

pub fn record_key(department: &str, record_ref: &[u8; 16]) -> String {
    let hex: String = record_ref.iter().map(|b| format!("{b:02x}")).collect();
    format!("{department}:{hex}")
}

/// Every record of the last linkage with its person and household.
pub fn linked_records(workspace: &Path) -> Result<Vec<LinkedRecord>> {
    Ok(linked_records_with_digest(workspace)?.0)
}

/// The records of the last linkage and the digest of the very bytes they were read from.
pub fn linked_records_with_digest(workspace: &Path) -> Result<(Vec<LinkedRecord>, String)> {
    let path = workspace.join("linked").join(linkage::link::PERSONS_FILE);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let digest = blake3::hash(&bytes).to_hex().to_string();
    let mut out = Vec::new();
    for b in parse_parquet(bytes, &path)? {
        let d = strings(&b, "department", &path)?;
        let r = column::<FixedSizeBinaryArray>(&b, "record_ref", &path)?;
        let p = column::<UInt64Array>(&b, "person_id", &path)?;
        let h = column::<UInt64Array>(&b, "household_id", &path)?;
        for i in 0..b.num_rows() {
            let mut rf = [0u8; 16];
            rf.copy_from_slice(r.value(i));
            out.push(LinkedRecord {
                department: d.value(i).to_string(),
                record_ref: rf,
                person_id: p.value(i),
                household_id: h.value(i),
            });
        }
    }
    Ok((out, digest))
}

/// The digest of the last linkage (`linked/persons.parquet`): lists, scores and approvals hold
/// only for the linkage they were made under.
pub fn linkage_digest(workspace: &Path) -> Result<String> {
    let path = workspace.join("linked").join(linkage::link::PERSONS_FILE);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(blake3::hash(&bytes).to_hex().to_string())
}

/// The label of each child, from its records (labels and outcomes are kept per record, so they
/// follow the records through a re-linkage): the outcomes caseworkers recorded for a household
/// its records were in (the latest wins; `unreachable` gives none), else `labels.parquet`
/// (`department, record_ref, need`; a child whose records disagree counts as needing support).
/// Also returns the digest of the linkage the labels were mapped through.
pub fn load_labels(
    workspace: &Path,
    children: &[risk_model::features::Child],
) -> Result<(Vec<Option<bool>>, LabelSources, String)> {
    let mut by_record: HashMap<String, bool> = HashMap::new();
    let path = dir(workspace).join(LABELS_FILE);
    if path.is_file() {
        for b in read_parquet(&path)? {
            let d = strings(&b, "department", &path)?;
            let r = column::<FixedSizeBinaryArray>(&b, "record_ref", &path)?;
            let n = column::<BooleanArray>(&b, "need", &path)?;
            for i in 0..b.num_rows() {
                if !d.is_null(i) && !r.is_null(i) && !n.is_null(i) {
                    let mut rf = [0u8; 16];
                    rf.copy_from_slice(r.value(i));
                    by_record.insert(record_key(d.value(i), &rf), n.value(i));
                }
            }
        }
    }
    let mut outcome_of: HashMap<String, Option<bool>> = HashMap::new();
    for o in read_outcomes(workspace)? {
        for r in &o.records {
            outcome_of.insert(r.clone(), o.outcome.label());
        }
    }
    let mut records_of: HashMap<u64, Vec<String>> = HashMap::new();
    let (linked, digest) = linked_records_with_digest(workspace)?;
    for r in linked {
        records_of.entry(r.person_id).or_default().push(r.key());
    }
    let mut src = LabelSources::default();
    let labels: Vec<Option<bool>> = children
        .iter()
        .map(|c| {
            let keys = records_of.get(&c.person_id).map(Vec::as_slice).unwrap_or_default();
            let recorded: Vec<Option<bool>> = keys.iter().filter_map(|k| outcome_of.get(k).copied()).collect();
            let l = if !recorded.is_empty() {
                src.recorded_outcomes += 1;
                recorded.iter().flatten().copied().reduce(|a, b| a || b)
            } else {
                let given: Vec<bool> = keys.iter().filter_map(|k| by_record.get(k).copied()).collect();
                if given.is_empty() {
                    None
                } else {
                    src.labels_file += 1;
                    Some(given.iter().any(|x| *x))
                }
            };
            match l {
                Some(true) => src.positives += 1,
                Some(false) => src.negatives += 1,
                None => {}
            }
            l
        })
        .collect();
    Ok((labels, src, digest))
}

/// The demo's labelled outcomes: whether a child has a need that support has not yet met —
/// maltreatment risk, school refusal, or poverty in a household not on 生活保護 (a household on
/// 生活保護 has its welfare caseworker already; its other needs still count) — from the
/// synthetic municipality's latent state, mapped through the custodians' vaults to the
/// workspace's records (an evaluation step at the custodians; no identifier enters the
/// workspace, only `department, record_ref, need`).
pub fn write_labels_from_truth(workspace: &Path, truth_dir: &Path, vault_dir: &Path) -> Result<usize> {
    // true person of each record
    let truth = super::verbs::truth_persons(workspace, &truth_dir.join("truth.csv"), vault_dir)?;
    let outcomes_path = truth_dir.join("outcomes.csv");
    let mut reader =
        csv::Reader::from_path(&outcomes_path).with_context(|| format!("cannot read {}", outcomes_path.display()))?;
    let headers = reader.headers()?.clone();
    let col = |n: &str| {
        headers.iter().position(|h| h == n).with_context(|| format!("{}:1: no `{n}` column", outcomes_path.display()))
    };
    let (p, pov, mal, sch) = (col("person_id")?, col("poverty")?, col("maltreatment_risk")?, col("school_refusal")?);
    let assisted = col("public_assistance")?;
    let mut need: HashMap<String, bool> = HashMap::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.with_context(|| format!("{}:{}: not a CSV row", outcomes_path.display(), i + 2))?;
        let unmet_poverty = row[pov] == *"1" && row[assisted] != *"1";
        need.insert(row[p].to_string(), unmet_poverty || row[mal] == *"1" || row[sch] == *"1");
    }
    // one label per record of a child the truth knows (custodians' evaluation step)
    let mut depts = Vec::new();
    let mut refs: Vec<[u8; 16]> = Vec::new();
    let mut needs = Vec::new();
    for r in linked_records(workspace)? {
        if let Some(n) = truth.get(&(r.department.clone(), r.record_ref)).and_then(|t| need.get(t)) {
            depts.push(r.department);
            refs.push(r.record_ref);
            needs.push(*n);
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("department", DataType::Utf8, false),
        Field::new("record_ref", DataType::FixedSizeBinary(16), false),
        Field::new("need", DataType::Boolean, false),
    ]));
    let n = refs.len();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(depts)) as ArrayRef,
            Arc::new(FixedSizeBinaryArray::try_from_iter(refs.iter())?),
            Arc::new(BooleanArray::from(needs)),
        ],
    )?;
    std::fs::create_dir_all(dir(workspace))?;
    write_parquet(&dir(workspace).join(LABELS_FILE), &batch)?;
    Ok(n)
}

/// A household score with what the fairness audit needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredHousehold {
    #[serde(flatten)]
    pub score: HouseholdScore,
    /// The household is positive when a child of it is labelled as needing support.
    pub label: Option<bool>,
    /// The fairness groups it belongs to.
    pub groups: Vec<String>,
}

/// `households.json`: the scoring's household scores.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredScores {
    /// `model`, or `scorecard` when too few outcomes were labelled to fit and calibrate one.
    pub ranking: String,
    pub as_of: String,
    pub created: String,
    pub model_digest: String,
    /// The linkage scored (digest of linked/persons.parquet).
    pub linkage_digest: String,
    /// Fairness groups: indicator name → label.
    pub groups: BTreeMap<String, String>,
    /// Indicators not available in this workspace, with why.
    pub unavailable: Vec<(String, String)>,
    pub households: Vec<StoredHousehold>,
}

pub fn read_scores(workspace: &Path) -> Result<StoredScores> {
    let path = dir(workspace).join(HOUSEHOLDS_FILE);
    if !path.is_file() {
        bail!(
            "{} does not exist; run `mimamori score --workspace {} --user U --purpose P` first",
            path.display(),
            workspace.display()
        );
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a scoring of mimamori", path.display()))
}

/// One reviewer's approval.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Approval {
    pub reviewer: String,
    pub time: String,
    /// The reason given to approve despite a fairness disparity.
    pub fairness_override: Option<String>,
}

/// One reviewer's rejection: the list can no longer be approved or re-identified.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Rejection {
    pub reviewer: String,
    pub time: String,
    pub reason: String,
}

/// The state of one district's list (`outreach/<district>.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListState {
    pub list_id: String,
    pub district: String,
    pub district_name: String,
    pub created: String,
    pub created_by: String,
    pub purpose: String,
    pub as_of: String,
    pub capacity: usize,
    pub listed: usize,
    pub known_cases: usize,
    pub beyond_capacity: usize,
    pub min_probability: f64,
    /// How the list was ranked: `model` (calibrated probability) or `scorecard` (no labels yet).
    pub ranking: String,
    /// blake3 of the list's Parquet file: approvals hold for exactly this content.
    pub parquet_blake3: String,
    pub model_digest: String,
    /// The linkage the list's household ids belong to; re-identification and recorded outcomes
    /// are refused once `mimamori link` has run again.
    pub linkage_digest: String,
    pub fairness: Vec<risk_model::fairness::GroupRow>,
    pub disparities: Vec<String>,
    pub unavailable_indicators: Vec<(String, String)>,
    pub approvals: Vec<Approval>,
    #[serde(default)]
    pub rejections: Vec<Rejection>,
}

/// Approvals needed, by distinct reviewers.
pub const APPROVALS_NEEDED: usize = 2;

/// The reviewers whose approvals of exactly this list (content and linkage) the hash-chained
/// audit log holds; the state file's approvals are a convenience copy, never trusted alone. The
/// whole chain is verified first. With disparities, only approvals that state an override count.
pub fn approvals_in_audit_log(workspace: &Path, state: &ListState) -> Result<Vec<String>> {
    let entries =
        crate::audit::verify(workspace).context("the audit log does not verify; approvals cannot be checked")?;
    Ok(approvals_in(&entries, state))
}

/// As [`approvals_in_audit_log`], over entries of a chain verified already.
pub fn approvals_in(entries: &[crate::audit::Entry], state: &ListState) -> Vec<String> {
    let resource = format!("outreach list {}", state.list_id);
    let mut reviewers: Vec<String> = entries
        .iter()
        .filter(|e| e.action == "approve" && e.decision == crate::audit::Decision::Allow && e.resource == resource)
        .filter(|e| e.detail.get("error").is_none())
        .filter(|e| {
            e.detail["parquet_blake3"] == state.parquet_blake3.as_str()
                && e.detail["linkage_digest"] == state.linkage_digest.as_str()
        })
        .filter(|e| state.disparities.is_empty() || e.detail["fairness_override"].is_string())
        .map(|e| e.user.clone())
        .collect();
    reviewers.sort();
    reviewers.dedup();
    reviewers
}

/// Whether `e` is an entry the approval checks read (approvals and rejections).
pub fn is_review_entry(e: &crate::audit::Entry) -> bool {
    e.action == "approve" || e.action == "reject"
}

/// Whether the verified audit log `entries` holds a reviewer's rejection of exactly this list.
pub fn rejected_in(entries: &[crate::audit::Entry], state: &ListState) -> bool {
    let resource = format!("outreach list {}", state.list_id);
    entries.iter().any(|e| {
        e.action == "reject"
            && e.decision == crate::audit::Decision::Allow
            && e.resource == resource
            && e.detail.get("error").is_none()
            && e.detail["parquet_blake3"] == state.parquet_blake3.as_str()
    })
}

impl ListState {
    pub fn approved(&self) -> bool {
        let distinct: HashSet<&str> = self.approvals.iter().map(|a| a.reviewer.as_str()).collect();
        self.rejections.is_empty()
            && distinct.len() >= APPROVALS_NEEDED
            && (self.disparities.is_empty() || self.approvals.iter().all(|a| a.fairness_override.is_some()))
    }

    pub fn status(&self) -> &'static str {
        if !self.rejections.is_empty() {
            "rejected"
        } else if self.approved() {
            "approved"
        } else {
            "awaiting approval"
        }
    }
}

/// Holds the lists' lock while alive: building lists and approving them read, change and write
/// their state; two reviewers approving at once must not lose an approval.
pub struct ListsLock {
    _file: File,
}

pub fn lock_lists(workspace: &Path) -> Result<ListsLock> {
    let d = outreach_dir(workspace);
    std::fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
    let path = d.join(".lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    f.lock().with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(ListsLock { _file: f })
}

pub fn list_paths(workspace: &Path, district: &str) -> (PathBuf, PathBuf) {
    let d = outreach_dir(workspace);
    (d.join(format!("{district}.parquet")), d.join(format!("{district}.json")))
}

/// Every list of the workspace.
pub fn read_lists(workspace: &Path) -> Result<Vec<ListState>> {
    let d = outreach_dir(workspace);
    let mut out = Vec::new();
    if !d.is_dir() {
        return Ok(out);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&d)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for p in files {
        let text = std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
        out.push(
            serde_json::from_str(&text).with_context(|| format!("{} is not an outreach list state", p.display()))?,
        );
    }
    Ok(out)
}

/// Finds a list by id with its rows, parsed from the very bytes whose digest was checked.
pub fn find_list_rows(workspace: &Path, list_id: &str) -> Result<(ListState, Vec<ListRow>)> {
    let state = find_list(workspace, list_id)?;
    let (parquet, _) = list_paths(workspace, &state.district);
    let bytes = std::fs::read(&parquet).with_context(|| format!("cannot read {}", parquet.display()))?;
    if blake3::hash(&bytes).to_hex().to_string() != state.parquet_blake3 {
        bail!("{} changed while it was read; try again", parquet.display());
    }
    let rows = rows_of(parse_parquet(bytes, &parquet)?, &parquet)?;
    Ok((state, rows))
}

/// Finds a list by id; its Parquet file must still hold exactly what was listed.
pub fn find_list(workspace: &Path, list_id: &str) -> Result<ListState> {
    let lists = read_lists(workspace)?;
    let Some(state) = lists.into_iter().find(|l| l.list_id == list_id) else {
        bail!(
            "no outreach list {list_id} in {}; the current lists are shown by `mimamori outreach --workspace {} --user U --purpose P`",
            outreach_dir(workspace).display(),
            workspace.display()
        );
    };
    let (parquet, _) = list_paths(workspace, &state.district);
    let bytes = std::fs::read(&parquet).with_context(|| format!("cannot read {}", parquet.display()))?;
    if blake3::hash(&bytes).to_hex().to_string() != state.parquet_blake3 {
        bail!(
            "{} no longer holds list {list_id} as it was built (its digest differs); build the list again",
            parquet.display()
        );
    }
    Ok(state)
}

pub fn write_list_state(workspace: &Path, state: &ListState) -> Result<()> {
    let (_, json) = list_paths(workspace, &state.district);
    write_atomically(&json, serde_json::to_string_pretty(state)?.as_bytes())
}

/// The list's Parquet: one row per household, best first; known cases after, marked.
pub fn list_batch(list_id: &str, l: &risk_model::outreach::DistrictList) -> Result<RecordBatch> {
    let rows: Vec<(usize, &HouseholdScore)> =
        l.listed.iter().chain(&l.known).enumerate().map(|(i, h)| (i + 1, h)).collect();
    let join = |v: Vec<String>| v.join("；");
    let schema = Arc::new(Schema::new(vec![
        Field::new("list_id", DataType::Utf8, false),
        Field::new("district", DataType::Utf8, false),
        Field::new("rank", DataType::UInt32, false),
        Field::new("household_id", DataType::UInt64, false),
        Field::new("probability", DataType::Float64, true),
        Field::new("children", DataType::UInt32, false),
        Field::new("known_case", DataType::Boolean, false),
        Field::new("reasons", DataType::Utf8, false),
        Field::new("supports", DataType::Utf8, false),
    ]));
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec![list_id; rows.len()])) as ArrayRef,
            Arc::new(StringArray::from(vec![l.district.as_str(); rows.len()])),
            Arc::new(UInt32Array::from(rows.iter().map(|(r, _)| *r as u32).collect::<Vec<_>>())),
            Arc::new(UInt64Array::from(rows.iter().map(|(_, h)| h.household_id).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|(_, h)| h.probability).collect::<Vec<_>>())),
            Arc::new(UInt32Array::from(rows.iter().map(|(_, h)| h.children as u32).collect::<Vec<_>>())),
            Arc::new(BooleanArray::from(rows.iter().map(|(_, h)| h.known_case).collect::<Vec<_>>())),
            Arc::new(StringArray::from(
                rows.iter()
                    .map(|(_, h)| {
                        let mut r: Vec<String> = h.reasons.iter().map(|r| r.text.clone()).collect();
                        if h.known_case {
                            r.insert(0, "要保護児童対策地域協議会に登録済み（既に支援中）".into());
                        }
                        join(r)
                    })
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter()
                    .map(|(_, h)| join(h.supports.iter().map(|s| s.offer.clone()).collect()))
                    .collect::<Vec<_>>(),
            )),
        ],
    )?)
}

/// One row of a list as read back.
#[derive(Clone, Debug, Serialize)]
pub struct ListRow {
    pub rank: u32,
    pub household_id: u64,
    pub probability: Option<f64>,
    pub children: u32,
    pub known_case: bool,
    pub reasons: String,
    pub supports: String,
}

pub fn read_list_rows(workspace: &Path, district: &str) -> Result<Vec<ListRow>> {
    let (path, _) = list_paths(workspace, district);
    rows_of(read_parquet(&path)?, &path)
}

fn rows_of(batches: Vec<RecordBatch>, path: &Path) -> Result<Vec<ListRow>> {
    let path = path.to_path_buf();
    let mut out = Vec::new();
    for b in batches {
        let rank = column::<UInt32Array>(&b, "rank", &path)?;
        let h = column::<UInt64Array>(&b, "household_id", &path)?;
        let p = column::<Float64Array>(&b, "probability", &path)?;
        let c = column::<UInt32Array>(&b, "children", &path)?;
        let k = column::<BooleanArray>(&b, "known_case", &path)?;
        let r = strings(&b, "reasons", &path)?;
        let s = strings(&b, "supports", &path)?;
        for i in 0..b.num_rows() {
            out.push(ListRow {
                rank: rank.value(i),
                household_id: h.value(i),
                probability: (!p.is_null(i)).then(|| p.value(i)),
                children: c.value(i),
                known_case: k.value(i),
                reasons: r.value(i).to_string(),
                supports: s.value(i).to_string(),
            });
        }
    }
    Ok(out)
}

/// Refuses work on a list whose linkage has been replaced since it was built.
pub fn check_linkage(workspace: &Path, state: &ListState) -> Result<()> {
    check_linkage_digest(state, &linkage_digest(workspace)?)
}

/// As [`check_linkage`], against the digest of linkage bytes already read.
pub fn check_linkage_digest(state: &ListState, digest: &str) -> Result<()> {
    if digest != state.linkage_digest {
        bail!(
            "list {} was built on an earlier linkage (`mimamori link` has run since): its household ids no longer name the same records; score and build the lists again, and have them approved",
            state.list_id
        );
    }
    Ok(())
}

pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
