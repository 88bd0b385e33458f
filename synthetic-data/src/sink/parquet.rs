//! Parquet as a case-management system (相談記録システム) exports it: typed columns (dates as
//! Date32, flags as booleans), written in row groups so memory stays bounded.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Date32Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use chrono::NaiveDate;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::{Cell, Column, ColumnType, Sink};
use crate::SynthError;

const BATCH_ROWS: usize = 8192;

enum Builder {
    Text(StringBuilder),
    Int(Int64Builder),
    Date(Date32Builder),
    Bool(BooleanBuilder),
}

pub struct ParquetSink {
    path: PathBuf,
    schema: SchemaRef,
    builders: Vec<Builder>,
    rows: usize,
    writer: ArrowWriter<File>,
}

fn pq_err(path: &Path, e: impl std::fmt::Display) -> SynthError {
    SynthError::Format { path: path.to_path_buf(), message: e.to_string() }
}

fn days_since_epoch(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (d - epoch).num_days() as i32
}

impl ParquetSink {
    pub fn create(path: &Path, columns: &[Column]) -> Result<Self, SynthError> {
        let fields: Vec<Field> = columns
            .iter()
            .map(|c| {
                let ty = match c.ty {
                    ColumnType::Text => DataType::Utf8,
                    ColumnType::Int => DataType::Int64,
                    ColumnType::Date => DataType::Date32,
                    ColumnType::Bool => DataType::Boolean,
                };
                Field::new(c.name, ty, true)
            })
            .collect();
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let file = File::create(path).map_err(|e| SynthError::io(path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(65_536))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| pq_err(path, e))?;
        let builders = columns.iter().map(|c| Self::builder(c.ty)).collect();
        Ok(ParquetSink { path: path.to_path_buf(), schema, builders, rows: 0, writer })
    }

    fn builder(ty: ColumnType) -> Builder {
        match ty {
            ColumnType::Text => Builder::Text(StringBuilder::new()),
            ColumnType::Int => Builder::Int(Int64Builder::new()),
            ColumnType::Date => Builder::Date(Date32Builder::new()),
            ColumnType::Bool => Builder::Bool(BooleanBuilder::new()),
        }
    }

    fn flush_batch(&mut self) -> Result<(), SynthError> {
        if self.rows == 0 {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Text(b) => Arc::new(b.finish()),
                    Builder::Int(b) => Arc::new(b.finish()),
                    Builder::Date(b) => Arc::new(b.finish()),
                    Builder::Bool(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| pq_err(&self.path, e))?;
        self.writer.write(&batch).map_err(|e| pq_err(&self.path, e))?;
        self.rows = 0;
        Ok(())
    }
}

impl Sink for ParquetSink {
    fn write_row(&mut self, row: Vec<Cell>) -> Result<(), SynthError> {
        if row.len() != self.builders.len() {
            return Err(pq_err(&self.path, format!("row of {} cells for {} columns", row.len(), self.builders.len())));
        }
        for (b, cell) in self.builders.iter_mut().zip(row) {
            match (b, cell) {
                (Builder::Text(b), Cell::Text(v)) => b.append_option(v),
                (Builder::Int(b), Cell::Int(v)) => b.append_option(v),
                (Builder::Date(b), Cell::Date(v)) => b.append_option(v.map(days_since_epoch)),
                (Builder::Bool(b), Cell::Bool(v)) => b.append_option(v),
                _ => return Err(pq_err(&self.path, "cell type does not match its column")),
            }
        }
        self.rows += 1;
        if self.rows >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), SynthError> {
        self.flush_batch()?;
        self.writer.close().map_err(|e| pq_err(&self.path, e))?;
        Ok(())
    }
}
