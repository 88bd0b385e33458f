//! CSV in UTF-8 (with or without BOM) or CP932, streamed through a decoder; quoted fields with
//! embedded newlines are handled by the `csv` crate.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};

use super::{ExtractError, Row, RowSource, Value, Wanted, resolve};
use crate::mapping::{Encoding, Mapping};

pub struct CsvSource {
    path: PathBuf,
    reader: csv::Reader<BufReader<DecodeReaderBytes<BufReader<File>, Vec<u8>>>>,
    indices: Vec<usize>,
    record: csv::StringRecord,
    /// Fields of the header.
    width: usize,
    /// Lines below the header: the rows, or more when values hold line breaks (for progress).
    total: Option<u64>,
    encoding: &'static str,
    /// The csv crate starts a record after a CRLF at the LF, one line early: 1 for CRLF files.
    line_offset: u64,
}

/// Detects UTF-8 (BOM or valid bytes) or CP932 from the first 64 KiB.
fn detect(path: &Path) -> Result<&'static encoding_rs::Encoding, ExtractError> {
    let mut head = vec![0u8; 64 * 1024];
    let mut f = File::open(path).map_err(|cause| ExtractError::Io { path: path.to_path_buf(), cause })?;
    let n = f.read(&mut head).map_err(|cause| ExtractError::Io { path: path.to_path_buf(), cause })?;
    head.truncate(n);
    if head.starts_with(b"\xEF\xBB\xBF") {
        return Ok(encoding_rs::UTF_8);
    }
    let valid = match std::str::from_utf8(&head) {
        Ok(_) => true,
        // a multi-byte character cut by the 64 KiB window is fine
        Err(e) => e.error_len().is_none() && n == head.capacity(),
    };
    Ok(if valid { encoding_rs::UTF_8 } else { encoding_rs::SHIFT_JIS })
}

/// Whether the first line ends in CRLF.
fn crlf(path: &Path) -> bool {
    let mut head = vec![0u8; 64 * 1024];
    let n = File::open(path).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
    head[..n].iter().position(|b| *b == b'\n').is_some_and(|i| i > 0 && head[i - 1] == b'\r')
}

fn has_bom(path: &Path) -> bool {
    let mut b = [0u8; 3];
    File::open(path).and_then(|mut f| f.read_exact(&mut b)).is_ok() && b == *b"\xEF\xBB\xBF"
}

impl CsvSource {
    pub fn open(mapping: &Mapping, path: &Path, encoding: Encoding, wanted: &[Wanted]) -> Result<Self, ExtractError> {
        let enc = match encoding {
            Encoding::Utf8 => encoding_rs::UTF_8,
            Encoding::Cp932 => encoding_rs::SHIFT_JIS,
            Encoding::Auto => detect(path)?,
        };
        let bom = enc == encoding_rs::UTF_8 && has_bom(path);
        let file = File::open(path).map_err(|cause| ExtractError::Io { path: path.to_path_buf(), cause })?;
        let decoder = DecodeReaderBytesBuilder::new()
            .encoding(Some(enc))
            .bom_sniffing(enc == encoding_rs::UTF_8)
            .strip_bom(true)
            .build(BufReader::with_capacity(1 << 16, file));
        // the lines above the header (a title, blank lines) are skipped; line numbers count them
        let skip = u64::from(mapping.source.header_row.max(1) - 1);
        let mut decoder = BufReader::new(decoder);
        let mut line = Vec::new();
        for _ in 0..skip {
            line.clear();
            decoder
                .read_until(b'\n', &mut line)
                .map_err(|cause| ExtractError::Io { path: path.to_path_buf(), cause })?;
        }
        let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(decoder);
        let header = reader
            .headers()
            .map_err(|e| ExtractError::Format {
                path: path.to_path_buf(),
                message: format!("cannot read the header: {}", csv_kind(&e)),
            })?
            .clone();
        let header: Vec<String> = header.iter().map(|h| h.trim_start_matches('\u{FEFF}').to_string()).collect();
        let indices = resolve(mapping, path, &header, wanted)?;
        let encoding = match (enc == encoding_rs::UTF_8, bom) {
            (true, true) => "utf-8-bom",
            (true, false) => "utf-8",
            _ => "cp932",
        };
        let line_offset = u64::from(crlf(path)) + skip;
        Ok(CsvSource {
            path: path.to_path_buf(),
            reader,
            indices,
            record: csv::StringRecord::new(),
            // unnamed columns at the end of the header ("a,b,c,") are no fields a line must have
            width: header.iter().rposition(|h| !h.trim().is_empty()).map_or(0, |i| i + 1),
            total: lines(path).ok().map(|n| n.saturating_sub(skip + 1)).filter(|n| *n > 0),
            encoding,
            line_offset,
        })
    }
}

/// Lines of a file (a last line without its line feed counts). A line feed byte is one in UTF-8
/// and CP932 alike: neither uses it inside a character.
fn lines(path: &Path) -> std::io::Result<u64> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    let (mut n, mut last) = (0u64, b'\n');
    loop {
        let got = file.read(&mut buf)?;
        if got == 0 {
            break;
        }
        n += buf[..got].iter().filter(|&&b| b == b'\n').count() as u64;
        last = buf[got - 1];
    }
    Ok(n + u64::from(last != b'\n'))
}

/// What went wrong in a CSV error, without the field content.
fn csv_kind(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        csv::ErrorKind::Utf8 { .. } => "text that is not valid in the file's encoding".into(),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("a row of {len} fields where the header has {expected_len}")
        }
        _ => "malformed CSV".into(),
    }
}

impl RowSource for CsvSource {
    fn next_row(&mut self) -> Result<Option<Row>, ExtractError> {
        let more = self.reader.read_record(&mut self.record).map_err(|e| {
            let line = e.position().map(|p| p.line() + self.line_offset).unwrap_or(0);
            ExtractError::Row { path: self.path.clone(), line, message: csv_kind(&e) }
        })?;
        if !more {
            return Ok(None);
        }
        let line = self.record.position().map(|p| p.line() + self.line_offset).unwrap_or(0);
        let values = self
            .indices
            .iter()
            .map(|&i| match self.record.get(i) {
                Some(s) if !s.trim().is_empty() => Value::Text(s.to_string()),
                _ => Value::Empty,
            })
            .collect();
        // a line of fewer fields, or of more that are not empty, has its values shifted (an
        // unquoted comma or line break inside a value)
        let fields = self.record.len();
        let shifted = fields < self.width
            || (self.width..fields).any(|i| self.record.get(i).is_some_and(|s| !s.trim().is_empty()));
        Ok(Some(Row { line, values, ragged: shifted.then_some((fields, self.width)) }))
    }

    fn total_rows(&self) -> Option<u64> {
        self.total
    }

    fn encoding(&self) -> Option<&'static str> {
        Some(self.encoding)
    }
}
