//! The audit log: `<ws>/audit/log.jsonl`, one JSON object per decision, hash-chained. Each entry
//! holds the BLAKE3 hash of the previous entry (`prev`) and its own hash over its content and
//! `prev`, so an edit, deletion, insertion or reordering breaks the chain at a line that
//! `verify` names; truncation is found against the entry count kept in `audit/head` (written
//! after each append). Appends hold an exclusive lock on the log and are synced before the
//! access they record goes ahead.
//!
//! Entries never hold identifiers or keys: users, actions, purposes, resources (table, file or
//! department names), decisions and counts.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const LOG_FILE: &str = "log.jsonl";
const HEAD_FILE: &str = "head";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Deny,
    /// The request was not understood (for example SQL that does not plan); nothing was read.
    Error,
}

/// What is recorded about one access.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub seq: u64,
    /// UTC, RFC 3339.
    pub time: String,
    pub user: String,
    pub action: String,
    pub purpose: Option<String>,
    pub resource: String,
    pub decision: Decision,
    /// Counts, reasons, rewrites: never a value from the data.
    pub detail: Value,
    pub prev: String,
    pub hash: String,
}

fn entry_hash(e: &Entry) -> String {
    // the hash covers every field but itself, in a fixed order
    let content =
        serde_json::json!([e.seq, e.time, e.user, e.action, e.purpose, e.resource, e.decision, e.detail, e.prev]);
    blake3::hash(content.to_string().as_bytes()).to_hex().to_string()
}

fn dir(workspace: &Path) -> PathBuf {
    workspace.join("audit")
}

/// The user running the process, for verbs whose contract takes no --user.
pub fn os_user() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into())
}

/// An access to record: `append` fills in sequence, time and chain.
pub struct Record<'a> {
    pub user: &'a str,
    pub action: &'a str,
    pub purpose: Option<&'a str>,
    pub resource: &'a str,
    pub decision: Decision,
    pub detail: Value,
}

