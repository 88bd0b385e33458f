//! The pseudonymised Parquet file: typed column builders flushed every 8,192 rows.

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

const BATCH_ROWS: usize = 8192;

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

pub struct Output {
    path: PathBuf,
    schema: SchemaRef,
    builders: Vec<Builder>,
    rows: usize,
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
        let builders = fields
            .iter()
            .map(|f| match f.data_type() {
                DataType::FixedSizeBinary(n) => Builder::Bin(FixedSizeBinaryBuilder::new(*n), *n),
                DataType::Int64 => Builder::Int(Int64Builder::new()),
                DataType::Float64 => Builder::Float(Float64Builder::new()),
                DataType::Date32 => Builder::Date(Date32Builder::new()),
                DataType::Boolean => Builder::Bool(BooleanBuilder::new()),
                _ => Builder::Text(StringBuilder::new()),
            })
            .collect();
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
        Ok(Output { path: path.to_path_buf(), schema, builders, rows: 0, writer })
    }

    pub fn push(&mut self, row: Vec<Out>) -> Result<(), PseudonymiseError> {
        for (b, v) in self.builders.iter_mut().zip(row) {
            let r = match (b, v) {
                (Builder::Bin(b, n), Out::Bin(Some(x))) if x.len() == *n as usize => b.append_value(&x),
                (Builder::Bin(b, 16), Out::Token(Some(x))) => b.append_value(x),
                (Builder::Bin(b, _), Out::Bin(None) | Out::Token(None)) => {
                    b.append_null();
                    Ok(())
                }
                (Builder::Text(b), Out::Text(v)) => {
                    b.append_option(v);
                    Ok(())
                }
                (Builder::Int(b), Out::Int(v)) => {
                    b.append_option(v);
                    Ok(())
                }
                (Builder::Float(b), Out::Float(v)) => {
                    b.append_option(v);
                    Ok(())
                }
                (Builder::Date(b), Out::Date(v)) => {
                    b.append_option(v.map(days));
                    Ok(())
                }
                (Builder::Bool(b), Out::Bool(v)) => {
                    b.append_option(v);
                    Ok(())
                }
                _ => return Err(err(&self.path, "internal: a value does not fit its column")),
            };
            r.map_err(|e| err(&self.path, e))?;
        }
        self.rows += 1;
        if self.rows >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), PseudonymiseError> {
        if self.rows == 0 {
            return Ok(());
        }
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
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| err(&self.path, e))?;
        self.writer.write(&batch).map_err(|e| err(&self.path, e))?;
        self.rows = 0;
        Ok(())
    }

    pub fn finish(mut self) -> Result<(), PseudonymiseError> {
        self.flush()?;
        let path = self.path.clone();
        let file = self.writer.into_inner().map_err(|e| err(&path, e))?;
        file.sync_all().map_err(|e| err(&path, e))
    }
}
