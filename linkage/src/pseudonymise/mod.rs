//! Pseudonymisation at the custodian: read the extract a mapping describes, normalise each
//! identity field, replace it by keyed tokens and Bloom encodings, carry the mapped attributes,
//! and write `records.parquet` and `manifest.json`. The `record_ref → record_id` pairs go to a
//! callback (the engine encrypts them into the custodian's vault); no identifier is written to
//! the output folder, and no error or problem report holds a value.

mod frequent;
pub mod manifest;
mod output;
mod record;

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, FixedSizeBinaryArray};
use arrow_schema::{DataType, Field};

use crate::encode::{BloomEncoder, Hardening, LinkageKey, TOKEN_BYTES, TokenSalt, Tokeniser, VaultKey};
use crate::extract::{self, ExtractError, Wanted};
use crate::mapping::{AttributeType, Compare, Format, Mapping, Sensitivity};
use crate::normalise::NORMALISER_VERSION;
use crate::normalise::era_date::DayOrder;
pub use frequent::Frequent;
use manifest::{ColumnInfo, ColumnSensitivity, EncodingInfo, FieldCounts, MANIFEST_FORMAT, Manifest, SourceInfo};
use output::Output;

/// Rows read and encoded together (spread over the cores).
const BATCH_ROWS: usize = 8192;

/// One thread's share of a batch.
struct EncodedChunk {
    /// Each row read: encoded or left out.
    rows: Vec<record::Encoded>,
    /// The cells of the encoded rows, in their order.
    columns: arrow_array::RecordBatch,
    counts: BTreeMap<String, FieldCounts>,
    /// Values that could not be read: (line, column, role, what was expected).
    problems: Vec<(u64, String, String, String)>,
}

/// Rows left out for another number of fields than the header's (the manifest's reason).
const WRONG_FIELD_COUNT: &str = "wrong_field_count";

/// The data file written into the extract folder.
pub const RECORDS_FILE: &str = "records.parquet";
pub const MANIFEST_FILE: &str = "manifest.json";

/// Hash counts per Bloom field: about 10–15 q-grams a value, so roughly a sixth of the bits set.
const BLOOM_K_NAME: u32 = 16;
const BLOOM_K_KANA: u32 = 16;
const BLOOM_K_ADDRESS: u32 = 12;

#[derive(Clone, Debug)]
pub struct Options {
    pub hardening: Hardening,
    /// Whether name-part tokens are bound to the birth year.
    pub token_salt: TokenSalt,
    /// Stop at the first value that cannot be read instead of treating it as unknown.
    pub strict: bool,
}

/// The defaults of `mimamori pseudonymise`: balanced filters, name parts not bound to the
/// birth year (the settings the attack lab measures as the default).
impl Default for Options {
    fn default() -> Self {
        Options { hardening: Hardening::default(), token_salt: TokenSalt::None, strict: false }
    }
}

/// A value that could not be read; the location, never the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub role: String,
    pub expected: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column.is_empty() {
            // a whole row (its number of fields), no one column
            return write!(f, "{}:{}: {}", self.file, self.line, self.expected);
        }
        write!(f, "{}:{}: column {} ({}): {}", self.file, self.line, self.column, self.role, self.expected)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PseudonymiseError {
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("{0} (stopped by --strict)")]
    Strict(Problem),
    #[error("{rejected} of {read} rows were left out ({first}, …): {hint}")]
    MostRowsRejected { rejected: u64, read: u64, first: Box<Problem>, hint: &'static str },
    #[error("writing the vault failed: {0}")]
    Vault(std::io::Error),
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub manifest: Manifest,
    /// The first problems met (at most 20); all are counted in the manifest.
    pub problems: Vec<Problem>,
    pub problems_total: u64,
    /// The first rows left out (at most 20), each located; all are counted in the manifest.
    pub rejections: Vec<Problem>,
    /// Values held by implausibly many rows of a birth date, name, address or number column:
    /// probably a placeholder for "not known" to list under `[source] unknown`.
    pub frequent: Vec<Frequent>,
}

