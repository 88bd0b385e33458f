//! Signed checkpoints of the audit log: a reviewer signs (entry count, hash of the last entry,
//! time) with an Ed25519 key (openssl), appended to `<ws>/audit/checkpoints.jsonl`. The hash
//! chain finds any edit, deletion or reordering; a checkpoint also finds the truncation of the
//! tail and a rewrite of the whole log, which the chain alone cannot (whoever truncates can
//! rewrite the head file too, but cannot sign for a reviewer).
//!
//! Signing keys: `mimamori keygen --signing --out FILE` writes the private key (PKCS#8 PEM,
//! mode 0600, never overwritten) and `FILE.pub` (the public key, to hand to whoever verifies).

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::sign::{Signer, Verifier};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::audit::Entry;

pub const FILE: &str = "checkpoints.jsonl";

/// One signed checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    /// Entries covered: lines 1..=count of the log.
    pub count: u64,
    /// Hash of entry count-1.
    pub hash: String,
    pub time: String,
    pub signer: String,
    /// Raw Ed25519 public key, hex.
    pub public_key: String,
    /// Ed25519 signature over `message()`, hex.
    pub signature: String,
}

impl Checkpoint {
    fn message(&self) -> Vec<u8> {
        format!("mimamori-audit-checkpoint-v1\n{}\n{}\n{}\n{}\n", self.count, self.hash, self.time, self.signer)
            .into_bytes()
    }

    /// Short fingerprint of the signing key.
    pub fn key_fingerprint(&self) -> String {
        fingerprint_hex(&self.public_key)
    }
}

fn fingerprint_hex(public_hex: &str) -> String {
    blake3::hash(public_hex.as_bytes()).to_hex()[..16].to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Writes a new Ed25519 signing key to `path` (0600, never overwritten) and its public key to
/// `path.pub`; returns the public key's fingerprint.
pub fn generate_signing_key(path: &Path) -> Result<String> {
    let key = PKey::generate_ed25519().context("cannot create an Ed25519 key")?;
    let pem = Zeroizing::new(key.private_key_to_pem_pkcs8().context("cannot encode the key")?);
    let public = key.public_key_to_pem().context("cannot encode the public key")?;
    crate::keys::write_secret_file(path, &pem)?;
    let pub_path = public_path(path);
    crate::staging::write_new_file(&pub_path, &public)?;
    Ok(fingerprint_hex(&hex(&key.raw_public_key()?)))
}

pub fn public_path(key: &Path) -> PathBuf {
    let mut s = key.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

fn load_private(path: &Path) -> Result<PKey<Private>> {
    crate::keys::private_metadata(path)?;
    let pem = Zeroizing::new(fs::read(path).with_context(|| format!("cannot read {}", path.display()))?);
    let key = PKey::private_key_from_pem(&pem).map_err(|_| {
        anyhow::anyhow!("{} is not a PEM private key (make one with `mimamori keygen --signing`)", path.display())
    })?;
    if key.id() != Id::ED25519 {
        bail!("{} is not an Ed25519 key", path.display());
    }
    Ok(key)
}

/// Reads a public key file (PEM) as made beside a signing key.
pub fn load_public(path: &Path) -> Result<String> {
    let pem = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let key: PKey<Public> =
        PKey::public_key_from_pem(&pem).map_err(|_| anyhow::anyhow!("{} is not a PEM public key", path.display()))?;
    Ok(hex(&key.raw_public_key()?))
}

/// Signs the current end of the (verified) log and appends the checkpoint.
pub fn sign(workspace: &Path, entries: &[Entry], key: &Path, signer: &str) -> Result<Checkpoint> {
    let Some(last) = entries.last() else { bail!("the audit log is empty: nothing to sign") };
    let key = load_private(key)?;
    let mut c = Checkpoint {
        count: entries.len() as u64,
        hash: last.hash.clone(),
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        signer: signer.to_string(),
        public_key: hex(&key.raw_public_key()?),
        signature: String::new(),
    };
    let mut s = Signer::new_without_digest(&key)?;
    c.signature = hex(&s.sign_oneshot_to_vec(&c.message())?);
    let path = workspace.join("audit").join(FILE);
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    f.lock().with_context(|| format!("cannot lock {}", path.display()))?;
    f.write_all((serde_json::to_string(&c)? + "\n").as_bytes())
        .and_then(|_| f.sync_data())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(c)
}

/// Checks every checkpoint against the log; returns them. With `trusted`, at least one must be
/// signed by that public key (hex) and only its checkpoints are relied on.
pub fn verify(workspace: &Path, entries: &[Entry], trusted: Option<&str>) -> Result<Vec<Checkpoint>> {
    let path = workspace.join("audit").join(FILE);
    let file = match fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if trusted.is_some() {
                bail!("{}: no signed checkpoint, but a trusted key was given", path.display());
            }
            return Ok(Vec::new());
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        let c: Checkpoint =
            serde_json::from_str(&line).with_context(|| format!("{}:{n}: not a checkpoint", path.display()))?;
        let public = unhex(&c.public_key).with_context(|| format!("{}:{n}: bad public key", path.display()))?;
        let sig = unhex(&c.signature).with_context(|| format!("{}:{n}: bad signature", path.display()))?;
        let key = PKey::public_key_from_raw_bytes(&public, Id::ED25519)
            .map_err(|_| anyhow::anyhow!("{}:{n}: bad public key", path.display()))?;
        let mut v = Verifier::new_without_digest(&key)?;
        if !v.verify_oneshot(&sig, &c.message()).unwrap_or(false) {
            bail!(
                "{}:{n}: the signature of the checkpoint by {} does not verify (it was altered)",
                path.display(),
                c.signer
            );
        }
        if trusted.is_some_and(|t| t != c.public_key) {
            continue;
        }
        if (entries.len() as u64) < c.count {
            bail!(
                "the audit log holds {} entries but a checkpoint signed by {} at {} covers {}: the log was truncated",
                entries.len(),
                c.signer,
                c.time,
                c.count
            );
        }
        let at = (c.count - 1) as usize;
        if entries.get(at).is_none_or(|e| e.hash != c.hash) {
            bail!(
                "entry {} of the audit log is not the one signed by {} at {}: the log was rewritten",
                c.count,
                c.signer,
                c.time
            );
        }
        out.push(c);
    }
    if trusted.is_some() && out.is_empty() {
        bail!("{}: no checkpoint is signed by the trusted key", path.display());
    }
    Ok(out)
}
