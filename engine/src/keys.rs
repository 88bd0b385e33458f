//! Key files: the linkage key (shared by custodians) and each department's vault key.
//!
//! A key file is one line, `mimamori-linkage-key-v1 <64 hex digits>` (or `mimamori-vault-key-v1`),
//! created with mode 0600 and never overwritten. Reading refuses a file that group or others
//! can read, and a key of the other kind. Key bytes live in zeroizing buffers; no message ever
//! holds them.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use linkage::encode::{KEY_BYTES, LinkageKey, VaultKey};
use zeroize::Zeroizing;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Linkage,
    Vault,
}

impl KeyKind {
    fn header(self) -> &'static str {
        match self {
            KeyKind::Linkage => "mimamori-linkage-key-v1",
            KeyKind::Vault => "mimamori-vault-key-v1",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            KeyKind::Linkage => "linkage key",
            KeyKind::Vault => "vault key",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path} already exists; a key file is never overwritten (choose another path)")]
    Exists { path: PathBuf },
    #[error("cannot write key file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read key file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "key file {path} can be read by group or others (mode {mode:o}); run `chmod 600 {path}` and keep it with the custodian"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("{path} is a {found}, not a {expected}")]
    WrongKind { path: PathBuf, found: &'static str, expected: &'static str },
    #[error("{path} is not a mimamori key file (expected one line made by `mimamori keygen`)")]
    Malformed { path: PathBuf },
    #[error("the operating system's random source failed: {0}")]
    Random(String),
}

/// Writes a new random key of `kind` to `path` (mode 0600, refusing to overwrite).
pub fn generate(kind: KeyKind, path: &Path) -> Result<String, KeyError> {
    let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
    getrandom::fill(&mut bytes[..]).map_err(|e| KeyError::Random(e.to_string()))?;
    let mut line = Zeroizing::new(String::with_capacity(100));
    line.push_str(kind.header());
    line.push(' ');
    for b in bytes.iter() {
        line.push_str(&format!("{b:02x}"));
    }
    line.push('\n');
    write_secret_file(path, line.as_bytes())?;
    Ok(match kind {
        KeyKind::Linkage => LinkageKey::from_bytes(bytes).fingerprint(),
        KeyKind::Vault => VaultKey::from_bytes(bytes).fingerprint(),
    })
}

/// Creates `path` with mode 0600 (never replacing a file) and writes `contents`, synced; a
/// failed write leaves no file behind.
pub fn write_secret_file(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists { path: path.to_path_buf() }
        } else {
            KeyError::Write { path: path.to_path_buf(), source }
        }
    })?;
    let written = file.write_all(contents).and_then(|_| file.sync_all());
    if let Err(source) = written {
        let _ = fs::remove_file(path);
        return Err(KeyError::Write { path: path.to_path_buf(), source });
    }
    Ok(())
}

/// The metadata of a key file that only its owner can read; refuses one that group or others can.
pub fn private_metadata(path: &Path) -> Result<fs::Metadata, KeyError> {
    let meta = fs::metadata(path).map_err(|source| KeyError::Read { path: path.to_path_buf(), source })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Exposed { path: path.to_path_buf(), mode });
        }
    }
    Ok(meta)
}

fn read_bytes(kind: KeyKind, path: &Path) -> Result<Zeroizing<[u8; KEY_BYTES]>, KeyError> {
    let meta = private_metadata(path)?;
    if meta.len() > 256 {
        return Err(KeyError::Malformed { path: path.to_path_buf() });
    }
    let text = Zeroizing::new(fs::read(path).map_err(|source| KeyError::Read { path: path.to_path_buf(), source })?);
    let text = std::str::from_utf8(&text).map_err(|_| KeyError::Malformed { path: path.to_path_buf() })?;
    let (header, hex) = text.trim().split_once(' ').ok_or_else(|| KeyError::Malformed { path: path.to_path_buf() })?;
    let found = [KeyKind::Linkage, KeyKind::Vault].into_iter().find(|k| k.header() == header);
    match found {
        None => return Err(KeyError::Malformed { path: path.to_path_buf() }),
        Some(k) if k != kind => {
            return Err(KeyError::WrongKind {
                path: path.to_path_buf(),
                found: k.describe(),
                expected: kind.describe(),
            });
        }
        Some(_) => {}
    }
    if hex.len() != 2 * KEY_BYTES {
        return Err(KeyError::Malformed { path: path.to_path_buf() });
    }
    let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("zz"), 16)
            .map_err(|_| KeyError::Malformed { path: path.to_path_buf() })?;
    }
    Ok(bytes)
}

pub fn read_linkage_key(path: &Path) -> Result<LinkageKey, KeyError> {
    read_bytes(KeyKind::Linkage, path).map(LinkageKey::from_bytes)
}

pub fn read_vault_key(path: &Path) -> Result<VaultKey, KeyError> {
    read_bytes(KeyKind::Vault, path).map(VaultKey::from_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_refusals_and_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("link.key");
        let fp = generate(KeyKind::Linkage, &p).unwrap();
        assert_eq!(read_linkage_key(&p).unwrap().fingerprint(), fp);
        assert!(matches!(generate(KeyKind::Linkage, &p), Err(KeyError::Exists { .. })));
        assert!(matches!(read_vault_key(&p), Err(KeyError::WrongKind { .. })));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
            fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
            let e = read_linkage_key(&p).unwrap_err();
            assert!(matches!(e, KeyError::Exposed { .. }));
            assert!(e.to_string().contains("chmod 600"));
        }
        let q = dir.path().join("junk.key");
        fs::write(&q, "not a key").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&q, fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(matches!(read_linkage_key(&q), Err(KeyError::Malformed { .. })));
    }
}
