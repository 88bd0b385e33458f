//! Readers of department extracts: CSV (UTF-8 with or without BOM, CP932, or detected), Excel
//! `.xlsx` (text, numbers, date cells and serial dates) and Parquet. Each yields rows of the
//! columns a mapping names, in that order, with the line (or row) they came from.
//!
//! Bytes that do not decode become U+FFFD, which normalisation treats as a lost character.
//! Errors name the file and the line, never a value.

mod csv_source;
mod parquet_source;
mod xlsx_source;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::mapping::{Format, Mapping};

/// One cell, typed as the source had it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Empty,
    Text(String),
    Date(NaiveDate),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Value {
    /// The cell as text (numbers without a trailing `.0`, dates ISO); None when empty.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Empty => None,
            Value::Text(s) if s.trim().is_empty() => None,
            Value::Text(s) => Some(s.clone()),
            Value::Date(d) => Some(d.format("%Y-%m-%d").to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{}", *f as i64)),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
        }
    }
}

/// A row of the requested columns.
#[derive(Clone, Debug)]
pub struct Row {
    /// 1-based line of a CSV file (of the record's first line), or row of a sheet; the header is line 1.
    pub line: u64,
    pub values: Vec<Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{mapping}: column `{column}` (mapped as {role}) is not in {path}; the file's columns are: {available}")]
    MissingColumn { mapping: PathBuf, path: PathBuf, role: String, column: String, available: String },
    #[error("{path}:{line}: {message}")]
    Row { path: PathBuf, line: u64, message: String },
}

/// A stream of rows.
pub trait RowSource {
    fn next_row(&mut self) -> Result<Option<Row>, ExtractError>;
    /// Rows in the source when known in advance (sheets, Parquet).
    fn total_rows(&self) -> Option<u64>;
    /// The encoding a CSV was read in (`utf-8`, `utf-8-bom`, `cp932`); None for other formats.
    fn encoding(&self) -> Option<&'static str> {
        None
    }
}

/// A requested column: the role it plays and its header in the source.
#[derive(Clone, Debug)]
pub struct Wanted {
    pub role: String,
    pub column: String,
}

/// Indices of `wanted` in `header`, or the error naming the first missing one.
fn resolve(mapping: &Mapping, path: &Path, header: &[String], wanted: &[Wanted]) -> Result<Vec<usize>, ExtractError> {
    wanted
        .iter()
        .map(|w| {
            header.iter().position(|h| h.trim() == w.column).ok_or_else(|| ExtractError::MissingColumn {
                mapping: mapping.file.clone(),
                path: path.to_path_buf(),
                role: w.role.clone(),
                column: w.column.clone(),
                available: header.join(", "),
            })
        })
        .collect()
}

/// Opens the mapping's source for the `wanted` columns.
pub fn open(mapping: &Mapping, wanted: &[Wanted]) -> Result<Box<dyn RowSource>, ExtractError> {
    let path = mapping.source_path();
    Ok(match mapping.format() {
        Format::Csv => Box::new(csv_source::CsvSource::open(mapping, &path, mapping.source.encoding, wanted)?),
        Format::Xlsx => {
            Box::new(xlsx_source::XlsxSource::open(mapping, &path, mapping.source.sheet.as_deref(), wanted)?)
        }
        Format::Parquet => Box::new(parquet_source::ParquetSource::open(mapping, &path, wanted)?),
    })
}

/// BLAKE3 of the source file, for the manifest.
pub fn file_hash(path: &Path) -> Result<String, ExtractError> {
    let mut h = blake3::Hasher::new();
    let file = std::fs::File::open(path).map_err(|source| ExtractError::Io { path: path.to_path_buf(), source })?;
    h.update_reader(file).map_err(|source| ExtractError::Io { path: path.to_path_buf(), source })?;
    Ok(h.finalize().to_hex().to_string())
}
