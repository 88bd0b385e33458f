//! The extract mapping (**contract**, ARCHITECTURE.md): how a custodian describes one extract —
//! where it is, its encoding, which source columns play which identity role, and which columns
//! are carried into the workspace with what sensitivity.
//!
//! ```
//! let text = r#"
//! department = "welfare"
//! [source]
//! path = "welfare.csv"
//! encoding = "cp932"
//! [identity]
//! record_id = "受給者番号"
//! name = "氏名"
//! birth_date = "生年月日"
//! [attributes]
//! benefit = { column = "給付種別", type = "string", sensitivity = "special_care" }
//! "#;
//! let m = linkage::mapping::Mapping::parse(text, "welfare.toml".as_ref())?;
//! assert_eq!(m.department, "welfare");
//! # Ok::<(), linkage::mapping::MappingError>(())
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::source_position::line_column;

/// A mapping file that cannot be used, with the place to fix it. Messages name columns and
/// settings, never values from the extract.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("cannot read mapping {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid { path: PathBuf, line: usize, column: usize, message: String },
}

/// Encoding of a CSV source.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub enum Encoding {
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "cp932")]
    Cp932,
    /// UTF-16, as Excel saves "Unicode テキスト": little-endian unless a byte order mark says
    /// big-endian.
    #[serde(rename = "utf-16")]
    Utf16,
    /// From the bytes: UTF-16 when a byte order mark says so, UTF-8 (with or without BOM) when
    /// the bytes are valid UTF-8, CP932 otherwise.
    #[default]
    #[serde(rename = "auto")]
    Auto,
}

/// The file format of a source, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Parquet,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Relative to the mapping file.
    pub path: Spanned<String>,
    #[serde(default)]
    pub encoding: Encoding,
    /// Worksheet of an .xlsx source; the first sheet when absent.
    #[serde(default)]
    pub sheet: Option<String>,
    /// The character between fields of a text source: a tab for `.tsv` and `.txt` (as Excel's
    /// "Unicode テキスト" writes them), a comma otherwise; `"\t"`, `";"` or `"|"` says otherwise.
    #[serde(default)]
    pub delimiter: Option<Spanned<String>>,
    /// Order of day and month in numeric dates that end with the year (3/4/1849): `dmy`,
    /// `mdy`, or `auto` (the default: the order is taken only when it is evident, otherwise the
    /// year alone is kept).
    #[serde(default)]
    pub date_order: crate::normalise::era_date::DayOrder,
    /// Order of a name held in one column (`identity.name`): `family_first` (the default, as
    /// Japanese registers write names) or `given_first` ("John Smith"). "Smith, John" is read
    /// as family, given in either.
    #[serde(default)]
    pub name_order: crate::normalise::name::NameOrder,
    /// The day the ages of `identity.age` were taken (a census day: "1851-03-30"); required when
    /// an age is mapped.
    #[serde(default)]
    pub age_on: Option<Spanned<String>>,
    /// The line (CSV) or row (.xlsx) holding the column names, 1-based: an export with a title
    /// above its header ("令和6年度 受給者一覧") says 2 or 3. The lines above it are skipped.
    #[serde(default = "first_line")]
    pub header_row: u32,
    /// Values that stand for "not known" in this extract's identity columns, read as blank
    /// beside the built-in ones (不明, 不詳, 未入力, -, *, N/A, unknown; the dates 1900-01-01,
    /// 1899-12-30, 1899-12-31 and 9999-12-31): a dummy resident number "0000000000", a system's
    /// own placeholder birthday. A listed date matches in every form it is written.
    #[serde(default)]
    pub unknown: Vec<String>,
}

fn first_line() -> u32 {
    1
}

/// How an extra quasi-identifier is encoded and compared.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// Bloom-filter encoding, compared by Dice similarity (names, places).
    Bloom,
    /// Keyed token, compared for equality (phone numbers, codes).
    Token,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extra {
    pub column: Spanned<String>,
    pub compare: Compare,
}

/// Identity roles → source columns. All optional except `record_id`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub record_id: Spanned<String>,
    pub name: Option<Spanned<String>>,
    pub family_name: Option<Spanned<String>>,
    pub given_name: Option<Spanned<String>>,
    pub name_kana: Option<Spanned<String>>,
    pub family_kana: Option<Spanned<String>>,
    pub given_kana: Option<Spanned<String>>,
    pub birth_date: Option<Spanned<String>>,
    /// An age on `[source] age_on` (or on each record's `age_on`), read as an approximate birth
    /// year where the birth date is blank or not mapped (censuses).
    pub age: Option<Spanned<String>>,
    /// The column holding the day (or only the year) each record's age was taken, for an extract
    /// of several censuses; one census names its day in `[source] age_on` instead.
    pub age_on: Option<Spanned<String>>,
    pub sex: Option<Spanned<String>>,
    pub address: Option<Spanned<String>>,
    pub street: Option<Spanned<String>>,
    pub locality: Option<Spanned<String>>,
    pub postcode: Option<Spanned<String>>,
    pub resident_id: Option<Spanned<String>>,
    pub household_id: Option<Spanned<String>>,
    pub national_id: Option<Spanned<String>>,
    #[serde(default)]
    pub extra: BTreeMap<String, Extra>,
}

