//! Excel workbooks as school systems (校務支援システム) export them: one sheet, a header row,
//! dates as real date cells. Written in constant-memory mode, row by row.

use std::path::{Path, PathBuf};

use chrono::Datelike;
use chrono::NaiveDate;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, XlsxError};

use super::{Cell, Column, Sink};
use crate::SynthError;

pub struct XlsxSink {
    path: PathBuf,
    workbook: Workbook,
    row: u32,
    date_format: Format,
}

fn xlsx_err(path: &Path, e: XlsxError) -> SynthError {
    SynthError::Format { path: path.to_path_buf(), message: e.to_string() }
}

impl XlsxSink {
    /// `created` is written as the workbook's creation time, so output is reproducible.
    pub fn create(path: &Path, sheet: &str, columns: &[Column], created: NaiveDate) -> Result<Self, SynthError> {
        let mut workbook = Workbook::new();
        let created = ExcelDateTime::from_ymd(created.year() as u16, created.month() as u8, created.day() as u8)
            .map_err(|e| xlsx_err(path, e))?;
        workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
        let ws = workbook.add_worksheet_with_constant_memory().map_err(|e| xlsx_err(path, e))?;
        ws.set_name(sheet).map_err(|e| xlsx_err(path, e))?;
        let bold = Format::new().set_bold();
        for (i, c) in columns.iter().enumerate() {
            ws.write_string_with_format(0, i as u16, c.name, &bold).map_err(|e| xlsx_err(path, e))?;
        }
        Ok(XlsxSink {
            path: path.to_path_buf(),
            workbook,
            row: 1,
            date_format: Format::new().set_num_format("yyyy/mm/dd"),
        })
    }
}

impl Sink for XlsxSink {
    fn write_row(&mut self, row: Vec<Cell>) -> Result<(), SynthError> {
        let path = &self.path;
        let ws = self.workbook.worksheet_from_index(0).map_err(|e| xlsx_err(path, e))?;
        for (i, cell) in row.into_iter().enumerate() {
            let col = i as u16;
            let r = match cell {
                Cell::Text(Some(s)) => ws.write_string(self.row, col, s).map(|_| ()),
                Cell::Int(Some(v)) => ws.write_number(self.row, col, v as f64).map(|_| ()),
                Cell::Bool(Some(b)) => ws.write_boolean(self.row, col, b).map(|_| ()),
                Cell::Date(Some(d)) => {
                    let dt = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                        .map_err(|e| xlsx_err(path, e))?;
                    ws.write_datetime_with_format(self.row, col, &dt, &self.date_format).map(|_| ())
                }
                Cell::Text(None) | Cell::Int(None) | Cell::Bool(None) | Cell::Date(None) => Ok(()),
            };
            r.map_err(|e| xlsx_err(path, e))?;
        }
        self.row += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), SynthError> {
        let path = self.path.clone();
        self.workbook.save(&path).map_err(|e| xlsx_err(&path, e))
    }
}