/// Identity roles as the plan reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    RecordId,
    Name,
    FamilyName,
    GivenName,
    NameKana,
    FamilyKana,
    GivenKana,
    BirthDate,
    Age,
    AgeOn,
    Sex,
    Address,
    Street,
    Locality,
    Postcode,
    ResidentId,
    HouseholdId,
    NationalId,
    Extra(usize),
    Attribute(usize),
}

pub(crate) struct Extra {
    pub name: String,
    pub compare: Compare,
}

pub(crate) struct Attribute {
    pub name: String,
    pub ty: AttributeType,
    pub column: String,
}

/// Which source columns are read, in which role, and what is written.
pub(crate) struct Plan {
    pub roles: Vec<Role>,
    pub wanted: Vec<Wanted>,
    pub extras: Vec<Extra>,
    pub attributes: Vec<Attribute>,
    pub fields: Vec<Field>,
    /// Where each output column is in `fields`.
    pub slots: std::collections::HashMap<String, usize, ahash::RandomState>,
    /// A row of `fields` with every value missing: what a record starts from.
    pub empty_row: Vec<output::Out>,
    pub columns: Vec<ColumnInfo>,
    /// Day order of numeric dates ending with the year.
    pub date_order: DayOrder,
    /// Order of a name held in one column.
    pub name_order: crate::normalise::name::NameOrder,
    /// Whether name-part tokens are bound to the birth year.
    pub token_salt: TokenSalt,
    /// The day the ages were taken, when it is one day for the extract (otherwise each
    /// record's `age_on` column says it).
    pub age_on: Option<chrono::NaiveDate>,
    /// Values of identity columns that stand for "not known".
    pub unknown: crate::normalise::placeholder::Placeholders,
}

fn role_name(r: Role, plan_extras: &[Extra], attrs: &[Attribute]) -> String {
    match r {
        Role::RecordId => "record_id".into(),
        Role::Name => "name".into(),
        Role::FamilyName => "family_name".into(),
        Role::GivenName => "given_name".into(),
        Role::NameKana => "name_kana".into(),
        Role::FamilyKana => "family_kana".into(),
        Role::GivenKana => "given_kana".into(),
        Role::BirthDate => "birth_date".into(),
        Role::Age => "age".into(),
        Role::AgeOn => "age_on".into(),
        Role::Sex => "sex".into(),
        Role::Address => "address".into(),
        Role::Street => "street".into(),
        Role::Locality => "locality".into(),
        Role::Postcode => "postcode".into(),
        Role::ResidentId => "resident_id".into(),
        Role::HouseholdId => "household_id".into(),
        Role::NationalId => "national_id".into(),
        Role::Extra(i) => plan_extras.get(i).map(|e| e.name.clone()).unwrap_or_default(),
        Role::Attribute(i) => attrs.get(i).map(|a| a.name.clone()).unwrap_or_default(),
    }
}

