//! CSV as Japanese municipal systems export it: CP932 with CRLF (characters outside CP932
//! become `?`, as in real exports), or UTF-8 with or without a BOM.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{Cell, Column, Sink};
use crate::SynthError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Cp932,
    Utf8,
    Utf8Bom,
}

pub struct CsvSink {
    path: PathBuf,
    out: BufWriter<File>,
    encoding: Encoding,
    terminator: csv::Terminator,
    line: Vec<u8>,
    /// Characters that CP932 could not hold and were written as `?`.
    pub lost_characters: u64,
}

impl CsvSink {
    pub fn create(path: &Path, columns: &[Column], encoding: Encoding) -> Result<Self, SynthError> {
        let file = File::create(path).map_err(|e| SynthError::io(path, e))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        if encoding == Encoding::Utf8Bom {
            out.write_all(b"\xEF\xBB\xBF").map_err(|e| SynthError::io(path, e))?;
        }
        let terminator = if encoding == Encoding::Utf8 { csv::Terminator::Any(b'\n') } else { csv::Terminator::CRLF };
        let mut sink =
            CsvSink { path: path.to_path_buf(), out, encoding, terminator, line: Vec::new(), lost_characters: 0 };
        sink.write_record(columns.iter().map(|c| c.name.to_string()).collect())?;
        Ok(sink)
    }

    fn write_record(&mut self, fields: Vec<String>) -> Result<(), SynthError> {
        let path = &self.path;
        // each record is quoted as a unit so that CP932 encoding never splits a character
        self.line.clear();
        {
            let mut w =
                csv::WriterBuilder::new().terminator(self.terminator).buffer_capacity(512).from_writer(&mut self.line);
            w.write_record(&fields).map_err(|e| SynthError::io(path, e.into()))?;
            w.flush().map_err(|e| SynthError::io(path, e))?;
        }
        let bytes = &self.line;
        match self.encoding {
            Encoding::Cp932 => {
                let text = String::from_utf8_lossy(bytes);
                let (encoded, lost) = encode_cp932(&text);
                self.lost_characters += lost;
                self.out.write_all(&encoded).map_err(|e| SynthError::io(path, e))?;
            }
            Encoding::Utf8 | Encoding::Utf8Bom => {
                self.out.write_all(bytes).map_err(|e| SynthError::io(path, e))?;
            }
        }
        Ok(())
    }
}

/// Encodes to CP932 (Windows-31J), writing `?` for each character it cannot hold.
pub fn encode_cp932(text: &str) -> (Vec<u8>, u64) {
    let mut encoder = encoding_rs::SHIFT_JIS.new_encoder();
    let mut out = Vec::with_capacity(text.len() * 2);
    let mut lost = 0;
    let mut rest = text;
    loop {
        let mut buf = [0u8; 4096];
        let (result, read, written) = encoder.encode_from_utf8_without_replacement(rest, &mut buf, true);
        out.extend_from_slice(&buf[..written]);
        rest = &rest[read..];
        match result {
            encoding_rs::EncoderResult::InputEmpty => break,
            encoding_rs::EncoderResult::OutputFull => {}
            encoding_rs::EncoderResult::Unmappable(_) => {
                out.push(b'?');
                lost += 1;
            }
        }
    }
    (out, lost)
}

impl Sink for CsvSink {
    fn lost_characters(&self) -> u64 {
        self.lost_characters
    }

    fn write_row(&mut self, row: Vec<Cell>) -> Result<(), SynthError> {
        self.write_record(row.iter().map(Cell::to_text).collect())
    }

    fn finish(mut self: Box<Self>) -> Result<(), SynthError> {
        self.out.flush().map_err(|e| SynthError::io(&self.path, e))?;
        self.out.get_ref().sync_all().map_err(|e| SynthError::io(&self.path, e))
    }
}
