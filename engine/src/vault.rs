//! The re-identification vault: `record_ref → record_id` for one department, encrypted and
//! authenticated with AES-256-GCM (OpenSSL) under a key derived from the department's vault
//! key. It stays with the custodian, never in the workspace; any change to the file (or the
//! wrong key) fails authentication and nothing is returned.
//!
//! Layout: magic (16 bytes) · department length (u16 LE) · department · nonce (12) ·
//! ciphertext · tag (16). The magic and department are authenticated as associated data.
//! Plaintext: for each record, record_ref (16) · id length (u16 LE) · record_id (UTF-8).

use std::collections::HashMap;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use linkage::encode::VaultKey;
use openssl::symm::{Cipher, Crypter, Mode};
use zeroize::Zeroizing;

const MAGIC: &[u8; 16] = b"MIMAMORI-VAULT\x00\x01";
const NONCE: usize = 12;
const TAG: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("cannot write vault {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("cannot read vault {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a mimamori vault")]
    NotAVault { path: PathBuf },
    #[error("vault {path} is for department `{found}`, not `{expected}`")]
    WrongDepartment { path: PathBuf, found: String, expected: String },
    #[error("vault {path} failed authentication: it was altered or damaged, or the vault key is not this department's")]
    Authentication { path: PathBuf },
}

/// Streams records into a new vault; the file appears only when [`finish`](Self::finish) succeeds.
pub struct VaultWriter {
    path: PathBuf,
    crypter: Crypter,
    out: BufWriter<tempfile::NamedTempFile>,
    buf: Vec<u8>,
    plain: Zeroizing<Vec<u8>>,
    pub records: u64,
}

fn werr(path: &Path, e: impl std::fmt::Display) -> VaultError {
    VaultError::Write { path: path.to_path_buf(), message: e.to_string() }
}

impl VaultWriter {
    pub fn create(path: &Path, department: &str, key: &VaultKey) -> Result<VaultWriter, VaultError> {
        // an older vault is replaced; anything else at that path (a key file given by mistake)
        // is never overwritten
        if path.exists() {
            let mut head = [0u8; 16];
            let is_vault = fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head)).is_ok()
                && &head == MAGIC;
            if !is_vault {
                return Err(VaultError::Write {
                    path: path.to_path_buf(),
                    message: "a file that is not a mimamori vault is already there; it is never overwritten (choose another --vault path)".into(),
                });
            }
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = tempfile::Builder::new().prefix(".mimamori-vault-").tempfile_in(&dir).map_err(|e| werr(path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o600)).map_err(|e| werr(path, e))?;
        }
        let mut nonce = [0u8; NONCE];
        openssl::rand::rand_bytes(&mut nonce).map_err(|e| werr(path, e))?;
        let enc_key = key.encryption_key();
        let mut crypter = Crypter::new(Cipher::aes_256_gcm(), Mode::Encrypt, &enc_key[..], Some(&nonce))
            .map_err(|e| werr(path, e))?;
        let dept = department.as_bytes();
        let mut header = Vec::with_capacity(16 + 2 + dept.len() + NONCE);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(dept.len() as u16).to_le_bytes());
        header.extend_from_slice(dept);
        crypter.aad_update(&header).map_err(|e| werr(path, e))?;
        header.extend_from_slice(&nonce);
        let mut out = BufWriter::new(tmp);
        out.write_all(&header).map_err(|e| werr(path, e))?;
        Ok(VaultWriter {
            path: path.to_path_buf(),
            crypter,
            out,
            buf: vec![0u8; 4096 + 32],
            plain: Zeroizing::new(Vec::with_capacity(4096)),
            records: 0,
        })
    }

    pub fn add(&mut self, record_ref: &[u8; 16], record_id: &str) -> std::io::Result<()> {
        let id = record_id.as_bytes();
        let len =
            u16::try_from(id.len()).map_err(|_| std::io::Error::other("a record id is longer than 65535 bytes"))?;
        self.plain.extend_from_slice(record_ref);
        self.plain.extend_from_slice(&len.to_le_bytes());
        self.plain.extend_from_slice(id);
        self.records += 1;
        if self.plain.len() >= 4096 {
            self.flush_plain()?;
        }
        Ok(())
    }

    fn flush_plain(&mut self) -> std::io::Result<()> {
        if self.buf.len() < self.plain.len() + 32 {
            self.buf.resize(self.plain.len() + 32, 0);
        }
        let n = self.crypter.update(&self.plain, &mut self.buf).map_err(std::io::Error::other)?;
        self.out.write_all(&self.buf[..n])?;
        self.plain.iter_mut().for_each(|b| *b = 0);
        self.plain.clear();
        Ok(())
    }

    /// Seals the vault and moves it into place (replacing an older vault of the department).
    pub fn finish(mut self) -> Result<u64, VaultError> {
        let path = self.path.clone();
        self.flush_plain().map_err(|e| werr(&path, e))?;
        let n = self.crypter.finalize(&mut self.buf).map_err(|e| werr(&path, e))?;
        self.out.write_all(&self.buf[..n]).map_err(|e| werr(&path, e))?;
        let mut tag = [0u8; TAG];
        self.crypter.get_tag(&mut tag).map_err(|e| werr(&path, e))?;
        self.out.write_all(&tag).map_err(|e| werr(&path, e))?;
        let tmp = self.out.into_inner().map_err(|e| werr(&path, e.error()))?;
        tmp.as_file().sync_all().map_err(|e| werr(&path, e))?;
        tmp.persist(&path).map_err(|e| werr(&path, e.error))?;
        Ok(self.records)
    }
}