impl Plan {
    pub(crate) fn new(m: &Mapping, bloom_bytes: usize, token_salt: TokenSalt) -> Plan {
        let id = &m.identity;
        let mut roles = Vec::new();
        let mut wanted = Vec::new();
        let mut add = |role: Role, name: &str, col: &Option<toml::Spanned<String>>| {
            if let Some(c) = col {
                roles.push(role);
                wanted.push(Wanted { role: name.to_string(), column: c.get_ref().clone() });
            }
        };
        add(Role::RecordId, "record_id", &Some(id.record_id.clone()));
        add(Role::Name, "name", &id.name);
        add(Role::FamilyName, "family_name", &id.family_name);
        add(Role::GivenName, "given_name", &id.given_name);
        add(Role::NameKana, "name_kana", &id.name_kana);
        add(Role::FamilyKana, "family_kana", &id.family_kana);
        add(Role::GivenKana, "given_kana", &id.given_kana);
        add(Role::BirthDate, "birth_date", &id.birth_date);
        add(Role::Age, "age", &id.age);
        add(Role::AgeOn, "age_on", &id.age_on);
        add(Role::Sex, "sex", &id.sex);
        add(Role::Address, "address", &id.address);
        add(Role::Street, "street", &id.street);
        add(Role::Locality, "locality", &id.locality);
        add(Role::Postcode, "postcode", &id.postcode);
        add(Role::ResidentId, "resident_id", &id.resident_id);
        add(Role::HouseholdId, "household_id", &id.household_id);
        add(Role::NationalId, "national_id", &id.national_id);
        let extras: Vec<Extra> = id.extra.iter().map(|(k, e)| Extra { name: k.clone(), compare: e.compare }).collect();
        for (i, (k, e)) in id.extra.iter().enumerate() {
            roles.push(Role::Extra(i));
            wanted.push(Wanted { role: k.clone(), column: e.column.get_ref().clone() });
        }
        let attributes: Vec<Attribute> = m
            .attributes
            .iter()
            .map(|(k, a)| Attribute { name: k.clone(), ty: a.ty, column: a.column.get_ref().clone() })
            .collect();
        for (i, a) in attributes.iter().enumerate() {
            roles.push(Role::Attribute(i));
            wanted.push(Wanted { role: a.name.clone(), column: a.column.clone() });
        }

        // output columns
        let has = |r: Role| roles.contains(&r);
        let has_name = has(Role::Name) || has(Role::FamilyName) || has(Role::GivenName);
        let has_kana = has(Role::NameKana) || has(Role::FamilyKana) || has(Role::GivenKana);
        let mut cols: Vec<(String, DataType, ColumnSensitivity, String)> = Vec::new();
        let tok = DataType::FixedSizeBinary(TOKEN_BYTES as i32);
        let bf = DataType::FixedSizeBinary(bloom_bytes as i32);
        let id_tok = ColumnSensitivity::IdentifierToken;
        let mut push = |name: &str, ty: &DataType, source: &str| {
            cols.push((name.to_string(), ty.clone(), id_tok, source.to_string()));
        };
        push("record_ref", &tok, "record_id");
        if has_name {
            for c in ["tok_family", "tok_given", "tok_given_first", "tok_family_sound", "tok_given_sound", "tok_name"] {
                push(c, &tok, "name");
            }
            push("bf_name", &bf, "name");
        }
        if has_kana {
            for c in [
                "tok_family_kana",
                "tok_given_kana",
                "tok_kana",
                "tok_family_kana_loose",
                "tok_given_kana_loose",
                "tok_kana_loose",
            ] {
                push(c, &tok, "name_kana");
            }
            push("bf_kana", &bf, "name_kana");
        }
        if has(Role::BirthDate) {
            for c in [
                "tok_birth_date",
                "tok_birth_swapped",
                "tok_birth_year",
                "tok_birth_ym",
                "tok_birth_md",
                "tok_birth_yd",
                "tok_birth_year_lo",
                "tok_birth_year_hi",
            ] {
                push(c, &tok, "birth_date");
            }
        } else if has(Role::Age) {
            for c in ["tok_birth_year", "tok_birth_year_lo", "tok_birth_year_hi"] {
                push(c, &tok, "age");
            }
        }
        if has(Role::Sex) {
            push("tok_sex", &tok, "sex");
        }
        if has(Role::Address) {
            for c in ["tok_town", "tok_town_chome", "tok_town_block", "tok_address"] {
                push(c, &tok, "address");
            }
        }
        if has(Role::Street) {
            push("tok_street", &tok, "street");
        }
        if has(Role::Locality) {
            push("tok_locality", &tok, "locality");
        }
        if has(Role::Address) || has(Role::Street) || has(Role::Locality) {
            push("bf_address", &bf, "address");
        }
        for (r, c) in [
            (Role::Postcode, "tok_postcode"),
            (Role::ResidentId, "tok_resident_id"),
            (Role::HouseholdId, "tok_household_id"),
            (Role::NationalId, "tok_national_id"),
        ] {
            if has(r) {
                push(c, &tok, &role_name(r, &[], &[]));
            }
        }
        for e in &extras {
            match e.compare {
                Compare::Token => push(&format!("tok_x_{}", e.name), &tok, &e.name),
                Compare::Bloom => push(&format!("bf_x_{}", e.name), &bf, &e.name),
            }
        }
        for (name, a) in m.attributes.iter() {
            let ty = match a.ty {
                AttributeType::String => DataType::Utf8,
                AttributeType::Int => DataType::Int64,
                AttributeType::Float => DataType::Float64,
                AttributeType::Date => DataType::Date32,
                AttributeType::Bool => DataType::Boolean,
            };
            let sensitivity = match a.sensitivity {
                Sensitivity::AggregateSafe => ColumnSensitivity::AggregateSafe,
                Sensitivity::QuasiIdentifier => ColumnSensitivity::QuasiIdentifier,
                Sensitivity::SpecialCare => ColumnSensitivity::SpecialCare,
            };
            cols.push((name.clone(), ty, sensitivity, name.clone()));
        }
        let fields: Vec<Field> = cols.iter().map(|(n, t, _, _)| Field::new(n, t.clone(), n != "record_ref")).collect();
        let slots = fields.iter().enumerate().map(|(i, f)| (f.name().clone(), i)).collect();
        let empty_row = fields.iter().map(|f| output::Out::missing(f.name(), f.data_type())).collect();
        let columns = cols
            .into_iter()
            .map(|(name, ty, sensitivity, source)| ColumnInfo { name, data_type: format!("{ty}"), sensitivity, source })
            .collect();
        Plan {
            roles,
            wanted,
            extras,
            attributes,
            fields,
            slots,
            empty_row,
            columns,
            date_order: m.source.date_order,
            name_order: m.source.name_order,
            token_salt,
            age_on: m.age_on,
            unknown: crate::normalise::placeholder::Placeholders::new(&m.source.unknown),
        }
    }

