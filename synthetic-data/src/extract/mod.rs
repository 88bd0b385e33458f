//! Department extracts, each with its own column names, file format and encoding, and the
//! mapping TOML (the contract format of ARCHITECTURE.md) its custodian would write.

pub mod consultation;
pub mod education;
pub mod health;
pub mod identity;
pub mod nursery;
pub mod registry;
pub mod welfare;

use std::fs;
use std::path::Path;

use chrono::NaiveDate;
use rand::Rng;

use crate::SynthError;
use crate::noise::{NoiseRates, NoiseStats, Noiser};
use crate::population::{Household, Person};
use crate::sink::{Cell, Sink};
use crate::truth::TruthWriter;
use identity::{Identity, Style};

/// What every department writer shares while a household is written.
pub struct Context<'a> {
    pub rates: &'a NoiseRates,
    pub stats: &'a mut NoiseStats,
    pub truth: &'a mut TruthWriter,
    pub as_of: NaiveDate,
}

/// One department's output: its sink, its style and its row count.
pub struct DepartmentWriter {
    pub department: &'static str,
    pub style: Style,
    sink: Option<Box<dyn Sink>>,
    pub rows: u64,
    next_id: u64,
    lost: u64,
}

impl DepartmentWriter {
    /// Creates `<out>/<department>/` with the mapping file; the caller opens the sink inside it.
    pub fn create(
        out: &Path,
        department: &'static str,
        style: Style,
        mapping: &str,
        open: impl FnOnce(&Path) -> Result<Box<dyn Sink>, SynthError>,
    ) -> Result<Self, SynthError> {
        let dir = out.join(department);
        fs::create_dir_all(&dir).map_err(|e| SynthError::io(&dir, e))?;
        let mapping_path = dir.join(format!("{department}.toml"));
        fs::write(&mapping_path, mapping).map_err(|e| SynthError::io(&mapping_path, e))?;
        let sink = open(&dir)?;
        Ok(DepartmentWriter { department, style, sink: Some(sink), rows: 0, next_id: 1, lost: 0 })
    }

    /// The next sequence number for record ids.
    pub fn next_seq(&mut self) -> u64 {
        let n = self.next_id;
        self.next_id += 1;
        n
    }

    /// Renders `p`'s identity in this department's style; `build` turns it into a row.
    pub fn write<R: Rng>(
        &mut self,
        ctx: &mut Context,
        rng: &mut R,
        record_id: String,
        p: &Person,
        h: &Household,
        build: impl FnOnce(&Identity, &str, &mut Noiser, &mut R) -> Vec<Cell>,
    ) -> Result<(), SynthError> {
        let mut noiser = Noiser::new(ctx.rates, ctx.stats, self.style.registry);
        let id = identity::render(p, h, &self.style, &mut noiser, rng);
        let sep = identity::name_separator(&self.style, &mut noiser, rng);
        let row = build(&id, sep, &mut noiser, rng);
        if let Some(sink) = self.sink.as_mut() {
            sink.write_row(row)?;
        }
        self.rows += 1;
        ctx.truth.record(self.department, &record_id, p.person_id, h.household_id, &noiser.events)
    }

    pub fn finish(&mut self) -> Result<(), SynthError> {
        match self.sink.take() {
            Some(s) => {
                self.lost = s.lost_characters();
                s.finish()
            }
            None => Ok(()),
        }
    }

    /// Characters lost to the file's encoding; known once [`finish`](Self::finish) ran.
    pub fn lost_characters(&self) -> u64 {
        self.lost
    }
}

/// The kana column for a one-column reading: half-width systems separate with a half-width space.
pub fn kana_separator(style: &Style, sep: &str) -> &'static str {
    match (style.kana, sep) {
        (_, "") => "",
        (identity::KanaScript::Halfwidth, _) => " ",
        (_, " ") => " ",
        _ => "　",
    }
}
