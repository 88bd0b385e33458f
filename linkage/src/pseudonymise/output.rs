//! The pseudonymised Parquet file: each encoding thread appends its rows to typed column
//! builders ([`Columns`]); the writer receives the batches ([`Output`]).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, FixedSizeBinaryBuilder, Float64Builder, Int64Builder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use chrono::NaiveDate;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::PseudonymiseError;

/// One output cell.
#[derive(Clone, Debug)]
pub enum Out {
    /// A 16-byte token (or record_ref).
    Token(Option<[u8; 16]>),
    Bin(Option<Vec<u8>>),
    Text(Option<String>),
    Int(Option<i64>),
    Float(Option<f64>),
    Date(Option<NaiveDate>),
    Bool(Option<bool>),
}

impl Out {
    /// The missing value of column `name` of type `ty`.
    pub fn missing(name: &str, ty: &DataType) -> Out {
        match ty {
            DataType::FixedSizeBinary(_) if name == "record_ref" || name.starts_with("tok_") => Out::Token(None),
            DataType::FixedSizeBinary(_) => Out::Bin(None),
            DataType::Int64 => Out::Int(None),
            DataType::Float64 => Out::Float(None),
            DataType::Date32 => Out::Date(None),
            DataType::Boolean => Out::Bool(None),
            _ => Out::Text(None),
        }
    }
}

enum Builder {
    Bin(FixedSizeBinaryBuilder, i32),
    Text(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Date(Date32Builder),
    Bool(BooleanBuilder),
}

/// One encoding thread's rows in columns: each row's cells appended as it is encoded, so that
/// the writer receives whole Arrow arrays.
pub struct Columns {
    schema: SchemaRef,
    builders: Vec<Builder>,
}

impl Columns {
    /// Empty columns of `schema`, with room for `rows` rows.
    pub fn new(schema: &SchemaRef, rows: usize) -> Columns {
        let builders = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::FixedSizeBinary(n) => Builder::Bin(FixedSizeBinaryBuilder::with_capacity(rows, *n), *n),
                DataType::Int64 => Builder::Int(Int64Builder::with_capacity(rows)),
                DataType::Float64 => Builder::Float(Float64Builder::with_capacity(rows)),
                DataType::Date32 => Builder::Date(Date32Builder::with_capacity(rows)),
                DataType::Boolean => Builder::Bool(BooleanBuilder::with_capacity(rows)),
                _ => Builder::Text(StringBuilder::with_capacity(rows, rows * 8)),
            })
            .collect();
        Columns { schema: schema.clone(), builders }
    }

    /// Appends one row (its cells in column order).
    pub fn push(&mut self, row: &[Out]) -> Result<(), String> {
        for (b, v) in self.builders.iter_mut().zip(row) {
            let r = match (b, v) {
                (Builder::Bin(b, n), Out::Bin(Some(x))) if x.len() == *n as usize => b.append_value(x),
                (Builder::Bin(b, 16), Out::Token(Some(x))) => b.append_value(*x),
                (Builder::Bin(b, _), Out::Bin(None) | Out::Token(None)) => {
                    b.append_null();
                    Ok(())
                }
                (Builder::Text(b), Out::Text(v)) => {
                    b.append_option(v.as_deref());
                    Ok(())
                }
                (Builder::Int(b), Out::Int(v)) => {
                    b.append_option(*v);
                    Ok(())
                }
                (Builder::Float(b), Out::Float(v)) => {
                    b.append_option(*v);
                    Ok(())
                }
                (Builder::Date(b), Out::Date(v)) => {
                    b.append_option(v.map(days));
                    Ok(())
                }
                (Builder::Bool(b), Out::Bool(v)) => {
                    b.append_option(*v);
                    Ok(())
                }
                _ => return Err("internal: a value does not fit its column".into()),
            };
            r.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The rows appended, as one batch.
    pub fn finish(mut self) -> Result<RecordBatch, String> {
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Bin(b, _) => Arc::new(b.finish()),
                    Builder::Text(b) => Arc::new(b.finish()),
                    Builder::Int(b) => Arc::new(b.finish()),
                    Builder::Float(b) => Arc::new(b.finish()),
                    Builder::Date(b) => Arc::new(b.finish()),
                    Builder::Bool(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| e.to_string())
    }
}

/// The Parquet file being written.
pub struct Output {
    path: PathBuf,
    schema: SchemaRef,
    writer: ArrowWriter<File>,
}

fn err(path: &Path, e: impl std::fmt::Display) -> PseudonymiseError {
    PseudonymiseError::Write { path: path.to_path_buf(), message: e.to_string() }
}

fn days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days() as i32
}

impl Output {
    pub fn create(path: &Path, fields: Vec<Field>) -> Result<Output, PseudonymiseError> {
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let file = File::create(path).map_err(|e| err(path, e))?;
        // pseudonyms are random bytes: min/max statistics and dictionaries cost time and buy
        // nothing for them (compression does: the tokens of sex, birth year and town repeat)
        let mut props =
            WriterProperties::builder().set_compression(Compression::SNAPPY).set_max_row_group_row_count(Some(16_384));
        for f in schema.fields() {
            if matches!(f.data_type(), DataType::FixedSizeBinary(_)) {
                let col = ColumnPath::from(f.name().as_str());
                props = props
                    .set_column_statistics_enabled(col.clone(), EnabledStatistics::None)
                    .set_column_dictionary_enabled(col, false);
            }
        }
        let props = props.build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| err(path, e))?;
        Ok(Output { path: path.to_path_buf(), schema, writer })
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Writes `rows` of `batch` (ranges of row numbers, in order).
    pub fn write(&mut self, batch: &RecordBatch, rows: &[std::ops::Range<usize>]) -> Result<(), PseudonymiseError> {
        for r in rows.iter().filter(|r| !r.is_empty()) {
            self.writer.write(&batch.slice(r.start, r.len())).map_err(|e| err(&self.path, e))?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<(), PseudonymiseError> {
        let path = self.path.clone();
        let file = self.writer.into_inner().map_err(|e| err(&path, e))?;
        file.sync_all().map_err(|e| err(&path, e))
    }
}
