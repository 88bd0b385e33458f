//! Excel `.xlsx`: the first row is the header; date cells and serial dates become dates.

use std::path::Path;

use calamine::{Data, DataType, Reader, Xlsx, open_workbook};

use super::{ExtractError, Row, RowSource, Value, Wanted, resolve};
use crate::mapping::Mapping;

pub struct XlsxSource {
    rows: std::vec::IntoIter<Row>,
    total: u64,
}

fn value(cell: &Data) -> Value {
    match cell {
        Data::Empty | Data::Error(_) => Value::Empty,
        Data::String(s) if s.trim().is_empty() => Value::Empty,
        Data::String(s) => Value::Text(s.clone()),
        Data::Int(i) => Value::Int(*i),
        Data::Float(f) => Value::Float(*f),
        Data::Bool(b) => Value::Bool(*b),
        Data::DateTime(_) | Data::DateTimeIso(_) => match cell.as_date() {
            Some(d) => Value::Date(d),
            None => Value::Text(cell.to_string()),
        },
        Data::DurationIso(s) => Value::Text(s.clone()),
    }
}

impl XlsxSource {
    pub fn open(mapping: &Mapping, path: &Path, sheet: Option<&str>, wanted: &[Wanted]) -> Result<Self, ExtractError> {
        let fmt = |message: String| ExtractError::Format { path: path.to_path_buf(), message };
        let mut wb: Xlsx<_> = open_workbook(path).map_err(|e| fmt(format!("not a readable .xlsx workbook ({e})")))?;
        let name = match sheet {
            Some(s) => s.to_string(),
            None => wb.sheet_names().first().cloned().ok_or_else(|| fmt("the workbook has no sheet".into()))?,
        };
        let range = wb
            .worksheet_range(&name)
            .map_err(|_| fmt(format!("no sheet named `{name}`; the workbook has: {}", wb.sheet_names().join(", "))))?;
        let mut it = range.rows();
        let header: Vec<String> = it.next().map(|r| r.iter().map(|c| c.to_string()).collect()).unwrap_or_default();
        let indices = resolve(mapping, path, &header, wanted)?;
        let (first_row, _) = range.start().unwrap_or((0, 0));
        let rows: Vec<Row> = it
            .enumerate()
            .map(|(i, r)| Row {
                line: u64::from(first_row) + i as u64 + 2,
                values: indices.iter().map(|&c| r.get(c).map(value).unwrap_or(Value::Empty)).collect(),
            })
            .collect();
        let total = rows.len() as u64;
        Ok(XlsxSource { rows: rows.into_iter(), total })
    }
}

impl RowSource for XlsxSource {
    fn next_row(&mut self) -> Result<Option<Row>, ExtractError> {
        Ok(self.rows.next())
    }

    fn total_rows(&self) -> Option<u64> {
        Some(self.total)
    }
}
