//! What the gateway knows about the workspace's tables: each column's sensitivity, which
//! column identifies the person a row is about, and which column carries the district.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How sensitive a column is; the manifests and the linkage outputs declare it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// Keyed tokens, Bloom encodings and record_ref: usable to join and count, never shown,
    /// grouped on or compared with a value.
    IdentifierToken,
    /// person_id and household_id made by linkage: join, count and group keys, never shown or
    /// compared with a value.
    Pseudonym,
    /// Attributes that single out a person in combination (moves, grade, school, facility).
    QuasiIdentifier,
    /// 要配慮個人情報 and similar: welfare, health, absence, consultations.
    SpecialCare,
    /// Linkage diagnostics per pair: comparison levels, weights, probabilities.
    LinkageMetric,
    /// Safe to show row by row (district, department names).
    AggregateSafe,
}

impl Sensitivity {
    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::IdentifierToken => "identifier_token",
            Sensitivity::Pseudonym => "pseudonym",
            Sensitivity::QuasiIdentifier => "quasi_identifier",
            Sensitivity::SpecialCare => "special_care",
            Sensitivity::LinkageMetric => "linkage_metric",
            Sensitivity::AggregateSafe => "aggregate_safe",
        }
    }
}

impl fmt::Display for Sensitivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a person-key column identifies, best first: the gateway counts the persons a cell
/// describes with the best key in scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// A linked person (linkage's person_id).
    Person,
    /// A linked household: a cell of k households holds at least k persons.
    Household,
    /// One department's record; a person may have several, so a count of records can
    /// overstate persons. Used only where no linked key is in scope.
    Record,
}

#[derive(Clone, Debug, Serialize)]
pub struct ColumnMeta {
    pub name: String,
    pub sensitivity: Sensitivity,
}

/// One table of the catalog, named `schema.table` (for example `extracts.welfare`).
#[derive(Clone, Debug, Serialize)]
pub struct TableMeta {
    pub name: String,
    /// The department whose extract this is (None for linkage outputs).
    pub department: Option<String>,
    pub columns: Vec<ColumnMeta>,
    /// Columns that identify who a row is about.
    pub person_keys: Vec<(String, KeyKind)>,
    /// The column holding the district (小学校区 name), when rows belong to one.
    pub district_column: Option<String>,
}

impl TableMeta {
    pub fn column(&self, name: &str) -> Option<&ColumnMeta> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether each row stands for a person (or a person's record): a department's extract
    /// (before linkage too, when record_ref is its only key), or a table with a person or
    /// household key. Linkage pairs, keyed by records only, do not.
    pub fn holds_persons(&self) -> bool {
        self.department.is_some()
            || self.person_keys.iter().any(|(_, k)| matches!(k, KeyKind::Person | KeyKind::Household))
    }

    pub fn key_kind(&self, column: &str) -> Option<KeyKind> {
        self.person_keys.iter().find(|(c, _)| c == column).map(|(_, k)| *k)
    }
}

/// Every table a query may name.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Catalog {
    tables: BTreeMap<String, TableMeta>,
}

impl Catalog {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, table: TableMeta) {
        self.tables.insert(table.name.clone(), table);
    }

    /// By `schema.table`.
    pub fn table(&self, name: &str) -> Option<&TableMeta> {
        self.tables.get(name)
    }

    pub fn tables(&self) -> impl Iterator<Item = &TableMeta> {
        self.tables.values()
    }
}
