//! Table writers in the formats departments export: CSV in CP932 or UTF-8, Excel, Parquet.
//! Each streams rows to disk so a million records generate in bounded memory.

pub mod csv;
pub mod parquet;
pub mod xlsx;

use chrono::NaiveDate;

use crate::SynthError;

/// A column of an extract and the type it is written with.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Int,
    Date,
    Bool,
}

pub const fn text(name: &'static str) -> Column {
    Column { name, ty: ColumnType::Text }
}
pub const fn int(name: &'static str) -> Column {
    Column { name, ty: ColumnType::Int }
}
pub const fn date(name: &'static str) -> Column {
    Column { name, ty: ColumnType::Date }
}
pub const fn boolean(name: &'static str) -> Column {
    Column { name, ty: ColumnType::Bool }
}

/// One cell; `None` is an empty cell.
#[derive(Clone, Debug)]
pub enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
    Date(Option<NaiveDate>),
    Bool(Option<bool>),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(Some(s.into()))
    }

    /// The cell as CSV text: dates ISO, booleans 1/0, empty for none.
    pub fn to_text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone().unwrap_or_default(),
            Cell::Int(i) => i.map(|v| v.to_string()).unwrap_or_default(),
            Cell::Date(d) => d.map(|v| v.format("%Y-%m-%d").to_string()).unwrap_or_default(),
            Cell::Bool(b) => b.map(|v| if v { "1" } else { "0" }.to_string()).unwrap_or_default(),
        }
    }
}

/// A destination for the rows of one extract.
pub trait Sink {
    fn write_row(&mut self, row: Vec<Cell>) -> Result<(), SynthError>;
    /// Characters the file's encoding could not hold, written as `?`.
    fn lost_characters(&self) -> u64 {
        0
    }
    /// Flushes and closes the file; until then it may be incomplete.
    fn finish(self: Box<Self>) -> Result<(), SynthError>;
}