/// Appends one entry; returns it once it is on disk.
pub fn append(workspace: &Path, r: Record) -> Result<Entry> {
    let d = dir(workspace);
    fs::create_dir_all(&d).with_context(|| format!("cannot create the audit folder {}", d.display()))?;
    let path = d.join(LOG_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .with_context(|| format!("cannot open the audit log {}", path.display()))?;
    file.lock().with_context(|| format!("cannot lock the audit log {}", path.display()))?;
    let last = tail(&file, &path)?;
    // what the head said before the last entry (a crash between the entry and its head)
    let before_last = last.as_ref().map(|e| format!("{} {}", e.seq, e.prev));
    let (seq, prev) = match last {
        Some(e) => (e.seq + 1, e.hash),
        None => (0, GENESIS.to_string()),
    };
    // the head written after the last append must name the same end: a removed, added or
    // changed last entry stops every further access until the log is checked
    // (count, hash of the last entry, length of the log in bytes)
    let size = file.metadata().with_context(|| format!("cannot read {}", path.display()))?.len();
    let head = fs::read_to_string(d.join(HEAD_FILE)).ok();
    let intact = match head.as_deref().map(|h| h.split_whitespace().collect::<Vec<_>>()) {
        None => seq == 0,
        Some(parts) => {
            let current = parts.first() == Some(&seq.to_string().as_str())
                && parts.get(1) == Some(&prev.as_str())
                && parts.get(2).is_none_or(|l| *l == size.to_string());
            let lagging =
                before_last.as_deref().is_some_and(|b| parts.get(..2).map(|p| p.join(" ")).as_deref() == Some(b));
            current || lagging
        }
    };
    if !intact {
        bail!("the audit log {} is damaged (run `mimamori audit verify`); nothing was accessed", path.display());
    }
    let mut e = Entry {
        seq,
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        user: r.user.to_string(),
        action: r.action.to_string(),
        purpose: r.purpose.map(str::to_string),
        resource: r.resource.to_string(),
        decision: r.decision,
        detail: r.detail,
        prev,
        hash: String::new(),
    };
    e.hash = entry_hash(&e);
    let line = serde_json::to_string(&e)? + "\n";
    file.write_all(line.as_bytes()).and_then(|_| file.sync_data()).context("cannot write the audit log")?;
    let head = d.join(HEAD_FILE);
    let tmp = d.join(".head.tmp");
    fs::write(&tmp, format!("{} {} {}\n", e.seq + 1, e.hash, size + line.len() as u64))
        .and_then(|_| fs::rename(&tmp, &head))
        .context("cannot write the audit head")?;
    Ok(e)
}

/// The last entry, read from the end of the file (appends cost the same however long the log).
fn tail(file: &File, path: &Path) -> Result<Option<Entry>> {
    let mut f = file.try_clone()?;
    let len = f.seek(SeekFrom::End(0))?;
    let mut chunk = 4096u64;
    loop {
        let start = len.saturating_sub(chunk);
        f.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity((len - start) as usize);
        std::io::Read::read_to_end(&mut f, &mut buf).with_context(|| format!("cannot read {}", path.display()))?;
        let text = String::from_utf8_lossy(&buf);
        let trimmed = text.trim_end_matches('\n');
        if trimmed.is_empty() && start == 0 {
            return Ok(None);
        }
        // a whole last line: one preceded by a newline, or the file's first
        if let Some(i) = trimmed.rfind('\n').or(if start == 0 { Some(usize::MAX) } else { None }) {
            let line = if i == usize::MAX { trimmed } else { &trimmed[i + 1..] };
            let e = serde_json::from_str(line).with_context(|| {
                format!(
                    "the last line of the audit log {} is not an entry (run `mimamori audit verify`)",
                    path.display()
                )
            })?;
            return Ok(Some(e));
        }
        chunk *= 4;
    }
}

/// Reads every entry, checking the chain; the error names the first line that breaks it.
pub fn verify(workspace: &Path) -> Result<Vec<Entry>> {
    let d = dir(workspace);
    let path = d.join(LOG_FILE);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if d.join(HEAD_FILE).exists() {
                bail!("{}: the audit log is missing but its head says entries were written", path.display());
            }
            return Ok(Vec::new());
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    file.lock_shared().with_context(|| format!("cannot lock {}", path.display()))?;
    let mut entries: Vec<Entry> = Vec::new();
    let mut prev = GENESIS.to_string();
    // the shared lock is held until the head is read: no append falls between the two
    for (i, line) in BufReader::new(&file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        let e = check_line(&path, i as u64, &line, &prev)?;
        prev = e.hash.clone();
        entries.push(e);
    }
    check_head(&d, &path, entries.len() as u64, &prev, entries.last())?;
    drop(file);
    Ok(entries)
}

/// Parses line `i` (0-based) and checks that it is entry `i` and follows `prev`.
fn check_line(path: &Path, i: u64, line: &str, prev: &str) -> Result<Entry> {
    let n = i + 1;
    let e: Entry = serde_json::from_str(line)
        .with_context(|| format!("{}:{n}: not an audit entry (edited or torn)", path.display()))?;
    if e.seq != i {
        bail!(
            "{}:{n}: entry number {} where {i} was expected (an entry was removed, inserted or moved)",
            path.display(),
            e.seq
        );
    }
    if e.prev != prev {
        bail!("{}:{n}: does not follow the entry before it (an entry was removed, inserted or moved)", path.display());
    }
    if entry_hash(&e) != e.hash {
        bail!("{}:{n}: its content does not match its hash (the entry was edited)", path.display());
    }
    Ok(e)
}

/// Follows the log as it grows: the whole chain is verified on the first update and at least
/// every [`Follower::FULL_EVERY`]; in between only what was appended since (the entries before
/// were verified already and their last hash is held). Keeps the entries `keep` selects.
pub struct Follower {
    keep: fn(&Entry) -> bool,
    kept: Vec<Entry>,
    count: u64,
    offset: u64,
    prev: String,
    full_at: Option<std::time::Instant>,
}

impl Follower {
    pub const FULL_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

    pub fn new(keep: fn(&Entry) -> bool) -> Follower {
        Follower { keep, kept: Vec::new(), count: 0, offset: 0, prev: GENESIS.to_string(), full_at: None }
    }

    /// Reads what was appended since the last update (or everything, when due) and returns the
    /// kept entries of the verified chain.
    pub fn update(&mut self, workspace: &Path) -> Result<&[Entry]> {
        if self.full_at.is_none_or(|t| t.elapsed() > Self::FULL_EVERY) {
            *self = Follower::new(self.keep);
            self.full_at = Some(std::time::Instant::now());
        }
        match self.read_tail(workspace) {
            Ok(()) => Ok(&self.kept),
            Err(e) => {
                // start from scratch next time
                self.full_at = None;
                Err(e)
            }
        }
    }

    fn read_tail(&mut self, workspace: &Path) -> Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let d = dir(workspace);
        let path = d.join(LOG_FILE);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.count == 0 && !d.join(HEAD_FILE).exists() => {
                return Ok(());
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        file.lock_shared().with_context(|| format!("cannot lock {}", path.display()))?;
        let len = file.metadata()?.len();
        if len < self.offset {
            bail!("{}: the log is shorter than when it was last read (it was truncated)", path.display());
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut tail = String::new();
        file.read_to_string(&mut tail).with_context(|| format!("cannot read {}", path.display()))?;
        let mut last: Option<Entry> = None;
        // only whole lines: an entry being written is read at the next update
        let complete = tail.rfind('\n').map_or(0, |p| p + 1);
        for line in tail[..complete].lines() {
            let e = check_line(&path, self.count, line, &self.prev)?;
            self.prev = e.hash.clone();
            self.count += 1;
            if (self.keep)(&e) {
                self.kept.push(e.clone());
            }
            last = Some(e);
        }
        self.offset += complete as u64;
        if last.is_some() {
            check_head(&d, &path, self.count, &self.prev, last.as_ref())?;
        }
        Ok(())
    }
}

/// The head written after the last append must name the end that was read.
fn check_head(d: &Path, path: &Path, count: u64, prev: &str, last: Option<&Entry>) -> Result<()> {
    if let Ok(head) = fs::read_to_string(d.join(HEAD_FILE)) {
        let mut parts = head.split_whitespace();
        let (written, hash): (Option<u64>, Option<&str>) = (parts.next().and_then(|c| c.parse().ok()), parts.next());
        match (written, hash) {
            (Some(c), Some(h)) if c == count && h == prev => {}
            // a crash after an entry was synced and before its head was written
            (Some(c), Some(h)) if c + 1 == count && last.is_some_and(|e| e.prev == h) => {}
            (Some(c), Some(_)) if c > count => bail!(
                "{}: holds {count} entries but {c} were written: the log was truncated after line {count}",
                path.display(),
            ),
            _ => bail!(
                "{}: the last entry does not match the audit head (the end of the log was changed)",
                path.display()
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(action: &str) -> Record<'_> {
        Record {
            user: "officer",
            action,
            purpose: Some("child_outreach"),
            resource: "linked",
            decision: Decision::Allow,
            detail: serde_json::json!({"rows": 3}),
        }
    }

    #[test]
    fn a_follower_reads_what_was_appended_and_finds_a_changed_tail() {
        let ws = tempfile::tempdir().unwrap();
        let mut f = Follower::new(|e| e.action == "approve");
        assert!(f.update(ws.path()).unwrap().is_empty(), "no log yet");
        for a in ["link", "approve", "query"] {
            append(ws.path(), rec(a)).unwrap();
        }
        assert_eq!(f.update(ws.path()).unwrap().len(), 1);
        append(ws.path(), rec("approve")).unwrap();
        let kept = f.update(ws.path()).unwrap();
        assert_eq!(kept.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 3]);
        // an entry appended by hand, outside the chain, is refused
        let path = ws.path().join("audit").join(LOG_FILE);
        let mut text = fs::read_to_string(&path).unwrap();
        let forged = text.lines().nth(3).unwrap().replace("\"seq\":3", "\"seq\":4");
        text.push_str(&forged);
        text.push('\n');
        fs::write(&path, &text).unwrap();
        assert!(f.update(ws.path()).is_err());
        // a log cut shorter than what was read is refused too
        let lines: Vec<&str> = text.lines().take(2).collect();
        fs::write(&path, lines.join("\n") + "\n").unwrap();
        let mut g = Follower::new(|_| true);
        assert!(g.update(ws.path()).is_err(), "the head names more entries");
    }

    /// A metric such as an AUC in an entry's detail must read back as the very float that was
    /// hashed (serde_json's default float parser is off by one ulp for some 17-digit values,
    /// e.g. 0.9201471989833739, which made honest logs fail to verify).
    #[test]
    fn floats_in_details_verify() {
        let ws = tempfile::tempdir().unwrap();
        let floats = [0.9201471989833739, 0.1 + 0.2, 1.0 / 3.0, 2.0f64.sqrt() * 1e-7, 123456.78901234567];
        append(
            ws.path(),
            Record { detail: serde_json::json!({ "auc": floats, "nested": { "p": floats[0] } }), ..rec("score") },
        )
        .unwrap();
        let entries = verify(ws.path()).unwrap();
        assert_eq!(entries[0].detail["auc"][0].as_f64(), Some(0.9201471989833739));
    }

    #[test]
    fn chain_verifies_and_every_kind_of_tampering_is_located() {
        let ws = tempfile::tempdir().unwrap();
        for a in ["link", "export-links", "query"] {
            append(ws.path(), rec(a)).unwrap();
        }
        assert_eq!(verify(ws.path()).unwrap().len(), 3);
        let log = ws.path().join("audit").join(LOG_FILE);
        let original = fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = original.lines().collect();

        let edited = original.replacen("\"rows\":3", "\"rows\":4", 1);
        fs::write(&log, &edited).unwrap();
        assert!(format!("{:#}", verify(ws.path()).unwrap_err()).contains(":1:"));

        fs::write(&log, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
        assert!(format!("{:#}", verify(ws.path()).unwrap_err()).contains(":2:"));

        fs::write(&log, format!("{}\n{}\n{}\n", lines[1], lines[0], lines[2])).unwrap();
        assert!(format!("{:#}", verify(ws.path()).unwrap_err()).contains(":1:"));

        fs::write(&log, format!("{}\n{}\n", lines[0], lines[1])).unwrap();
        assert!(format!("{:#}", verify(ws.path()).unwrap_err()).contains("truncated"));

        fs::write(&log, &original).unwrap();
        assert!(verify(ws.path()).is_ok());
        // a crash between an entry and its head: the log verifies, and the next append goes on
        let head = ws.path().join("audit").join(HEAD_FILE);
        let full_head = fs::read_to_string(&head).unwrap();
        let e1: Entry = serde_json::from_str(lines[1]).unwrap();
        fs::write(&head, format!("2 {}\n", e1.hash)).unwrap();
        assert!(verify(ws.path()).is_ok());
        append(ws.path(), rec("query")).unwrap();
        assert_eq!(verify(ws.path()).unwrap().len(), 4);
        fs::write(&log, &original).unwrap();
        fs::write(&head, &full_head).unwrap();
        // a damaged log refuses further appends
        fs::write(&log, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
        assert!(append(ws.path(), rec("query")).is_err());
    }
}
