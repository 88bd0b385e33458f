//! The contract outputs of a linkage run, written as Parquet (Snappy) and JSON.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{FixedSizeBinaryBuilder, Float32Builder, StringDictionaryBuilder, UInt8Builder};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use super::blocking::Candidates;
use super::config::LinkConfig;
use super::fields::{Comparator, level_of};
use super::records::Records;
use super::score::ModelReport;
use super::{HOUSEHOLDS_FILE, LinkError, MODEL_FILE, PAIRS_FILE, PERSONS_FILE, REVIEW_FILE};

pub struct Outputs<'a> {
    pub records: &'a Records,
    pub comparator: &'a Comparator<'a>,
    pub candidates: &'a Candidates,
    pub gammas: &'a [u64],
    pub weights: &'a [f32],
    /// The part of each weight that the pair's other candidates gave (one record per person).
    pub one_to_one: &'a [f32],
    pub probabilities: &'a [f64],
    pub person_of: &'a [u64],
    pub household_of_person: &'a [u64],
    pub basis_of_person: &'a [&'static str],
    pub model: &'a ModelReport,
    pub config: &'a LinkConfig,
    pub threshold: f64,
}

pub struct Written {
    pub pairs: u64,
    pub review: u64,
}

fn werr(path: &Path, e: impl std::fmt::Display) -> LinkError {
    LinkError::Write { path: path.to_path_buf(), message: e.to_string() }
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), LinkError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| werr(path, e))?;
    std::fs::write(path, text + "\n").map_err(|e| werr(path, e))
}

struct ParquetOut {
    path: std::path::PathBuf,
    writer: ArrowWriter<File>,
    schema: Arc<Schema>,
}

impl ParquetOut {
    fn create(path: &Path, fields: Vec<Field>) -> Result<ParquetOut, LinkError> {
        let schema = Arc::new(Schema::new(fields));
        let file = File::create(path).map_err(|e| werr(path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(131_072))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| werr(path, e))?;
        Ok(ParquetOut { path: path.to_path_buf(), writer, schema })
    }
    fn write(&mut self, columns: Vec<ArrayRef>) -> Result<(), LinkError> {
        let batch = RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| werr(&self.path, e))?;
        self.writer.write(&batch).map_err(|e| werr(&self.path, e))
    }
    fn close(self) -> Result<(), LinkError> {
        let path = self.path.clone();
        let file = self.writer.into_inner().map_err(|e| werr(&path, e))?;
        file.sync_all().map_err(|e| werr(&path, e))
    }
}

fn dict() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

fn refs(records: &Records, rids: impl Iterator<Item = u32>) -> Result<ArrayRef, LinkError> {
    let mut b = FixedSizeBinaryBuilder::new(16);
    for r in rids {
        b.append_value(records.record_ref[r as usize]).map_err(|e| LinkError::Engine(e.to_string()))?;
    }
    Ok(Arc::new(b.finish()))
}

fn departments(records: &Records, rids: impl Iterator<Item = u32>) -> ArrayRef {
    let mut b = StringDictionaryBuilder::<Int32Type>::new();
    for r in rids {
        b.append_value(&records.departments[records.department_of[r as usize] as usize].name);
    }
    Arc::new(b.finish())
}

const CHUNK: usize = 131_072;

fn pair_fields(o: &Outputs) -> Vec<Field> {
    let mut f = vec![
        Field::new("department_l", dict(), false),
        Field::new("record_ref_l", DataType::FixedSizeBinary(16), false),
        Field::new("department_r", dict(), false),
        Field::new("record_ref_r", DataType::FixedSizeBinary(16), false),
        Field::new("blocking_rule", dict(), false),
    ];
    for info in &o.comparator.fields {
        f.push(Field::new(format!("gamma_{}", info.name), DataType::UInt8, true));
    }
    f.push(Field::new("one_to_one_weight", DataType::Float32, false));
    f.push(Field::new("match_weight", DataType::Float32, false));
    f.push(Field::new("match_probability", DataType::Float32, false));
    f
}