    pub(crate) fn role_label(&self, r: Role) -> String {
        role_name(r, &self.extras, &self.attributes)
    }

    /// The field a role's values are counted under: a name's parts under `name`, a reading's
    /// under `name_kana`, every other role under its own label.
    pub(crate) fn field_of(&self, role: Role) -> String {
        match role {
            Role::FamilyName | Role::GivenName => "name".into(),
            Role::FamilyKana | Role::GivenKana => "name_kana".into(),
            r => self.role_label(r),
        }
    }

    /// The source columns of a field's roles (`氏+名` for a name in two columns).
    pub(crate) fn columns_of_field(&self, field: &str) -> String {
        let columns: Vec<String> = self
            .roles
            .iter()
            .enumerate()
            .filter(|(_, r)| self.field_of(**r) == field)
            .map(|(i, _)| self.wanted[i].column.clone())
            .collect();
        columns.join("+")
    }

    /// The source column playing `role` ("" when it is not mapped).
    pub(crate) fn column_of(&self, role: Role) -> String {
        self.roles.iter().position(|r| *r == role).map(|i| self.wanted[i].column.clone()).unwrap_or_default()
    }
}

/// Rows read from the extract so far.
struct Read {
    read: u64,
    /// Rows holding any value: the records the extract offers.
    with_values: u64,
}

impl Read {
    /// The next batch of rows holding a value (empty at the end of the extract). A row with no
    /// value at all (a sheet's trailing rows) is no record.
    fn batch(&mut self, source: &mut dyn extract::RowSource) -> Result<Vec<extract::Row>, PseudonymiseError> {
        let mut batch = Vec::with_capacity(BATCH_ROWS);
        while batch.len() < BATCH_ROWS {
            let Some(r) = source.next_row()? else { break };
            self.read += 1;
            if r.values.iter().any(|v| !v.is_blank()) {
                self.with_values += 1;
                batch.push(r);
            }
        }
        Ok(batch)
    }
}

/// What has been written: the Parquet file, the counts, rows left out and problems met.
struct Written {
    out: Output,
    file_name: String,
    id_column: String,
    strict: bool,
    counts: BTreeMap<String, FieldCounts>,
    rejected: BTreeMap<String, u64>,
    /// The line each record id was first met on, to locate a repeat.
    seen: HashMap<[u8; 16], u64>,
    rejections: Vec<Problem>,
    problems: Vec<Problem>,
    problems_total: u64,
    rows: u64,
    /// Counts of the values of the watched columns the plan writes.
    counters: Vec<frequent::Counter>,
}

