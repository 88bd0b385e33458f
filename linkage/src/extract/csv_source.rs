//! CSV (and tab-separated text) in UTF-8 (with or without BOM), CP932 or UTF-16, streamed
//! through a decoder; quoted fields with embedded newlines are handled by the `csv` crate.

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

/// Bytes read to detect the encoding and the line ends.
const HEAD_BYTES: usize = 64 * 1024;

/// The first [`HEAD_BYTES`] of a file.
fn head(path: &Path) -> Result<Vec<u8>, ExtractError> {
    let mut head = vec![0u8; HEAD_BYTES];
    let mut f = File::open(path).map_err(|cause| ExtractError::Io { path: path.to_path_buf(), cause })?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(got) => n += got,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(cause) => return Err(ExtractError::Io { path: path.to_path_buf(), cause }),
        }
    }
    head.truncate(n);
    Ok(head)
}

/// The encoding whose byte order mark the text starts with, if any.
fn bom_encoding(head: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    [encoding_rs::UTF_8, encoding_rs::UTF_16LE, encoding_rs::UTF_16BE].into_iter().find(|e| head.starts_with(bom_of(e)))
}

/// Detects the encoding from the first 64 KiB: UTF-16 from its byte order mark (as Excel and
/// Windows write it), UTF-8 from its BOM or valid bytes, CP932 otherwise. UTF-16 without a byte
/// order mark is not guessed: zero bytes also pad the fields of legacy exports. It is named in the
/// mapping instead, which a header holding zero characters suggests.
fn detect(head: &[u8]) -> &'static encoding_rs::Encoding {
    if let Some(e) = bom_encoding(head) {
        return e;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        // a multi-byte character cut by the 64 KiB window is fine
        Err(e) => e.error_len().is_none() && head.len() == HEAD_BYTES,
    };
    if valid { encoding_rs::UTF_8 } else { encoding_rs::SHIFT_JIS }
}

/// The byte order mark of `enc`.
fn bom_of(enc: &'static encoding_rs::Encoding) -> &'static [u8] {
    match enc.name() {
        "UTF-8" => b"\xEF\xBB\xBF",
        "UTF-16LE" => &[0xFF, 0xFE],
        "UTF-16BE" => &[0xFE, 0xFF],
        _ => b"",
    }
}

/// `head` decoded in `enc`, without its byte order mark: what the reader will read.
fn decoded(head: &[u8], enc: &'static encoding_rs::Encoding) -> String {
    let body = head.strip_prefix(bom_of(enc)).unwrap_or(head);
    enc.decode_without_bom_handling(body).0.into_owned()
}

/// Whether the first line ends in CRLF.
fn crlf(text: &str) -> bool {
    text.find('\n').is_some_and(|i| text[..i].ends_with('\r'))
}

impl CsvSource {
    pub fn open(mapping: &Mapping, path: &Path, encoding: Encoding, wanted: &[Wanted]) -> Result<Self, ExtractError> {
        let head = head(path)?;
        let enc = match encoding {
            Encoding::Utf8 => encoding_rs::UTF_8,
            Encoding::Cp932 => encoding_rs::SHIFT_JIS,
            Encoding::Utf16 => {
                bom_encoding(&head).filter(|e| *e == encoding_rs::UTF_16BE).unwrap_or(encoding_rs::UTF_16LE)
            }
            Encoding::Auto => detect(&head),
        };
        let bom = !bom_of(enc).is_empty() && head.starts_with(bom_of(enc));
        let skip = u64::from(mapping.source.header_row.max(1) - 1);
        let text = decoded(&head, enc);
        // a file in another encoding than the one read may have no line break at all: the csv
        // reader would take all of it for the header (and the error would list it)
        // (a line may end in CR alone, as old Mac exports write)
        if head.len() == HEAD_BYTES && (text.matches(['\n', '\r']).count() as u64) <= skip {
            return Err(ExtractError::Format {
                path: path.to_path_buf(),
                message: format!(
                    "no end of the header line in the first 64 KiB when read as {}: the file is probably in another \
                     encoding (name it in `[source] encoding`, or leave that out to detect it), or its header line is \
                     longer than any header should be",
                    enc.name().to_lowercase()
                ),
            });
        }
        let file = File::open(path).map_err(|cause| ExtractError::Io { path: path.to_path_buf(), cause })?;
        let decoder = DecodeReaderBytesBuilder::new()
            .encoding(Some(enc))
            .bom_sniffing(enc != encoding_rs::SHIFT_JIS)
            .strip_bom(true)
            .build(BufReader::with_capacity(1 << 16, file));
        // the lines above the header (a title, blank lines) are skipped; line numbers count them
        let mut decoder = BufReader::new(decoder);
        let mut line = Vec::new();
        for _ in 0..skip {
            line.clear();
            decoder
                .read_until(b'\n', &mut line)
                .map_err(|cause| ExtractError::Io { path: path.to_path_buf(), cause })?;
        }
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .delimiter(mapping.delimiter())
            .from_reader(decoder);
        let header = reader
            .headers()
            .map_err(|e| ExtractError::Format {
                path: path.to_path_buf(),
                message: format!("cannot read the header: {}", csv_kind(&e)),
            })?
            .clone();
        let header: Vec<String> = header.iter().map(|h| h.trim_start_matches('\u{FEFF}').to_string()).collect();
        let indices = resolve(mapping, path, &header, wanted)?;
        let encoding = match (enc.name(), bom) {
            ("UTF-8", true) => "utf-8-bom",
            ("UTF-8", false) => "utf-8",
            ("UTF-16LE", _) => "utf-16le",
            ("UTF-16BE", _) => "utf-16be",
            _ => "cp932",
        };
        let line_offset = u64::from(crlf(&text)) + skip;
        Ok(CsvSource {
            path: path.to_path_buf(),
            reader,
            indices,
            record: csv::StringRecord::new(),
            // unnamed columns at the end of the header ("a,b,c,") are no fields a line must have
            width: header.iter().rposition(|h| !h.trim().is_empty()).map_or(0, |i| i + 1),
            total: lines(path, enc).ok().map(|n| n.saturating_sub(skip + 1)).filter(|n| *n > 0),
            encoding,
            line_offset,
        })
    }
}

/// Lines of a file (a last line without its line feed counts). A line feed byte is one in UTF-8
/// and CP932 alike: neither uses it inside a character. In UTF-16 a line feed is a whole code
/// unit (0x000A), which is counted at even offsets only.
fn lines(path: &Path, enc: &'static encoding_rs::Encoding) -> std::io::Result<u64> {
    let newline: &[u8] = match enc.name() {
        "UTF-16LE" => &[b'\n', 0],
        "UTF-16BE" => &[0, b'\n'],
        _ => b"\n",
    };
    let width = newline.len();
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    // `held`: bytes of a code unit cut by the last read, moved to the front of `buf`
    let (mut n, mut ends_with_newline, mut held) = (0u64, None, 0);
    loop {
        let got = file.read(&mut buf[held..])?;
        if got == 0 {
            break;
        }
        let end = held + got;
        let whole = end - end % width;
        if whole > 0 {
            n += if width == 1 {
                buf[..whole].iter().filter(|&&b| b == b'\n').count() as u64
            } else {
                buf[..whole].chunks_exact(width).filter(|u| *u == newline).count() as u64
            };
            ends_with_newline = Some(&buf[whole - width..whole] == newline);
        }
        buf.copy_within(whole..end, 0);
        held = end - whole;
    }
    Ok(n + u64::from(ends_with_newline == Some(false)))
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
