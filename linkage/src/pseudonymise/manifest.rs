//! `manifest.json`: what a pseudonymised extract holds and how it was made. It holds no key and
//! no value from the extract: counts, a fingerprint of the key, a hash of the source file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::encode::{BloomSpec, TokenSalt};

pub const MANIFEST_FORMAT: &str = "mimamori-extract-v1";

/// Sensitivity of a workspace column, for the policy gateway's catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnSensitivity {
    /// `record_ref`, tokens and Bloom encodings: pseudonyms of direct identifiers.
    IdentifierToken,
    QuasiIdentifier,
    SpecialCare,
    AggregateSafe,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    /// Arrow type, e.g. `FixedSizeBinary(16)`, `Utf8`, `Date32`.
    pub data_type: String,
    pub sensitivity: ColumnSensitivity,
    /// The identity role or attribute it comes from.
    pub source: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldCounts {
    pub blank: u64,
    /// Values holding a lost character (外字, undecodable byte): unknown, not different.
    pub wildcard: u64,
    /// Values that could not be read as their type (an impossible date, a non-number).
    pub invalid: u64,
    /// Dates known only in part (a year alone, a year and month, day and month ambiguous, or a
    /// birth year read from an age): their known parts still compare. For a name or reading:
    /// one column without a space between family and given name, compared whole.
    #[serde(default)]
    pub partial: u64,
    /// Cells read as blank because they held a placeholder for "not known": 不明, a dash,
    /// 1900-01-01, or a value listed under `[source] unknown`. A field left with no value at
    /// all is counted in `blank` too.
    #[serde(default)]
    pub placeholder: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// File name only, never a path on the custodian's machine.
    pub file: String,
    pub format: String,
    pub encoding: Option<String>,
    pub blake3: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodingInfo {
    pub token_bytes: usize,
    pub token_hash: String,
    /// Whether name-part tokens are bound to the birth year (`none` in
    /// manifests written before the setting existed).
    #[serde(default)]
    pub token_salt: TokenSalt,
    pub bloom: Vec<BloomSpec>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub department: String,
    /// UTC, RFC 3339.
    pub created: String,
    pub rows: u64,
    /// Rows not written, by reason.
    pub rejected_rows: BTreeMap<String, u64>,
    pub linkage_key_fingerprint: String,
    pub normaliser_version: String,
    pub source: SourceInfo,
    pub encoding: EncodingInfo,
    pub columns: Vec<ColumnInfo>,
    /// Per identity role or attribute.
    pub counts: BTreeMap<String, FieldCounts>,
    /// Per field, rows holding a value that implausibly many rows hold (a birth date, name,
    /// address or number shared by over 1% of the rows): probably an unlisted placeholder for
    /// "not known". Such rows agree with each other on that field when linked.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub frequent_values: BTreeMap<String, u64>,
    /// The day the extract's ages were taken (`[source] age_on`), when it maps an age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_on: Option<chrono::NaiveDate>,
    /// Data files of the extract, relative to its folder.
    pub files: Vec<String>,
}
