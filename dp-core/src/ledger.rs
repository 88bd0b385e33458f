//! The budget ledger: per purpose, append-only JSON lines, fsynced, under an exclusive file
//! lock. A release is charged (written and synced) before its result is returned, so a crash at
//! any moment can lose a result but never a charge; a line torn by a crash is cut off before
//! the next charge, so nothing is counted twice or read half.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::accountant::{Cost, Spent};
use crate::rational::Rational;

/// A purpose's budget for releases outside the municipality.
#[derive(Clone, Debug)]
pub struct Budget {
    pub epsilon: Rational,
    pub delta: Rational,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot use the DP ledger {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the DP ledger {path} is damaged at line {line}; restore it from backup before releasing anything")]
    Corrupt { path: PathBuf, line: usize },
    #[error(
        "the privacy budget of purpose `{purpose}` is exhausted: spent ε = {spent_epsilon:.4}, this release needs ε ≈ {cost_epsilon:.4}, budget ε = {budget_epsilon}; nothing was released"
    )]
    Exhausted { purpose: String, spent_epsilon: f64, cost_epsilon: f64, budget_epsilon: String },
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Line {
    purpose: String,
    release: String,
    epsilon: String,
    delta: String,
    rho: String,
    /// Seconds since the Unix epoch.
    at: u64,
}

/// A charge as read back: its costs parsed exactly.
struct Entry {
    purpose: String,
    release: String,
    epsilon: Rational,
    delta: Rational,
    rho: Rational,
}

pub struct Ledger {
    path: PathBuf,
}

impl Ledger {
    pub fn new(path: &Path) -> Ledger {
        Ledger { path: path.to_path_buf() }
    }

    fn io(&self, source: std::io::Error) -> LedgerError {
        LedgerError::Io { path: self.path.clone(), source }
    }

    fn open_file(&self) -> Result<File, LedgerError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        OpenOptions::new().read(true).append(true).create(true).open(&self.path).map_err(|e| self.io(e))
    }

    /// Reads every complete line; a torn last line (no newline) is ignored here and cut off by
    /// the next charge.
    fn read(&self, file: &mut File) -> Result<(Vec<Entry>, u64), LedgerError> {
        let mut text = String::new();
        file.seek(SeekFrom::Start(0)).map_err(|e| self.io(e))?;
        file.read_to_string(&mut text).map_err(|e| self.io(e))?;
        let complete = text.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let mut lines = Vec::new();
        for (i, l) in text[..complete].lines().enumerate() {
            if l.trim().is_empty() {
                continue;
            }
            // a cost that does not parse is damage, never a zero charge
            let corrupt = || LedgerError::Corrupt { path: self.path.clone(), line: i + 1 };
            let line: Line = serde_json::from_str(l).map_err(|_| corrupt())?;
            let cost = |v: &str| v.parse::<Rational>().map_err(|_| corrupt());
            lines.push(Entry {
                epsilon: cost(&line.epsilon)?,
                delta: cost(&line.delta)?,
                rho: cost(&line.rho)?,
                purpose: line.purpose,
                release: line.release,
            });
        }
        Ok((lines, complete as u64))
    }

    fn spent_in(lines: &[Entry], purpose: &str) -> Spent {
        let mut s = Spent::default();
        for l in lines.iter().filter(|l| l.purpose == purpose) {
            s.add(&Cost::Approx { epsilon: l.epsilon.clone(), delta: l.delta.clone() });
            s.add(&Cost::Zcdp { rho: l.rho.clone() });
        }
        s
    }

    /// What `purpose` has spent so far.
    pub fn spent(&self, purpose: &str) -> Result<Spent, LedgerError> {
        let mut file = self.open_file()?;
        file.lock_shared().map_err(|e| self.io(e))?;
        let (lines, _) = self.read(&mut file)?;
        Ok(Self::spent_in(&lines, purpose))
    }

    /// Charges `cost` for release `release` to `purpose` if the budget allows it: the line is
    /// written and synced to disk before this returns `Ok`. Refuses, writing nothing, when the
    /// budget would be exceeded.
    pub fn charge(&self, purpose: &str, budget: &Budget, release: &str, cost: &Cost) -> Result<Spent, LedgerError> {
        let mut file = self.open_file()?;
        file.lock().map_err(|e| self.io(e))?;
        let (lines, complete) = self.read(&mut file)?;
        let len = file.metadata().map_err(|e| self.io(e))?.len();
        if len != complete {
            // a charge torn by a crash: its release never returned, so it is cut off
            file.set_len(complete).map_err(|e| self.io(e))?;
        }
        let before = Self::spent_in(&lines, purpose);
        let mut after = before.clone();
        after.add(cost);
        let (eps_budget, delta_budget) = (budget.epsilon.to_f64(), budget.delta.to_f64());
        if !after.within(eps_budget, delta_budget) {
            return Err(LedgerError::Exhausted {
                purpose: purpose.to_string(),
                spent_epsilon: before.as_approx(delta_budget).0,
                cost_epsilon: after.as_approx(delta_budget).0 - before.as_approx(delta_budget).0,
                budget_epsilon: budget.epsilon.to_string(),
            });
        }
        let zero = Rational::from_integer(0);
        let (epsilon, delta, rho) = match cost {
            Cost::Pure { epsilon } => (epsilon, &zero, &zero),
            Cost::Zcdp { rho } => (&zero, &zero, rho),
            Cost::Approx { epsilon, delta } => (epsilon, delta, &zero),
        };
        let line = Line {
            purpose: purpose.to_string(),
            release: release.to_string(),
            epsilon: epsilon.to_string(),
            delta: delta.to_string(),
            rho: rho.to_string(),
            at: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        };
        let mut text = serde_json::to_string(&line).map_err(|e| self.io(std::io::Error::other(e)))?;
        text.push('\n');
        file.write_all(text.as_bytes()).map_err(|e| self.io(e))?;
        file.sync_all().map_err(|e| self.io(e))?;
        Ok(after)
    }

    /// Charges `cost` first and only then runs `compute`: the result of a release can never be
    /// seen without its charge being on disk. A refused charge runs nothing.
    pub fn release<T>(
        &self,
        purpose: &str,
        budget: &Budget,
        release: &str,
        cost: &Cost,
        compute: impl FnOnce() -> T,
    ) -> Result<T, LedgerError> {
        self.charge(purpose, budget, release, cost)?;
        Ok(compute())
    }

    /// Every charge, in order: (purpose, release).
    pub fn releases(&self) -> Result<Vec<(String, String)>, LedgerError> {
        let mut file = self.open_file()?;
        file.lock_shared().map_err(|e| self.io(e))?;
        let (lines, _) = self.read(&mut file)?;
        Ok(lines.into_iter().map(|l| (l.purpose, l.release)).collect())
    }
}

#[cfg(test)]
mod tests;