impl Written {
    /// Writes one encoded batch (`rows` as read, in order), its record ids to `vault`.
    fn absorb(
        &mut self,
        batch: &[extract::Row],
        encoded: Vec<EncodedChunk>,
        vault: &mut dyn FnMut(&[u8; 16], &str) -> std::io::Result<()>,
    ) -> Result<(), PseudonymiseError> {
        let mut next = 0;
        for EncodedChunk { rows: rows_encoded, columns, counts: chunk_counts, problems: chunk_problems } in encoded {
            for (field, c) in chunk_counts {
                let total = self.counts.entry(field).or_default();
                total.blank += c.blank;
                total.wildcard += c.wildcard;
                total.invalid += c.invalid;
                total.partial += c.partial;
                total.placeholder += c.placeholder;
            }
            for (line, column, role, expected) in chunk_problems {
                let p = Problem { file: self.file_name.clone(), line, column, role, expected };
                if self.strict {
                    return Err(PseudonymiseError::Strict(p));
                }
                self.problems_total += 1;
                if self.problems.len() < 20 {
                    self.problems.push(p);
                }
            }
            // the watched token columns, to count their values
            let watched: Vec<Option<&FixedSizeBinaryArray>> =
                self.counters.iter().map(|c| columns.column(c.slot).as_any().downcast_ref()).collect();
            // the rows of `columns` written: all but repeated record ids, as ranges
            let mut keep: Vec<Range<usize>> = Vec::new();
            let mut cell = 0;
            for e in rows_encoded {
                let line = batch[next].line;
                next += 1;
                let (column, why) = match e {
                    record::Encoded::Rejected { reason, why, whole_row } => {
                        *self.rejected.entry(reason.to_string()).or_default() += 1;
                        let column = if whole_row { "" } else { &self.id_column };
                        (column.to_string(), why)
                    }
                    record::Encoded::Row { record_ref, record_id } => {
                        let row = cell;
                        cell += 1;
                        match self.seen.entry(record_ref) {
                            std::collections::hash_map::Entry::Occupied(first) => {
                                *self.rejected.entry("duplicate_record_id".into()).or_default() += 1;
                                let why = format!(
                                    "a record id no other row has (line {} has the same): row left out",
                                    first.get()
                                );
                                (self.id_column.clone(), why)
                            }
                            std::collections::hash_map::Entry::Vacant(slot) => {
                                slot.insert(line);
                                vault(&record_ref, &record_id).map_err(PseudonymiseError::Vault)?;
                                for (c, tokens) in self.counters.iter_mut().zip(&watched) {
                                    if let Some(t) = tokens.filter(|t| t.is_valid(row))
                                        && let Ok(t) = <&[u8; 16]>::try_from(t.value(row))
                                    {
                                        c.add(t, line);
                                    }
                                }
                                match keep.last_mut() {
                                    Some(last) if last.end == row => last.end = cell,
                                    _ => keep.push(row..cell),
                                }
                                self.rows += 1;
                                continue;
                            }
                        }
                    }
                };
                let p = Problem {
                    file: self.file_name.clone(),
                    line,
                    role: if column.is_empty() { "row".into() } else { "record_id".into() },
                    column,
                    expected: why,
                };
                if self.strict {
                    return Err(PseudonymiseError::Strict(p));
                }
                if self.rejections.len() < 20 {
                    self.rejections.push(p);
                }
            }
            self.out.write(&columns, &keep)?;
        }
        Ok(())
    }
}