fn pair_columns(o: &Outputs, idx: &[usize]) -> Result<Vec<ArrayRef>, LinkError> {
    let pairs = &o.candidates.pairs;
    let left = idx.iter().map(|&i| (pairs[i] >> 32) as u32);
    let right = idx.iter().map(|&i| pairs[i] as u32);
    let mut rule = StringDictionaryBuilder::<Int32Type>::new();
    for &i in idx {
        rule.append_value(o.candidates.reports[o.candidates.rule[i] as usize].columns.join("+"));
    }
    let mut cols: Vec<ArrayRef> = vec![
        departments(o.records, left.clone()),
        refs(o.records, left)?,
        departments(o.records, right.clone()),
        refs(o.records, right)?,
        Arc::new(rule.finish()),
    ];
    for f in 0..o.comparator.len() {
        let mut b = UInt8Builder::with_capacity(idx.len());
        for &i in idx {
            b.append_option(level_of(o.gammas[i], f));
        }
        cols.push(Arc::new(b.finish()));
    }
    let mut a = Float32Builder::with_capacity(idx.len());
    let mut w = Float32Builder::with_capacity(idx.len());
    let mut p = Float32Builder::with_capacity(idx.len());
    for &i in idx {
        a.append_value(o.one_to_one[i]);
        w.append_value(o.weights[i]);
        p.append_value(o.probabilities[i] as f32);
    }
    cols.push(Arc::new(a.finish()));
    cols.push(Arc::new(w.finish()));
    cols.push(Arc::new(p.finish()));
    Ok(cols)
}

pub fn write_all(dir: &Path, o: &Outputs) -> Result<Written, LinkError> {
    let r = o.records;
    let n = r.len();

    // persons: one row per record
    let mut persons = ParquetOut::create(
        &dir.join(PERSONS_FILE),
        vec![
            Field::new("department", dict(), false),
            Field::new("record_ref", DataType::FixedSizeBinary(16), false),
            Field::new("person_id", DataType::UInt64, false),
            Field::new("household_id", DataType::UInt64, false),
        ],
    )?;
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK).min(n);
        let rids = start as u32..end as u32;
        persons.write(vec![
            departments(r, rids.clone()),
            refs(r, rids.clone())?,
            Arc::new(UInt64Array::from_iter_values(rids.clone().map(|i| o.person_of[i as usize]))),
            Arc::new(UInt64Array::from_iter_values(
                rids.map(|i| o.household_of_person[(o.person_of[i as usize] - 1) as usize]),
            )),
        ])?;
        start = end;
    }
    persons.close()?;

    // households: one row per person
    let mut households = ParquetOut::create(
        &dir.join(HOUSEHOLDS_FILE),
        vec![
            Field::new("household_id", DataType::UInt64, false),
            Field::new("person_id", DataType::UInt64, false),
            Field::new("basis", dict(), false),
        ],
    )?;
    let np = o.household_of_person.len();
    let mut start = 0;
    while start < np {
        let end = (start + CHUNK).min(np);
        let mut basis = StringDictionaryBuilder::<Int32Type>::new();
        for p in start..end {
            basis.append_value(o.basis_of_person[p]);
        }
        households.write(vec![
            Arc::new(UInt64Array::from_iter_values(o.household_of_person[start..end].iter().copied())),
            Arc::new(UInt64Array::from_iter_values((start as u64 + 1)..(end as u64 + 1))),
            Arc::new(basis.finish()),
        ])?;
        start = end;
    }
    households.close()?;

    // scored pairs at or above the floor
    let mut pairs = ParquetOut::create(&dir.join(PAIRS_FILE), pair_fields(o))?;
    let keep: Vec<usize> =
        (0..o.candidates.pairs.len()).filter(|&i| o.probabilities[i] >= o.config.pairs_min_probability).collect();
    for chunk in keep.chunks(CHUNK) {
        pairs.write(pair_columns(o, chunk)?)?;
    }
    pairs.close()?;

    // clerical review: a seeded sample of the pairs whose weight is within 3 of the threshold's
    let tw = (o.threshold / (1.0 - o.threshold)).log2();
    let borderline: Vec<usize> =
        (0..o.candidates.pairs.len()).filter(|&i| ((o.weights[i] as f64) - tw).abs() <= 3.0).collect();
    let mut rng = ChaCha20Rng::seed_from_u64(o.config.seed ^ 0x7265_7669_6577);
    let take = o.config.review_pairs.min(borderline.len());
    let mut chosen: Vec<usize> = sample(&mut rng, borderline.len(), take).into_iter().map(|k| borderline[k]).collect();
    chosen.sort_unstable();
    let mut fields = pair_fields(o);
    fields.push(Field::new("same_person", DataType::Utf8, false));
    let mut review = ParquetOut::create(&dir.join(REVIEW_FILE), fields)?;
    let mut cols = pair_columns(o, &chosen)?;
    cols.push(Arc::new(StringArray::from_iter_values(chosen.iter().map(|&i| {
        let (a, b) = ((o.candidates.pairs[i] >> 32) as usize, (o.candidates.pairs[i] as u32) as usize);
        if o.person_of[a] == o.person_of[b] { "linked" } else { "not linked" }
    }))));
    review.write(cols)?;
    review.close()?;

    write_json(&dir.join(MODEL_FILE), o.model)?;
    Ok(Written { pairs: keep.len() as u64, review: chosen.len() as u64 })
}
