//! Parquet, read in record batches so memory stays bounded.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Date64Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDate};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::{ExtractError, Row, RowSource, Value, Wanted, resolve};
use crate::mapping::Mapping;

pub struct ParquetSource {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    /// Position of each wanted column in the projected batch.
    order: Vec<usize>,
    batch: Option<RecordBatch>,
    next: usize,
    line: u64,
    total: u64,
}

fn err(path: &Path, e: impl std::fmt::Display) -> ExtractError {
    ExtractError::Format { path: path.to_path_buf(), message: format!("not a readable Parquet file ({e})") }
}

impl ParquetSource {
    pub fn open(mapping: &Mapping, path: &Path, wanted: &[Wanted]) -> Result<Self, ExtractError> {
        let file = File::open(path).map_err(|cause| ExtractError::Io { path: path.to_path_buf(), cause })?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| err(path, e))?;
        let header: Vec<String> = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
        let indices = resolve(mapping, path, &header, wanted)?;
        let total = builder.metadata().file_metadata().num_rows().max(0) as u64;
        let mut projected: Vec<usize> = indices.clone();
        projected.sort_unstable();
        projected.dedup();
        let order = indices.iter().map(|i| projected.iter().position(|p| p == i).unwrap_or(0)).collect();
        let mask = ProjectionMask::roots(builder.parquet_schema(), projected);
        let reader = builder.with_projection(mask).with_batch_size(8192).build().map_err(|e| err(path, e))?;
        Ok(ParquetSource { path: path.to_path_buf(), reader, order, batch: None, next: 0, line: 1, total })
    }
}

fn cell(a: &ArrayRef, i: usize) -> Value {
    if a.is_null(i) {
        return Value::Empty;
    }
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    match a.data_type() {
        DataType::Utf8 => Value::Text(a.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => Value::Text(a.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => Value::Text(a.as_string_view().value(i).to_string()),
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::Int8 => Value::Int(i64::from(a.as_primitive::<Int8Type>().value(i))),
        DataType::Int16 => Value::Int(i64::from(a.as_primitive::<Int16Type>().value(i))),
        DataType::Int32 => Value::Int(i64::from(a.as_primitive::<Int32Type>().value(i))),
        DataType::Int64 => Value::Int(a.as_primitive::<Int64Type>().value(i)),
        DataType::Float32 => Value::Float(f64::from(a.as_primitive::<Float32Type>().value(i))),
        DataType::Float64 => Value::Float(a.as_primitive::<Float64Type>().value(i)),
        DataType::Date32 => epoch
            .checked_add_signed(chrono::Duration::days(i64::from(a.as_primitive::<Date32Type>().value(i))))
            .map(Value::Date)
            .unwrap_or(Value::Empty),
        DataType::Date64 => DateTime::from_timestamp_millis(a.as_primitive::<Date64Type>().value(i))
            .map(|t| Value::Date(t.date_naive()))
            .unwrap_or(Value::Empty),
        DataType::Timestamp(unit, _) => {
            let v = match unit {
                TimeUnit::Second => a.as_primitive::<arrow_array::types::TimestampSecondType>().value(i) * 1_000_000,
                TimeUnit::Millisecond => {
                    a.as_primitive::<arrow_array::types::TimestampMillisecondType>().value(i) * 1000
                }
                TimeUnit::Microsecond => a.as_primitive::<arrow_array::types::TimestampMicrosecondType>().value(i),
                TimeUnit::Nanosecond => a.as_primitive::<arrow_array::types::TimestampNanosecondType>().value(i) / 1000,
            };
            DateTime::from_timestamp_micros(v).map(|t| Value::Date(t.date_naive())).unwrap_or(Value::Empty)
        }
        // other types are carried as their display text
        _ => arrow_cast::display::array_value_to_string(a, i).map(Value::Text).unwrap_or(Value::Empty),
    }
}

impl RowSource for ParquetSource {
    fn next_row(&mut self) -> Result<Option<Row>, ExtractError> {
        loop {
            if let Some(b) = &self.batch
                && self.next < b.num_rows()
            {
                let i = self.next;
                self.next += 1;
                self.line += 1;
                let values = self.order.iter().map(|&c| cell(b.column(c), i)).collect();
                return Ok(Some(Row { line: self.line, values, ragged: None }));
            }
            match self.reader.next() {
                None => return Ok(None),
                Some(Ok(b)) => {
                    self.batch = Some(b);
                    self.next = 0;
                }
                Some(Err(e)) => return Err(err(&self.path, e)),
            }
        }
    }

    fn total_rows(&self) -> Option<u64> {
        Some(self.total)
    }
}
