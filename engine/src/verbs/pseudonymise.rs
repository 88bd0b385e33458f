//! `mimamori pseudonymise`: one department's extract, at the custodian.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use linkage::encode::{Hardening, TokenSalt};
use linkage::mapping::Mapping;
use linkage::pseudonymise::{self, Options, Outcome};

use super::count;
use crate::cli::{HardeningArg, OutputFormat, TokenSaltArg};
use crate::progress::Progress;
use crate::staging::{StagedDir, is_absent_or_empty};
use crate::vault::VaultWriter;
use crate::{config, keys};

pub struct Args {
    pub mapping: PathBuf,
    pub key: PathBuf,
    pub vault_key: PathBuf,
    pub out: PathBuf,
    pub vault: Option<PathBuf>,
    pub hardening: HardeningArg,
    pub token_salt: TokenSaltArg,
    pub strict: bool,
    pub force: bool,
    pub format: OutputFormat,
}

pub(super) fn absolute(p: &Path) -> Result<PathBuf> {
    let p = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir()?.join(p) };
    // resolve what exists (symlinks, ..) and keep the rest as written
    let mut existing = p.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name().map(|n| n.to_os_string()), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut resolved = existing.canonicalize().unwrap_or(existing);
    for part in rest.into_iter().rev() {
        resolved.push(part);
    }
    Ok(resolved)
}

/// The workspace root of an extract folder: the nearest ancestor with a mimamori.toml, or the
/// parent of an `extracts` folder.
fn workspace_of(out: &Path) -> Option<PathBuf> {
    let mut cur = out.parent();
    while let Some(dir) = cur {
        if dir.join(config::FILE_NAME).is_file() {
            return Some(dir.to_path_buf());
        }
        if dir.file_name().is_some_and(|n| n == "extracts") {
            return dir.parent().map(Path::to_path_buf);
        }
        cur = dir.parent();
    }
    None
}

/// The workspace `path` lies in, if any: the one `out` belongs to (or `out` itself, before
/// the workspace exists), or any folder above `path` holding `mimamori.toml`.
fn workspace_holding(path: &Path, out: &Path) -> Option<PathBuf> {
    if path.starts_with(out) {
        return Some(out.to_path_buf());
    }
    workspace_of(out)
        .filter(|ws| path.starts_with(ws))
        .or_else(|| path.ancestors().skip(1).find(|d| d.join(config::FILE_NAME).is_file()).map(Path::to_path_buf))
}

pub fn run(a: &Args) -> Result<()> {
    let (outcome, out, vault_path) = pseudonymise(a)?;
    let text = match a.format {
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(&outcome.manifest)?),
        OutputFormat::Table => describe(&outcome, &out, &vault_path),
    };
    crate::print_stdout(&text)?;
    Ok(())
}

