//! What has been released, under any purpose: the persons of every aggregate cell shown, so
//! that a new cell that differs from an earlier one by fewer than k persons (the differencing
//! of two queries) is suppressed. One ledger for the workspace, not one per purpose: the same
//! officer asking the complement under a second purpose learns as much as under the first.
//! Kept in `<ws>/audit/released/cells`, appended under an exclusive lock while the check runs,
//! and synced before the result is shown.
//!
//! Format: a sequence of cells, each `kind: u8, audit_seq: u64, n: u32, n × u64` (little
//! endian), the persons as sorted 64-bit keys (linkage ids, or the first 8 bytes of
//! record_refs). Nothing in it is an identifier outside the workspace.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use policies::KeyKind;

/// One released cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub kind: u8,
    pub seq: u64,
    pub persons: Vec<u64>,
}

pub fn kind_code(k: KeyKind) -> u8 {
    match k {
        KeyKind::Person => 1,
        KeyKind::Household => 2,
        KeyKind::Record => 3,
    }
}

/// The open, locked store of one purpose.
pub struct Store {
    file: File,
    path: PathBuf,
    pub cells: Vec<Cell>,
}

fn path(workspace: &Path) -> PathBuf {
    workspace.join("audit").join("released").join("cells")
}

impl Store {
    /// Opens and locks the workspace's store, reading every cell.
    pub fn open(workspace: &Path) -> Result<Store> {
        let path = path(workspace);
        if let Some(d) = path.parent() {
            fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        file.lock().with_context(|| format!("cannot lock {}", path.display()))?;
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0))?;
        file.read_to_end(&mut bytes).with_context(|| format!("cannot read {}", path.display()))?;
        let cells = parse(&bytes).with_context(|| format!("{} is damaged", path.display()))?;
        Ok(Store { file, path, cells })
    }

    /// Appends cells and syncs.
    pub fn append(&mut self, cells: &[Cell]) -> Result<()> {
        let mut out = Vec::new();
        for c in cells {
            out.push(c.kind);
            out.extend_from_slice(&c.seq.to_le_bytes());
            out.extend_from_slice(&(c.persons.len() as u32).to_le_bytes());
            for p in &c.persons {
                out.extend_from_slice(&p.to_le_bytes());
            }
        }
        self.file
            .write_all(&out)
            .and_then(|_| self.file.sync_data())
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        self.cells.extend_from_slice(cells);
        Ok(())
    }
}

fn parse(bytes: &[u8]) -> Result<Vec<Cell>> {
    let mut cells = Vec::new();
    let mut at = 0;
    let take = |at: &mut usize, n: usize| -> Result<&[u8]> {
        let s = bytes.get(*at..*at + n).context("a cell is cut short")?;
        *at += n;
        Ok(s)
    };
    while at < bytes.len() {
        let kind = take(&mut at, 1)?[0];
        let seq = u64::from_le_bytes(take(&mut at, 8)?.try_into()?);
        let n = u32::from_le_bytes(take(&mut at, 4)?.try_into()?) as usize;
        let raw = take(&mut at, n * 8)?;
        let persons =
            raw.chunks_exact(8).map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect();
        cells.push(Cell { kind, seq, persons });
    }
    Ok(cells)
}

/// |a Δ b| for sorted, de-duplicated slices, stopping once it reaches `limit`.
pub fn symmetric_difference(a: &[u64], b: &[u64], limit: usize) -> usize {
    let (mut i, mut j, mut d) = (0, 0, 0);
    while i < a.len() && j < b.len() && d < limit {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                d += 1;
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                d += 1;
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    d + (a.len() - i) + (b.len() - j)
}

/// The earlier cell (audit sequence number) that `persons` differs from by 1..k-1 persons.
pub fn conflict<'a>(persons: &[u64], kind: u8, k: usize, released: impl IntoIterator<Item = &'a Cell>) -> Option<u64> {
    released.into_iter().find_map(|c| {
        if c.kind != kind || c.persons.len().abs_diff(persons.len()) >= k {
            return None;
        }
        let d = symmetric_difference(persons, &c.persons, k);
        (d > 0 && d < k).then_some(c.seq)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_difference_counts_both_sides() {
        assert_eq!(symmetric_difference(&[1, 2, 3], &[2, 3, 4], 100), 2);
        assert_eq!(symmetric_difference(&[1, 2, 3], &[1, 2, 3], 100), 0);
        assert_eq!(symmetric_difference(&[], &[5, 6], 100), 2);
    }

    #[test]
    fn a_cell_one_person_away_from_a_released_cell_conflicts_and_the_store_round_trips() {
        let ws = tempfile::tempdir().unwrap();
        let mut s = Store::open(ws.path()).unwrap();
        let released: Vec<u64> = (0..20).collect();
        s.append(&[Cell { kind: 1, seq: 7, persons: released.clone() }]).unwrap();
        drop(s);
        let s = Store::open(ws.path()).unwrap();
        assert_eq!(s.cells.len(), 1);
        let minus_one: Vec<u64> = (1..20).collect();
        assert_eq!(conflict(&minus_one, 1, 10, &s.cells), Some(7));
        // the same persons again, or persons far apart, are fine; other key kinds are not compared
        assert_eq!(conflict(&released, 1, 10, &s.cells), None);
        assert_eq!(conflict(&(100..130).collect::<Vec<_>>(), 1, 10, &s.cells), None);
        assert_eq!(conflict(&minus_one, 2, 10, &s.cells), None);
    }
}