impl Identity {
    /// (role, column) for every mapped role, record_id first, extras last.
    pub fn columns(&self) -> Vec<(&str, &Spanned<String>)> {
        let mut v: Vec<(&str, &Spanned<String>)> = vec![("record_id", &self.record_id)];
        let roles = [
            ("name", &self.name),
            ("family_name", &self.family_name),
            ("given_name", &self.given_name),
            ("name_kana", &self.name_kana),
            ("family_kana", &self.family_kana),
            ("given_kana", &self.given_kana),
            ("birth_date", &self.birth_date),
            ("age", &self.age),
            ("age_on", &self.age_on),
            ("sex", &self.sex),
            ("address", &self.address),
            ("street", &self.street),
            ("locality", &self.locality),
            ("postcode", &self.postcode),
            ("resident_id", &self.resident_id),
            ("household_id", &self.household_id),
            ("national_id", &self.national_id),
        ];
        v.extend(roles.into_iter().filter_map(|(r, c)| c.as_ref().map(|c| (r, c))));
        v.extend(self.extra.iter().map(|(k, e)| (k.as_str(), &e.column)));
        v
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AttributeType {
    String,
    Int,
    Float,
    Date,
    Bool,
}

/// Sensitivity class of a column in the workspace; the policy gateway decides by it.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// Safe in aggregates released inside the municipality.
    AggregateSafe,
    /// Narrows down a person when combined with others (school, grade, relation).
    QuasiIdentifier,
    /// 要配慮個人情報: health, welfare, consultations.
    SpecialCare,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    pub column: Spanned<String>,
    #[serde(rename = "type")]
    pub ty: AttributeType,
    pub sensitivity: Sensitivity,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    department: Spanned<String>,
    source: Source,
    identity: Identity,
    #[serde(default)]
    attributes: BTreeMap<Spanned<String>, Attribute>,
}

/// A validated mapping.
#[derive(Clone, Debug)]
pub struct Mapping {
    /// Short name, `[a-z0-9_]+`.
    pub department: String,
    pub source: Source,
    pub identity: Identity,
    pub attributes: BTreeMap<String, Attribute>,
    /// The day ages were taken (`[source] age_on`), when an age is mapped and the day is the
    /// same for every record.
    pub age_on: Option<chrono::NaiveDate>,
    /// The mapping file, for resolving the source path and for messages.
    pub file: PathBuf,
}

fn is_code_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Mapping {
    /// Reads and validates the mapping at `path`.
    pub fn load(path: &Path) -> Result<Mapping, MappingError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| MappingError::Read { path: path.to_path_buf(), source })?;
        Mapping::parse(&text, path)
    }

    /// Parses and validates mapping `text`; `path` is used for messages and relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Mapping, MappingError> {
        let invalid = |offset: usize, message: String| {
            let (line, column) = line_column(text, offset);
            MappingError::Invalid { path: path.to_path_buf(), line, column, message }
        };
        let raw: RawMapping = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            invalid(offset, e.message().trim().to_string())
        })?;

        let department = raw.department.get_ref().clone();
        if !is_code_name(&department) {
            return Err(invalid(
                raw.department.span().start,
                "department must be a short name of lowercase letters, digits and _ (e.g. \"welfare\")".into(),
            ));
        }
        let src = raw.source.path.get_ref();
        let format = format_of(src);
        if format.is_none() {
            return Err(invalid(
                raw.source.path.span().start,
                "source path must end in .csv, .tsv, .txt, .xlsx or .parquet".into(),
            ));
        }
        if raw.source.sheet.is_some() && format != Some(Format::Xlsx) {
            return Err(invalid(raw.source.path.span().start, "`sheet` applies to .xlsx sources only".into()));
        }
        if let Some(d) = &raw.source.delimiter {
            if format != Some(Format::Csv) {
                return Err(invalid(d.span().start, "`delimiter` applies to .csv, .tsv and .txt sources only".into()));
            }
            if delimiter_byte(d.get_ref()).is_none() {
                return Err(invalid(
                    d.span().start,
                    "`delimiter` must be one character other than a quote or a line break, e.g. \"\\t\", \";\" or \"|\"".into(),
                ));
            }
        }

        let id = &raw.identity;
        if let Some(n) = &id.name
            && (id.family_name.is_some() || id.given_name.is_some())
        {
            return Err(invalid(
                n.span().start,
                "map either `name` (one column) or `family_name` + `given_name`, not both".into(),
            ));
        }
        if let Some(n) = &id.name_kana
            && (id.family_kana.is_some() || id.given_kana.is_some())
        {
            return Err(invalid(
                n.span().start,
                "map either `name_kana` (one column) or `family_kana` + `given_kana`, not both".into(),
            ));
        }
        if id.record_id.get_ref().trim().is_empty() {
            return Err(invalid(id.record_id.span().start, "record_id must name a column".into()));
        }
        for (role, col) in id.columns() {
            if col.get_ref().trim().is_empty() {
                return Err(invalid(col.span().start, format!("`{role}` must name a column")));
            }
        }
        for name in id.extra.keys() {
            if !is_code_name(name) {
                let at = id.extra.get(name).map(|e| e.column.span().start).unwrap_or(0);
                return Err(invalid(at, format!("extra identity `{name}` must be lowercase letters, digits and _")));
            }
        }

        let age_on = match (&id.age, &raw.source.age_on, &id.age_on) {
            (None, None, None) => None,
            (Some(age), None, None) => {
                return Err(invalid(
                    age.span().start,
                    "`age` needs the day the ages were taken: set `age_on` in [source] (e.g. age_on = \"1851-03-30\", the census day), or map a column holding each record's day as `age_on` in [identity]".into(),
                ));
            }
            (None, Some(on), _) | (None, None, Some(on)) => {
                return Err(invalid(on.span().start, "`age_on` applies only when `identity.age` is mapped".into()));
            }
            (Some(_), Some(_), Some(column)) => {
                return Err(invalid(
                    column.span().start,
                    "set the day the ages were taken either in [source] (one day for the extract) or as a column in [identity], not both".into(),
                ));
            }
            (Some(_), None, Some(_)) => None,
            (Some(_), Some(on), None) => match crate::normalise::era_date::parse(on.get_ref()) {
                Ok(Some(d)) => Some(d),
                Ok(None) | Err(_) => {
                    return Err(invalid(
                        on.span().start,
                        "`age_on` must be a whole date (e.g. \"1851-03-30\" or \"令和7年4月1日\")".into(),
                    ));
                }
            },
        };

        // attributes must not carry an identity column into the workspace in the clear
        let identity_columns: Vec<&str> = id.columns().iter().map(|(_, c)| c.get_ref().as_str()).collect();
        let mut attributes = BTreeMap::new();
        for (name, attr) in raw.attributes {
            if !is_code_name(name.get_ref()) {
                return Err(invalid(
                    name.span().start,
                    "attribute names must be lowercase letters, digits and _ (they become workspace columns)".into(),
                ));
            }
            if identity_columns.contains(&attr.column.get_ref().as_str()) {
                return Err(invalid(
                    attr.column.span().start,
                    format!(
                        "attribute `{}` maps a column already used as an identity role; identity columns are pseudonymised and never carried in the clear",
                        name.get_ref()
                    ),
                ));
            }
            if matches!(name.get_ref().as_str(), "record_ref" | "person_id" | "household_id" | "department") {
                return Err(invalid(
                    name.span().start,
                    format!("`{}` is a reserved workspace column name", name.get_ref()),
                ));
            }
            attributes.insert(name.into_inner(), attr);
        }

        Ok(Mapping {
            department,
            source: raw.source,
            identity: raw.identity,
            attributes,
            age_on,
            file: path.to_path_buf(),
        })
    }

    /// The source file, resolved relative to the mapping file.
    pub fn source_path(&self) -> PathBuf {
        let base = self.file.parent().unwrap_or(Path::new(""));
        base.join(self.source.path.get_ref())
    }

    pub fn format(&self) -> Format {
        format_of(self.source.path.get_ref()).unwrap_or(Format::Csv)
    }

    /// The byte between fields of a text source: the mapping's `delimiter`, else a tab for
    /// `.tsv` and `.txt`, else a comma.
    pub fn delimiter(&self) -> u8 {
        if let Some(b) = self.source.delimiter.as_ref().and_then(|d| delimiter_byte(d.get_ref())) {
            return b;
        }
        let lower = self.source.path.get_ref().to_ascii_lowercase();
        if lower.ends_with(".tsv") || lower.ends_with(".txt") { b'\t' } else { b',' }
    }
}

/// A delimiter given as one ASCII character that cannot be part of a quoted field's syntax.
fn delimiter_byte(d: &str) -> Option<u8> {
    match d.as_bytes() {
        [b] if b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') => Some(*b),
        _ => None,
    }
}

fn format_of(path: &str) -> Option<Format> {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".csv") || lower.ends_with(".tsv") || lower.ends_with(".txt") {
        Some(Format::Csv)
    } else if lower.ends_with(".xlsx") {
        Some(Format::Xlsx)
    } else if lower.ends_with(".parquet") {
        Some(Format::Parquet)
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