/// Pseudonymises one extract; returns what was written, the extract folder and the vault.
pub fn pseudonymise(a: &Args) -> Result<(Outcome, PathBuf, PathBuf)> {
    let mapping = Mapping::load(&a.mapping)?;
    let key = keys::read_linkage_key(&a.key)?;
    let vault_key = keys::read_vault_key(&a.vault_key)?;

    let out = absolute(&a.out)?;
    if out.file_name().is_none_or(|n| n.to_string_lossy() != mapping.department) {
        bail!(
            "--out must be the department's folder in the workspace, WS/extracts/{}/ (the mapping's department)",
            mapping.department
        );
    }
    if !a.force && !is_absent_or_empty(&out)? {
        bail!("{} already holds an extract; add --force to replace it", out.display());
    }
    let vault_path = match &a.vault {
        Some(v) => absolute(v)?,
        None => {
            let dir = a.mapping.parent().unwrap_or(Path::new(""));
            absolute(&dir.join(format!("{}.vault", mapping.department)))?
        }
    };
    if workspace_holding(&vault_path, &out).is_some() {
        bail!(
            "the vault {} would be inside the workspace; it must stay with the custodian (pass --vault with a path outside)",
            vault_path.display()
        );
    }
    for k in [&a.key, &a.vault_key] {
        let k = absolute(k)?;
        if workspace_holding(&k, &out).is_some() {
            bail!("key file {} is inside the workspace; move it to the custodian's own storage", k.display());
        }
    }

    // the extract itself holds every identity in the clear: never in a workspace
    let source = absolute(&mapping.source_path())?;
    if let Some(ws) = workspace_holding(&source, &out) {
        bail!(
            "the extract {} is inside the workspace {}; names and birth dates must stay with the custodian (move the extract and its mapping out)",
            source.display(),
            ws.display()
        );
    }

    let options = Options {
        hardening: match a.hardening {
            HardeningArg::None => Hardening::None,
            HardeningArg::Balance => Hardening::Balance,
            HardeningArg::XorFold => Hardening::XorFold,
        },
        token_salt: match a.token_salt {
            TokenSaltArg::None => TokenSalt::None,
            TokenSaltArg::BirthYear => TokenSalt::BirthYear,
        },
        strict: a.strict,
    };
    let staged = StagedDir::new(&out)?;
    let mut vault = VaultWriter::create(&vault_path, &mapping.department, &vault_key)?;
    let mut progress: Option<Progress> = None;
    let mut last_total = None;
    let outcome: Outcome = pseudonymise::run(
        &mapping,
        &key,
        &vault_key,
        staged.path(),
        &options,
        &mut |done, total| {
            if progress.is_none() || last_total != total {
                last_total = total;
                progress = Some(Progress::new("records", total.unwrap_or(0), a.format));
            }
            if let Some(p) = progress.as_mut() {
                p.set(done);
            }
        },
        &mut |r, id| vault.add(r, id),
    )
    .with_context(|| format!("cannot pseudonymise {}", mapping.source_path().display()))?;
    if let Some(p) = &progress {
        p.finish();
    }
    vault.finish()?;
    staged.commit(a.force)?;

    for p in &outcome.rejections {
        tracing::warn!("{p}");
    }
    let rejected: u64 = outcome.manifest.rejected_rows.values().sum();
    if rejected > outcome.rejections.len() as u64 {
        tracing::warn!(
            "… and {} more rows left out (counted in manifest.json rejected_rows)",
            rejected - outcome.rejections.len() as u64
        );
    }
    for p in &outcome.problems {
        tracing::warn!("{p}: treated as unknown");
    }
    for f in &outcome.frequent {
        let lines: Vec<String> = f.lines.iter().map(u64::to_string).collect();
        tracing::warn!(
            "{}: column {} ({}): one value is held by {} of {} rows ({:.1}%; lines {}, …). If it stands for \
             \"not known\", list it under [source] unknown and run again: linked as it is, these rows agree \
             on it. If it is real (a facility's address), nothing is wrong",
            outcome.manifest.source.file,
            f.column,
            f.field,
            f.rows,
            f.of,
            100.0 * f.rows as f64 / f.of.max(1) as f64,
            lines.join(", ")
        );
    }
    if outcome.problems_total > outcome.problems.len() as u64 {
        tracing::warn!(
            "… and {} more values treated as unknown (counted in manifest.json)",
            outcome.problems_total - outcome.problems.len() as u64
        );
    }
    Ok((outcome, out, vault_path))
}

fn describe(o: &Outcome, out: &Path, vault: &Path) -> String {
    let m = &o.manifest;
    let mut t = String::new();
    let _ = writeln!(t, "{}: {} records pseudonymised → {}", m.department, count(m.rows), out.display());
    for (reason, n) in &m.rejected_rows {
        let _ = writeln!(t, "  rejected {}: {}", reason.replace('_', " "), count(*n));
    }
    let wild: u64 = m.counts.values().map(|c| c.wildcard).sum();
    let invalid: u64 = m.counts.values().map(|c| c.invalid).sum();
    let _ = writeln!(
        t,
        "  values with lost characters (外字): {}; unreadable values: {} (see manifest.json counts)",
        count(wild),
        count(invalid)
    );
    let from_age = m.counts.get("age").map_or(0, |c| c.partial);
    if from_age > 0 {
        let _ = writeln!(
            t,
            "  birth years estimated from ages on {}: {}; a year either side still agrees in part",
            m.age_on.map_or_else(|| "each record's day".to_string(), |d| d.to_string()),
            count(from_age)
        );
    }
    let placeholders: u64 = m.counts.values().map(|c| c.placeholder).sum();
    if placeholders > 0 {
        let _ = writeln!(
            t,
            "  placeholders read as blank (不明, -, 1900-01-01, [source] unknown): {}",
            count(placeholders)
        );
    }
    let unsplit: u64 = ["name", "name_kana"].iter().filter_map(|k| m.counts.get(*k)).map(|c| c.partial).sum();
    if unsplit > 0 {
        let _ = writeln!(
            t,
            "  names or readings in one column without a space: {}; compared whole, their parts unknown",
            count(unsplit)
        );
    }
    let partial: u64 = m
        .counts
        .iter()
        .filter(|(k, _)| !["age", "name", "name_kana"].contains(&k.as_str()))
        .map(|(_, c)| c.partial)
        .sum();
    if partial > 0 {
        let _ = writeln!(
            t,
            "  dates known only in part (a year alone, a year and month, day and month ambiguous): {}; \
             their known parts still compare (set [source] date_order = \"dmy\" or \"mdy\" when the extract writes 3/4/1849)",
            count(partial)
        );
    }
    let _ = writeln!(
        t,
        "  linkage key fingerprint {}; source {} ({})",
        m.linkage_key_fingerprint,
        m.source.file,
        m.source.encoding.as_deref().unwrap_or(&m.source.format)
    );
    let _ = writeln!(t, "vault (keep with the custodian): {}", vault.display());
    t
}