/// Decrypts and authenticates a vault; returns record_ref → record_id.
pub fn open(path: &Path, department: &str, key: &VaultKey) -> Result<HashMap<[u8; 16], String>, VaultError> {
    let data = fs::read(path).map_err(|source| VaultError::Read { path: path.to_path_buf(), source })?;
    let bad = || VaultError::NotAVault { path: path.to_path_buf() };
    if data.len() < MAGIC.len() + 2 + NONCE + TAG || &data[..16] != MAGIC {
        return Err(bad());
    }
    let dlen = u16::from_le_bytes([data[16], data[17]]) as usize;
    let header_end = 18 + dlen;
    if data.len() < header_end + NONCE + TAG {
        return Err(bad());
    }
    let found = String::from_utf8_lossy(&data[18..header_end]).into_owned();
    if found != department {
        return Err(VaultError::WrongDepartment { path: path.to_path_buf(), found, expected: department.into() });
    }
    let nonce = &data[header_end..header_end + NONCE];
    let body = &data[header_end + NONCE..data.len() - TAG];
    let tag = &data[data.len() - TAG..];
    let auth = || VaultError::Authentication { path: path.to_path_buf() };
    let enc_key = key.encryption_key();
    let mut c = Crypter::new(Cipher::aes_256_gcm(), Mode::Decrypt, &enc_key[..], Some(nonce)).map_err(|_| auth())?;
    c.aad_update(&data[..header_end]).map_err(|_| auth())?;
    c.set_tag(tag).map_err(|_| auth())?;
    let mut plain = Zeroizing::new(vec![0u8; body.len() + 32]);
    let n = c.update(body, &mut plain).map_err(|_| auth())?;
    let m = c.finalize(&mut plain[n..]).map_err(|_| auth())?;
    let plain = &plain[..n + m];
    let mut map = HashMap::new();
    let mut i = 0;
    while i < plain.len() {
        if i + 18 > plain.len() {
            return Err(auth());
        }
        let mut r = [0u8; 16];
        r.copy_from_slice(&plain[i..i + 16]);
        let len = u16::from_le_bytes([plain[i + 16], plain[i + 17]]) as usize;
        i += 18;
        let id = plain.get(i..i + len).ok_or_else(auth)?;
        map.insert(r, String::from_utf8_lossy(id).into_owned());
        i += len;
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> VaultKey {
        VaultKey::from_bytes(Zeroizing::new([b; 32]))
    }

    #[test]
    fn round_trip_and_tamper_detection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("welfare.vault");
        let k = key(1);
        let mut w = VaultWriter::create(&path, "welfare", &k).unwrap();
        for i in 0..1000 {
            let id = format!("W{i:07}");
            w.add(&k.record_ref("welfare", &id), &id).unwrap();
        }
        assert_eq!(w.finish().unwrap(), 1000);
        let map = open(&path, "welfare", &k).unwrap();
        assert_eq!(map.len(), 1000);
        assert_eq!(map[&k.record_ref("welfare", "W0000042")], "W0000042");
        // the plaintext ids are not in the file
        let bytes = fs::read(&path).unwrap();
        assert!(!bytes.windows(8).any(|w| w == b"W0000042"));

        assert!(matches!(open(&path, "welfare", &key(2)), Err(VaultError::Authentication { .. })));
        assert!(matches!(open(&path, "health", &k), Err(VaultError::WrongDepartment { .. })));
        for at in [20, bytes.len() / 2, bytes.len() - 1] {
            let mut t = bytes.clone();
            t[at] ^= 1;
            fs::write(&path, &t).unwrap();
            assert!(open(&path, "welfare", &k).is_err(), "flipping byte {at} is detected");
        }
        fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        assert!(open(&path, "welfare", &k).is_err(), "truncation is detected");

        // a vault is replaced by a new one, but never a file that is not a vault
        fs::write(&path, &bytes).unwrap();
        assert!(VaultWriter::create(&path, "welfare", &k).is_ok());
        let key_file = dir.path().join("link.key");
        fs::write(&key_file, "mimamori-linkage-key-v1 00").unwrap();
        assert!(VaultWriter::create(&key_file, "welfare", &k).is_err());
        assert_eq!(fs::read_to_string(&key_file).unwrap(), "mimamori-linkage-key-v1 00");
    }
}
