//! Readers of department extracts: CSV (UTF-8 with or without BOM, CP932, or detected), Excel
//! `.xlsx` (text, numbers, date cells and serial dates) and Parquet. Each yields rows of the
//! columns a mapping names, in that order, with the line (or row) they came from.
//!
//! Bytes that do not decode become U+FFFD, which normalisation treats as a lost character.
//! Errors name the file and the line, never a value.

mod csv_source;
mod parquet_source;
mod xlsx_source;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::mapping::{Format, Mapping};

/// One cell, typed as the source had it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Empty,
    Text(String),
    Date(NaiveDate),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Value {
    /// The cell as text (numbers without a trailing `.0`, dates ISO); None when empty.
    pub fn as_text(&self) -> Option<String> {
        self.text().map(std::borrow::Cow::into_owned)
    }

    /// [`Value::as_text`] without copying a text cell.
    pub fn text(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        match self {
            Value::Empty => None,
            Value::Text(s) if s.trim().is_empty() => None,
            Value::Text(s) => Some(Cow::Borrowed(s)),
            Value::Date(d) => Some(Cow::Owned(d.format("%Y-%m-%d").to_string())),
            Value::Int(i) => Some(Cow::Owned(i.to_string())),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(Cow::Owned(format!("{}", *f as i64))),
            Value::Float(f) => Some(Cow::Owned(f.to_string())),
            Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        }
    }

    /// Whether the cell holds no value (empty, or white space only).
    pub fn is_blank(&self) -> bool {
        match self {
            Value::Empty => true,
            Value::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

/// A row of the requested columns.
#[derive(Clone, Debug)]
pub struct Row {
    /// 1-based line of a CSV file (of the record's first line), or row of a sheet; the header is line 1.
    pub line: u64,
    pub values: Vec<Value>,
    /// A CSV line of another number of fields than the header, (fields, header's): its values
    /// may stand in the wrong columns. Trailing empty fields do not count.
    pub ragged: Option<(usize, usize)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("cannot read {path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    /// `available`: the header's columns (when the header is known to be one), and what may
    /// have gone wrong.
    #[error("{mapping}: column `{column}` (mapped as {role}) is not in {path}; {available}")]
    MissingColumn { mapping: PathBuf, path: PathBuf, role: String, column: String, available: String },
    #[error("{path}:{line}: {message}")]
    Row { path: PathBuf, line: u64, message: String },
}

/// A stream of rows.
pub trait RowSource {
    fn next_row(&mut self) -> Result<Option<Row>, ExtractError>;
    /// Rows in the source when known in advance (sheets, Parquet), or at most this many (a
    /// CSV's lines below the header; values with line breaks make it more than the rows).
    fn total_rows(&self) -> Option<u64>;
    /// The encoding a CSV was read in (`utf-8`, `utf-8-bom`, `cp932`, `utf-16le`, `utf-16be`);
    /// None for other formats.
    fn encoding(&self) -> Option<&'static str> {
        None
    }
}

/// A requested column: the role it plays and its header in the source.
#[derive(Clone, Debug)]
pub struct Wanted {
    pub role: String,
    pub column: String,
}

/// Names of a header listed in an error, at most.
const MAX_LISTED: usize = 200;

/// Characters of one listed name, at most: a longer one is counted, not listed.
const MAX_NAME_CHARS: usize = 40;

/// Indices of `wanted` in `header`, or the error naming the first missing one.
///
/// The error lists the file's column names only when the line read as the header holds at least
/// one of the mapping's columns (or the source is Parquet, whose names are its schema's). A line
/// that holds none is perhaps no header at all: a file without one, a wrong `header_row`, or a
/// wrong encoding that ran the whole file into one line. Listing it could quote a record.
fn resolve(mapping: &Mapping, path: &Path, header: &[String], wanted: &[Wanted]) -> Result<Vec<usize>, ExtractError> {
    let found: Vec<Option<usize>> = wanted.iter().map(|w| header.iter().position(|h| h.trim() == w.column)).collect();
    let Some(missing) = found.iter().position(Option::is_none) else {
        return Ok(found.into_iter().flatten().collect());
    };
    // a field holding a line break is no column name: a quote left open in the header runs the
    // records below into it
    let is_header = mapping.format() == Format::Parquet
        || (found.iter().any(Option::is_some) && !header.iter().any(|h| h.contains(['\n', '\r'])));
    let available = if is_header {
        let mut names: Vec<String> = header
            .iter()
            .take(MAX_LISTED)
            .map(|h| match h.chars().count() {
                n if n > MAX_NAME_CHARS => format!("(a name of {n} characters)"),
                _ => h.clone(),
            })
            .collect();
        if header.len() > MAX_LISTED {
            names.push(format!("and {} more", header.len() - MAX_LISTED));
        }
        format!("the file's columns are: {}", names.join(", "))
    } else {
        format!(
            "none of the mapping's {} column{} is on the line read as the header, so it may not be one \
             (its {} field{} are not listed, as they may hold a record)",
            wanted.len(),
            if wanted.len() == 1 { "" } else { "s" },
            header.len(),
            if header.len() == 1 { "" } else { "s" },
        )
    };
    let w = &wanted[missing];
    Err(ExtractError::MissingColumn {
        mapping: mapping.file.clone(),
        path: path.to_path_buf(),
        role: w.role.clone(),
        column: w.column.clone(),
        available: format!("{available}{}", hint(mapping, is_header, header.iter().any(|h| h.contains('\0')))),
    })
}

/// What may have gone wrong when a mapped column is not in the header: the wrong encoding (a
/// garbled header), no header on the line read as one (a title above it, or none at all).
/// `listed`: whether the header's names were listed; `zeros`: whether they hold zero characters,
/// as text in UTF-16 read in another encoding does.
fn hint(mapping: &Mapping, listed: bool, zeros: bool) -> String {
    let named = match (mapping.format(), mapping.source.encoding) {
        (Format::Csv, crate::mapping::Encoding::Cp932) => Some("cp932"),
        (Format::Csv, crate::mapping::Encoding::Utf8) => Some("utf-8"),
        (Format::Csv, crate::mapping::Encoding::Utf16) => Some("utf-16"),
        _ => None,
    };
    let (these, they) = if listed { ("these names look", "they are") } else { ("the names look", "that line is") };
    let mut hint = named.map_or_else(String::new, |e| {
        format!(
            ". If {these} garbled, the file is not in the encoding the mapping names ({e}): leave `[source] encoding` out to detect it"
        )
    });
    if zeros && mapping.source.encoding != crate::mapping::Encoding::Utf16 {
        hint.push_str(
            ". The line holds zero characters: the file may be UTF-16 without a byte order mark; name it with `[source] encoding = \"utf-16\"`",
        );
    }
    if mapping.format() != Format::Parquet {
        hint.push_str(&format!(
            ". If {they} a title rather than the column names, set `[source] header_row` to the line of the column names (now {}); a file without column names needs a line of them added",
            mapping.source.header_row
        ));
    }
    hint
}

/// Opens the mapping's source for the `wanted` columns.
pub fn open(mapping: &Mapping, wanted: &[Wanted]) -> Result<Box<dyn RowSource>, ExtractError> {
    let path = mapping.source_path();
    Ok(match mapping.format() {
        Format::Csv => Box::new(csv_source::CsvSource::open(mapping, &path, mapping.source.encoding, wanted)?),
        Format::Xlsx => {
            Box::new(xlsx_source::XlsxSource::open(mapping, &path, mapping.source.sheet.as_deref(), wanted)?)
        }
        Format::Parquet => Box::new(parquet_source::ParquetSource::open(mapping, &path, wanted)?),
    })
}

/// BLAKE3 of the source file, for the manifest.
pub fn file_hash(path: &Path) -> Result<String, ExtractError> {
    let mut h = blake3::Hasher::new();
    let file = std::fs::File::open(path).map_err(|cause| ExtractError::Io { path: path.to_path_buf(), cause })?;
    h.update_reader(file).map_err(|cause| ExtractError::Io { path: path.to_path_buf(), cause })?;
    Ok(h.finalize().to_hex().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(dir: &Path, file: &str, encoding: &str) -> Mapping {
        let text = format!(
            "department = \"t\"\n[source]\npath = \"{file}\"\nencoding = \"{encoding}\"\n[identity]\nrecord_id = \"番号\"\nname = \"氏名\"\n"
        );
        let path = dir.join("t.toml");
        std::fs::write(&path, &text).unwrap();
        Mapping::load(&path).unwrap()
    }

    fn wanted() -> Vec<Wanted> {
        vec![
            Wanted { role: "record_id".into(), column: "番号".into() },
            Wanted { role: "name".into(), column: "氏名".into() },
        ]
    }

    fn rows(m: &Mapping) -> Vec<(u64, Vec<Option<String>>)> {
        let mut src = open(m, &wanted()).unwrap();
        let mut out = Vec::new();
        while let Some(r) = src.next_row().unwrap() {
            out.push((r.line, r.values.iter().map(Value::as_text).collect()));
        }
        out
    }

    #[test]
    fn csv_in_every_encoding_with_quoted_newlines() {
        let dir = tempfile::tempdir().unwrap();
        let text = "番号,氏名\r\nA1,\"山田\n花子\"\r\nA2,髙橋　太郎\r\n";
        let (cp932, _, _) = encoding_rs::SHIFT_JIS.encode(text);
        let cases: [(&str, Vec<u8>, &str, &str); 4] = [
            ("u.csv", text.as_bytes().to_vec(), "utf-8", "utf-8"),
            ("b.csv", [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(), "auto", "utf-8-bom"),
            ("s.csv", cp932.to_vec(), "cp932", "cp932"),
            ("a.csv", cp932.to_vec(), "auto", "cp932"),
        ];
        for (file, bytes, encoding, detected) in cases {
            std::fs::write(dir.path().join(file), &bytes).unwrap();
            let m = mapping(dir.path(), file, encoding);
            let got = rows(&m);
            assert_eq!(got.len(), 2, "{file}");
            assert_eq!(got[0].1[1].as_deref(), Some("山田\n花子"), "{file}");
            assert_eq!(got[1].1[1].as_deref(), Some("髙橋　太郎"), "{file}");
            // the second record starts on line 4: the quoted field spans two lines
            assert_eq!((got[0].0, got[1].0), (2, 4), "{file}");
            assert_eq!(open(&m, &wanted()).unwrap().encoding(), Some(detected), "{file}");
        }
    }

    /// Excel's "Unicode テキスト": UTF-16 with tabs between fields, in either byte order, with or
    /// without a byte order mark; a quoted field may hold a line break and a tab.
    #[test]
    fn tab_separated_utf16_in_either_byte_order() {
        let dir = tempfile::tempdir().unwrap();
        let text = "番号\t氏名\r\nA1\t\"山田\n\t花子\"\r\nA2\t髙橋　太郎\r\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let cases: [(&str, Vec<u8>, &str, &str); 4] = [
            ("le.txt", [[0xFF, 0xFE].as_slice(), &le].concat(), "auto", "utf-16le"),
            ("be.txt", [[0xFE, 0xFF].as_slice(), &be].concat(), "auto", "utf-16be"),
            ("be16.tsv", [[0xFE, 0xFF].as_slice(), &be].concat(), "utf-16", "utf-16be"),
            ("nobom16.txt", le.clone(), "utf-16", "utf-16le"),
        ];
        for (file, bytes, encoding, detected) in cases {
            std::fs::write(dir.path().join(file), &bytes).unwrap();
            let m = mapping(dir.path(), file, encoding);
            let got = rows(&m);
            assert_eq!(got.len(), 2, "{file}");
            assert_eq!(got[0].1[1].as_deref(), Some("山田\n\t花子"), "{file}");
            assert_eq!(got[1].1[1].as_deref(), Some("髙橋　太郎"), "{file}");
            assert_eq!((got[0].0, got[1].0), (2, 4), "{file}");
            let src = open(&m, &wanted()).unwrap();
            assert_eq!(src.encoding(), Some(detected), "{file}");
            // lines below the header, for the progress bar: 3 (one inside the quoted name)
            assert_eq!(src.total_rows(), Some(3), "{file}");
        }
        // without a byte order mark UTF-16 is not guessed, but the error says what to name
        std::fs::write(dir.path().join("guess.txt"), &le).unwrap();
        let err = open(&mapping(dir.path(), "guess.txt", "auto"), &wanted()).err().unwrap().to_string();
        assert!(err.contains("encoding = \"utf-16\""), "{err}");
    }

    /// A line read as the header that holds none of the mapping's columns may be a record (no
    /// header, a wrong header_row, a wrong encoding): the error does not list it. A header that
    /// holds some of them is one, and the error lists its names.
    #[test]
    fn a_line_that_may_be_a_record_is_not_listed_in_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let record = "0001234567,浜田　総次郎,西町3丁目15番23号";
        std::fs::write(dir.path().join("n.csv"), format!("{record}\n0001234568,浜田　朋誉,西町3丁目15番23号\n"))
            .unwrap();
        let err = open(&mapping(dir.path(), "n.csv", "auto"), &wanted()).err().unwrap().to_string();
        for value in record.split(',') {
            assert!(!err.contains(value), "{err}");
        }
        assert!(err.contains("not listed") && err.contains("header_row"), "{err}");
        // a UTF-8 file of more than 64 KiB named as UTF-16 has no line break in that encoding:
        // refused before it is read as one header
        let big: String = std::iter::once("番号,氏名\n".to_string())
            .chain((0..4000).map(|i| format!("{i:07},浜田　総次郎\n")))
            .collect();
        std::fs::write(dir.path().join("big.csv"), &big).unwrap();
        let err = open(&mapping(dir.path(), "big.csv", "utf-16"), &wanted()).err().unwrap().to_string();
        assert!(err.contains("no end of the header line") && !err.contains("浜田"), "{err}");
        let garbled = encoding_rs::UTF_16LE.decode_without_bom_handling(big.as_bytes()).0;
        assert!(!err.contains(&garbled.chars().take(3).collect::<String>()), "{err}");
        // lines ending in CR alone (old Mac exports) are lines: such a file opens
        let cr: String = std::iter::once("番号,氏名\r".to_string())
            .chain((0..4000).map(|i| format!("{i:07},浜田　総次郎\r")))
            .collect();
        std::fs::write(dir.path().join("cr.csv"), &cr).unwrap();
        assert_eq!(rows(&mapping(dir.path(), "cr.csv", "utf-8")).len(), 4000);
        // nor is a header whose open quote ran a record into it
        std::fs::write(dir.path().join("q.csv"), format!("番号,\"氏名,生年月日\n{record}\n")).unwrap();
        let err = open(&mapping(dir.path(), "q.csv", "auto"), &wanted()).err().unwrap().to_string();
        assert!(!err.contains("浜田") && err.contains("not listed"), "{err}");
        // a header with one mapped column is one: its names are listed
        std::fs::write(dir.path().join("h.csv"), "番号,名前\nA1,x\n").unwrap();
        let err = open(&mapping(dir.path(), "h.csv", "auto"), &wanted()).err().unwrap().to_string();
        assert!(err.contains("番号, 名前"), "{err}");
    }

    /// Zero bytes padding the fields of a legacy export are no sign of UTF-16.
    #[test]
    fn zero_padded_fields_stay_in_their_encoding() {
        let dir = tempfile::tempdir().unwrap();
        let text = "番号,氏名\nA1\0\0\0\0,山田\0\0\0\0\0\0\nA2\0\0\0\0,鈴木\0\0\0\0\0\0\n";
        let (cp932, _, _) = encoding_rs::SHIFT_JIS.encode(text);
        for (file, bytes, detected) in
            [("u.csv", text.as_bytes().to_vec(), "utf-8"), ("s.csv", cp932.to_vec(), "cp932")]
        {
            std::fs::write(dir.path().join(file), &bytes).unwrap();
            let src = open(&mapping(dir.path(), file, "auto"), &wanted()).unwrap();
            assert_eq!(src.encoding(), Some(detected), "{file}");
        }
    }

    #[test]
    fn a_delimiter_the_mapping_names_splits_the_fields() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.csv"), "番号;氏名\nA1;山田,花子\n").unwrap();
        let path = dir.path().join("t.toml");
        mapping(dir.path(), "s.csv", "utf-8");
        let toml = std::fs::read_to_string(&path).unwrap().replace("[source]\n", "[source]\ndelimiter = \";\"\n");
        std::fs::write(&path, toml).unwrap();
        let got = rows(&Mapping::load(&path).unwrap());
        assert_eq!(got[0].1[1].as_deref(), Some("山田,花子"));
    }

    #[test]
    fn undecodable_bytes_become_lost_characters() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("x.csv"),
            b"\xE7\x95\xAA\xE5\x8F\xB7,\xE6\xB0\x8F\xE5\x90\x8D\nA1,\xE5\xB1\xB1\xFF\n",
        )
        .unwrap();
        let got = rows(&mapping(dir.path(), "x.csv", "utf-8"));
        let name = got[0].1[1].clone().unwrap();
        assert!(crate::normalise::has_wildcard(&crate::normalise::width::fold(&name)));
    }

    #[test]
    fn a_title_above_the_header_is_skipped_from_the_line_the_mapping_names() {
        let dir = tempfile::tempdir().unwrap();
        for (eol, file) in [("\n", "t.csv"), ("\r\n", "tc.csv")] {
            let text = ["令和6年度 受給者一覧", "", "番号,氏名", "A1,山田　花子", "A2,鈴木　一郎", ""].join(eol);
            std::fs::write(dir.path().join(file), text).unwrap();
            let m = mapping(dir.path(), file, "utf-8");
            let err = open(&m, &wanted()).err().unwrap().to_string();
            assert!(err.contains("header_row") && err.contains("(now 1)"), "{err}");
            let path = dir.path().join("t.toml");
            let toml = std::fs::read_to_string(&path).unwrap().replace("[source]\n", "[source]\nheader_row = 3\n");
            std::fs::write(&path, toml).unwrap();
            let got = rows(&Mapping::load(&path).unwrap());
            assert_eq!(got.len(), 2, "{file}");
            assert_eq!(got[0].1[1].as_deref(), Some("山田　花子"));
            assert_eq!((got[0].0, got[1].0), (4, 5), "{file}: lines as in the file");
        }
    }

    #[test]
    fn a_missing_column_names_the_column_the_role_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("y.csv"), "番号,名前\nA1,x\n").unwrap();
        let m = mapping(dir.path(), "y.csv", "utf-8");
        let err = open(&m, &wanted()).err().unwrap().to_string();
        assert!(err.contains("氏名") && err.contains("name") && err.contains("y.csv") && err.contains("名前"), "{err}");
    }
}
