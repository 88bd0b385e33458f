//! Ground truth: which person and household each record belongs to (`truth.csv`), the latent
//! outcomes of each child (`outcomes.csv`), and each noise applied (`noise.csv`).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::SynthError;
use crate::noise::NoiseEvent;
use crate::population::Household;

type Out = csv::Writer<BufWriter<File>>;

pub struct TruthWriter {
    dir: PathBuf,
    truth: Out,
    outcomes: Out,
    noise: Out,
    pub records: u64,
}

fn open(dir: &Path, name: &str, header: &[&str]) -> Result<Out, SynthError> {
    let path = dir.join(name);
    let file = File::create(&path).map_err(|e| SynthError::io(&path, e))?;
    let mut w = csv::WriterBuilder::new().from_writer(BufWriter::with_capacity(1 << 16, file));
    w.write_record(header).map_err(|e| SynthError::io(&path, e.into()))?;
    Ok(w)
}

impl TruthWriter {
    pub fn create(dir: &Path) -> Result<Self, SynthError> {
        Ok(TruthWriter {
            dir: dir.to_path_buf(),
            truth: open(dir, "truth.csv", &["department", "record_id", "person_id", "household_id"])?,
            outcomes: open(
                dir,
                "outcomes.csv",
                &[
                    "person_id",
                    "household_id",
                    "district",
                    "poverty",
                    "maltreatment_risk",
                    "school_refusal",
                    "single_parent",
                    "outside_registry",
                    "public_assistance",
                    "foreign",
                    "disability",
                ],
            )?,
            noise: open(dir, "noise.csv", &["department", "record_id", "field", "kind"])?,
            records: 0,
        })
    }

    fn err(&self, name: &str, e: csv::Error) -> SynthError {
        SynthError::io(&self.dir.join(name), e.into())
    }

    pub fn record(
        &mut self,
        department: &str,
        record_id: &str,
        person_id: u64,
        household_id: u64,
        events: &[NoiseEvent],
    ) -> Result<(), SynthError> {
        self.records += 1;
        self.truth
            .write_record([department, record_id, &person_id.to_string(), &household_id.to_string()])
            .map_err(|e| self.err("truth.csv", e))?;
        for ev in events {
            self.noise
                .write_record([department, record_id, ev.field, ev.kind.as_str()])
                .map_err(|e| self.err("noise.csv", e))?;
        }
        Ok(())
    }

    pub fn outcomes(&mut self, h: &Household) -> Result<(), SynthError> {
        let flag = |b: bool| if b { "1" } else { "0" };
        for c in h.children() {
            let Some(latent) = &c.child else { continue };
            self.outcomes
                .write_record([
                    c.person_id.to_string().as_str(),
                    &h.household_id.to_string(),
                    h.district.id,
                    flag(h.latent.poverty),
                    flag(latent.maltreatment_risk),
                    latent.school_refusal.map(flag).unwrap_or(""),
                    flag(h.single_parent()),
                    flag(h.outside_registry),
                    flag(h.latent.public_assistance),
                    flag(h.nationality.is_some()),
                    flag(c.disability),
                ])
                .map_err(|e| self.err("outcomes.csv", e))?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<(), SynthError> {
        for (name, w) in
            [("truth.csv", &mut self.truth), ("outcomes.csv", &mut self.outcomes), ("noise.csv", &mut self.noise)]
        {
            w.flush().map_err(|e| SynthError::io(&self.dir.join(name), e))?;
        }
        Ok(())
    }
}