/// Pseudonymises the extract of `mapping` into `out_dir` (which must exist).
pub fn run(
    mapping: &Mapping,
    key: &LinkageKey,
    vault_key: &VaultKey,
    out_dir: &Path,
    options: &Options,
    progress: &mut dyn FnMut(u64, Option<u64>),
    vault: &mut dyn FnMut(&[u8; 16], &str) -> std::io::Result<()>,
) -> Result<Outcome, PseudonymiseError> {
    let source_path = mapping.source_path();
    let source_hash = extract::file_hash(&source_path)?;
    let encoders = record::Encoders {
        name: BloomEncoder::new(key, "name", BLOOM_K_NAME, options.hardening),
        kana: BloomEncoder::new(key, "kana", BLOOM_K_KANA, options.hardening),
        address: BloomEncoder::new(key, "address", BLOOM_K_ADDRESS, options.hardening),
        extras: mapping
            .identity
            .extra
            .iter()
            .filter(|(_, e)| e.compare == Compare::Bloom)
            .map(|(k, _)| (k.clone(), BloomEncoder::new(key, &format!("x_{k}"), BLOOM_K_NAME, options.hardening)))
            .collect(),
    };
    let plan = Plan::new(mapping, encoders.name.bytes(), options.token_salt);
    let mut source = extract::open(mapping, &plan.wanted)?;
    let total = source.total_rows();
    let file_name = source_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();

    let out = Output::create(&out_dir.join(RECORDS_FILE), plan.fields.clone())?;
    let mut written = Written {
        out,
        file_name: file_name.clone(),
        id_column: plan.column_of(Role::RecordId),
        strict: options.strict,
        counts: BTreeMap::new(),
        rejected: BTreeMap::new(),
        seen: HashMap::new(),
        rejections: Vec::new(),
        problems: Vec::new(),
        problems_total: 0,
        rows: 0,
        counters: frequent::WATCHED
            .iter()
            .filter_map(|(column, field)| plan.slots.get(*column).map(|&slot| frequent::Counter::new(field, slot)))
            .collect(),
    };
    let mut read = Read { read: 0, with_values: 0 };

    // rows are read in batches and encoded on every core; while a batch is encoded, the one
    // before is written and the one after is read. Results are written in file order.
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    let department = mapping.department.as_str();
    let schema = written.out.schema().clone();
    let plan = &plan;
    const STOPPED: &str = "internal error: an encoding thread stopped";
    let thread_failed = |message: String| PseudonymiseError::Write { path: out_dir.join(RECORDS_FILE), message };
    std::thread::scope(|scope| {
        // the encoding threads live for the whole run, each with its tokeniser and encoders
        // (and what they cache) and its own memory
        let mut jobs = Vec::with_capacity(threads);
        let mut results = Vec::with_capacity(threads);
        let mut handles = Vec::with_capacity(threads);
        let mut spawn_error = None;
        for _ in 0..threads {
            let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<(Arc<Vec<extract::Row>>, Range<usize>)>(1);
            let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<Result<EncodedChunk, String>>(1);
            let (mut tokeniser, mut encoders) = (Tokeniser::new(key), encoders.clone());
            let schema = &schema;
            let spawned = std::thread::Builder::new().spawn_scoped(scope, move || {
                let mut ctx = record::RowContext::new(plan);
                while let Ok((batch, range)) = job_rx.recv() {
                    let rows = &batch[range];
                    let chunk = (|| {
                        let mut columns = output::Columns::new(schema, rows.len());
                        let mut encoded = Vec::with_capacity(rows.len());
                        for row in rows {
                            let e = record::encode(&mut ctx, row, &mut tokeniser, &mut encoders, vault_key, department);
                            if matches!(e, record::Encoded::Row { .. }) {
                                columns.push(&ctx.row)?;
                            }
                            encoded.push(e);
                        }
                        Ok(EncodedChunk {
                            rows: encoded,
                            columns: columns.finish()?,
                            counts: std::mem::take(&mut ctx.counts),
                            problems: std::mem::take(&mut ctx.problems),
                        })
                    })();
                    drop(batch);
                    if done_tx.send(chunk).is_err() {
                        break;
                    }
                }
            });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    spawn_error = Some(e);
                    break;
                }
            }
            jobs.push(job_tx);
            results.push(done_rx);
        }
        let outcome = (|| -> Result<(), PseudonymiseError> {
            // the system refused a thread (a limit on processes or memory)
            if let Some(e) = spawn_error {
                return Err(thread_failed(format!("could not start an encoding thread: {e}")));
            }
            let mut batch = Arc::new(read.batch(source.as_mut())?);
            let mut pending: Option<(Arc<Vec<extract::Row>>, Vec<EncodedChunk>)> = None;
            while !batch.is_empty() || pending.is_some() {
                let chunk = batch.len().div_ceil(threads).max(1);
                let mut given = 0;
                for (i, job) in jobs.iter().enumerate().take_while(|(i, _)| i * chunk < batch.len()) {
                    let share = i * chunk..((i + 1) * chunk).min(batch.len());
                    job.send((batch.clone(), share)).map_err(|_| thread_failed(STOPPED.into()))?;
                    given += 1;
                }
                let wrote = match pending.take() {
                    Some((rows, encoded)) => written.absorb(&rows, encoded, vault),
                    None => Ok(()),
                };
                let next =
                    if wrote.is_ok() && !batch.is_empty() { read.batch(source.as_mut()) } else { Ok(Vec::new()) };
                let encoded = results[..given]
                    .iter()
                    .map(|done| done.recv().map_err(|_| STOPPED.to_string()).and_then(|r| r))
                    .collect::<Result<Vec<_>, _>>();
                wrote?;
                progress(read.read, total);
                let encoded = encoded.map_err(thread_failed)?;
                if !batch.is_empty() {
                    pending = Some((batch, encoded));
                }
                batch = match next {
                    Ok(b) => Arc::new(b),
                    Err(e) => {
                        // what was encoded before the failed read is written first: an error it
                        // holds (--strict) is the first the extract has
                        if let Some((rows, encoded)) = pending.take() {
                            written.absorb(&rows, encoded, vault)?;
                        }
                        return Err(e);
                    }
                };
            }
            Ok(())
        })();
        // no more work: the threads end; one that panicked is an error, not a panic here
        drop(jobs);
        let panicked = handles.into_iter().map(|h| h.join()).filter(Result::is_err).count();
        outcome.and_then(|()| if panicked > 0 { Err(thread_failed(STOPPED.into())) } else { Ok(()) })
    })?;
    progress(read.read, total);
    let Written { out, counts, rejected, rejections, problems, problems_total, rows, counters, .. } = written;
    let frequent: Vec<Frequent> = counters.iter().flat_map(|c| c.frequent(&plan.columns_of_field(c.field))).collect();
    let with_values = read.with_values;
    let left_out: u64 = rejected.values().sum();
    if left_out * 2 > with_values
        && let Some(first) = rejections.first()
    {
        let hint = if rejected.get(WRONG_FIELD_COUNT).is_some_and(|n| n * 2 > left_out) {
            "most lines do not have the header's number of fields. Values holding unquoted commas or \
             line breaks, or another delimiter than the comma, cannot be read row by row: export the \
             extract again as CSV with every value quoted"
        } else {
            "a mapping whose record id is not unique per row loses most of the extract. Map record_id \
             to a column that names each row once (for an extract of one row per benefit or visit, that \
             row's own number)"
        };
        return Err(PseudonymiseError::MostRowsRejected {
            rejected: left_out,
            read: with_values,
            first: Box::new(first.clone()),
            hint,
        });
    }
    out.finish()?;

    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        department: mapping.department.clone(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        rows,
        rejected_rows: rejected,
        linkage_key_fingerprint: key.fingerprint(),
        normaliser_version: NORMALISER_VERSION.into(),
        source: SourceInfo {
            file: file_name,
            format: match mapping.format() {
                Format::Csv => "csv",
                Format::Xlsx => "xlsx",
                Format::Parquet => "parquet",
            }
            .into(),
            encoding: source.encoding().map(str::to_string),
            blake3: source_hash,
        },
        encoding: EncodingInfo {
            token_bytes: TOKEN_BYTES,
            token_hash: "blake3-keyed-128".into(),
            token_salt: options.token_salt,
            bloom: {
                let mut specs =
                    vec![encoders.name.spec().clone(), encoders.kana.spec().clone(), encoders.address.spec().clone()];
                specs.extend(encoders.extras.iter().map(|(_, e)| e.spec().clone()));
                specs
            },
        },
        columns: plan.columns.clone(),
        counts,
        frequent_values: frequent.iter().fold(BTreeMap::new(), |mut m, f| {
            *m.entry(f.field.clone()).or_default() += f.rows;
            m
        }),
        age_on: plan.age_on,
        files: vec![RECORDS_FILE.into()],
    };
    let path = out_dir.join(MANIFEST_FILE);
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| PseudonymiseError::Write { path: path.clone(), message: e.to_string() })?;
    std::fs::write(&path, json).map_err(|e| PseudonymiseError::Write { path: path.clone(), message: e.to_string() })?;
    Ok(Outcome { manifest, problems, problems_total, rejections, frequent })
}
