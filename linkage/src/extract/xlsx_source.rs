//! Excel `.xlsx`, streamed: a reader thread walks the sheet's XML cell by cell and hands rows
//! over a bounded channel, so a large workbook never sits in memory whole. The first row is the
//! header; date cells and serial dates become dates.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use calamine::{DataRef, DataType, Reader, Xlsx, open_workbook};

use super::{ExtractError, Row, RowSource, Value, Wanted, resolve};
use crate::mapping::Mapping;

/// Rows in flight between the reader thread and the caller.
const CHANNEL_ROWS: usize = 1024;

enum Message {
    Header(Vec<String>, Option<u64>),
    Row(u64, Vec<Value>),
    Failed(String),
}

pub struct XlsxSource {
    path: PathBuf,
    rx: Receiver<Message>,
    indices: Vec<usize>,
    total: Option<u64>,
    reader: Option<JoinHandle<()>>,
}

fn value(cell: &DataRef<'_>) -> Value {
    match cell {
        DataRef::Empty | DataRef::Error(_) => Value::Empty,
        DataRef::String(s) if s.trim().is_empty() => Value::Empty,
        DataRef::String(s) => Value::Text(s.clone()),
        DataRef::SharedString(s) if s.trim().is_empty() => Value::Empty,
        DataRef::SharedString(s) => Value::Text((*s).to_string()),
        DataRef::Int(i) => Value::Int(*i),
        DataRef::Float(f) => Value::Float(*f),
        DataRef::Bool(b) => Value::Bool(*b),
        DataRef::DateTime(_) | DataRef::DateTimeIso(_) => match cell.as_date() {
            Some(d) => Value::Date(d),
            None => cell.as_string().map(Value::Text).unwrap_or(Value::Empty),
        },
        DataRef::DurationIso(s) => Value::Text(s.clone()),
    }
}

/// Walks the sheet and sends the header, then each row; stops when the receiver is gone.
fn stream(path: PathBuf, sheet: Option<String>, header_row: u32, tx: SyncSender<Message>) {
    let fail = |tx: &SyncSender<Message>, m: String| {
        let _ = tx.send(Message::Failed(m));
    };
    let mut wb: Xlsx<_> = match open_workbook(&path) {
        Ok(wb) => wb,
        Err(e) => return fail(&tx, format!("not a readable .xlsx workbook ({e})")),
    };
    let names = wb.sheet_names();
    let name = match sheet.or_else(|| names.first().cloned()) {
        Some(n) if names.contains(&n) => n,
        Some(n) => return fail(&tx, format!("no sheet named `{n}`; the workbook has: {}", names.join(", "))),
        None => return fail(&tx, "the workbook has no sheet".into()),
    };
    let mut cells = match wb.worksheet_cells_reader(&name) {
        Ok(c) => c,
        Err(e) => return fail(&tx, format!("cannot read sheet `{name}` ({e})")),
    };
    let dims = cells.dimensions();
    let total = Some(u64::from(dims.end.0.saturating_sub(dims.start.0)));
    let mut current: Option<u32> = None;
    let mut row: Vec<Value> = Vec::new();
    let mut header_sent = false;
    let flush = |r: u32, row: &mut Vec<Value>, header_sent: &mut bool| -> bool {
        let values = std::mem::take(row);
        let msg = if *header_sent {
            Message::Row(u64::from(r) + 1, values)
        } else {
            *header_sent = true;
            Message::Header(values.iter().map(|v| v.as_text().unwrap_or_default()).collect(), total)
        };
        tx.send(msg).is_ok()
    };
    loop {
        match cells.next_cell() {
            Ok(Some(cell)) => {
                let (r, c) = cell.get_position();
                // rows above the header (a title) are skipped
                if r + 1 < header_row {
                    continue;
                }
                if current != Some(r) {
                    if let Some(prev) = current
                        && !flush(prev, &mut row, &mut header_sent)
                    {
                        return;
                    }
                    current = Some(r);
                }
                let c = c as usize;
                if row.len() <= c {
                    row.resize(c + 1, Value::Empty);
                }
                row[c] = value(cell.get_value());
            }
            Ok(None) => break,
            // the error may quote the cell, which may hold an identifier: say where, not what
            Err(_) => {
                let at = current.map(|r| format!(" after row {}", r + 1)).unwrap_or_default();
                return fail(&tx, format!("sheet `{name}` has a cell that cannot be read{at}"));
            }
        }
    }
    if let Some(prev) = current {
        flush(prev, &mut row, &mut header_sent);
    }
    if !header_sent {
        let _ = tx.send(Message::Header(Vec::new(), total));
    }
}

impl XlsxSource {
    pub fn open(mapping: &Mapping, path: &Path, sheet: Option<&str>, wanted: &[Wanted]) -> Result<Self, ExtractError> {
        let (tx, rx) = sync_channel(CHANNEL_ROWS);
        let (p, s, h) = (path.to_path_buf(), sheet.map(str::to_string), mapping.source.header_row);
        let reader = std::thread::Builder::new()
            .name("xlsx-reader".into())
            .spawn(move || stream(p, s, h, tx))
            .map_err(|cause| ExtractError::Io { path: path.to_path_buf(), cause })?;
        let fmt = |message: String| ExtractError::Format { path: path.to_path_buf(), message };
        let (header, total) = match rx.recv() {
            Ok(Message::Header(h, total)) => (h, total),
            Ok(Message::Failed(m)) => return Err(fmt(m)),
            Ok(Message::Row(..)) | Err(_) => return Err(fmt("the workbook ended before its header row".into())),
        };
        let indices = resolve(mapping, path, &header, wanted)?;
        Ok(XlsxSource { path: path.to_path_buf(), rx, indices, total, reader: Some(reader) })
    }
}

impl RowSource for XlsxSource {
    fn next_row(&mut self) -> Result<Option<Row>, ExtractError> {
        match self.rx.recv() {
            Ok(Message::Row(line, values)) => Ok(Some(Row {
                line,
                ragged: None,
                values: self.indices.iter().map(|&i| values.get(i).cloned().unwrap_or(Value::Empty)).collect(),
            })),
            Ok(Message::Failed(message)) => Err(ExtractError::Format { path: self.path.clone(), message }),
            Ok(Message::Header(..)) | Err(_) => {
                if let Some(h) = self.reader.take() {
                    let _ = h.join();
                }
                Ok(None)
            }
        }
    }

    fn total_rows(&self) -> Option<u64> {
        self.total
    }
}
