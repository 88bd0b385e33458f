//! TLS for the portal through openssl: the operator's certificate and key, or — for local use —
//! a self-signed certificate made once and kept in the workspace (key mode 0600).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName};
use openssl::x509::{X509, X509NameBuilder};

/// Where a self-signed certificate of a workspace lives.
pub fn self_signed_paths(workspace: &Path) -> (PathBuf, PathBuf) {
    let d = workspace.join("portal").join("tls");
    (d.join("cert.pem"), d.join("key.pem"))
}

/// The workspace's self-signed certificate and key, made on first use for localhost,
/// 127.0.0.1, ::1 and `listen` (when it names one address). Returns their paths.
pub fn self_signed(workspace: &Path, listen: IpAddr) -> Result<(PathBuf, PathBuf, bool)> {
    let (cert_path, key_path) = self_signed_paths(workspace);
    if cert_path.is_file() && key_path.is_file() {
        crate::keys::private_metadata(&key_path)?;
        return Ok((cert_path, key_path, false));
    }
    let dir = cert_path.parent().unwrap_or(workspace);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (cert, key) = make_self_signed(listen)?;
    let _ = std::fs::remove_file(&key_path);
    crate::keys::write_secret_file(&key_path, &key)?;
    crate::staging::write_atomically(&cert_path, &cert)?;
    Ok((cert_path, key_path, true))
}

/// A P-256 key and a one-year self-signed certificate for the portal (PEM, PEM PKCS#8).
fn make_self_signed(listen: IpAddr) -> Result<(Vec<u8>, Vec<u8>)> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, "mimamori portal (self-signed, local use)")?;
    let name = name.build();
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.set_pubkey(&key)?;
    let (from, until) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(365)?);
    b.set_not_before(&from)?;
    b.set_not_after(&until)?;
    let mut san = SubjectAlternativeName::new();
    san.dns("localhost").ip("127.0.0.1").ip("::1");
    let listen_text = listen.to_string();
    if !listen.is_unspecified() && !listen.is_loopback() {
        san.ip(&listen_text);
    }
    let san = san.build(&b.x509v3_context(None, None))?;
    b.append_extension(san)?;
    b.append_extension(BasicConstraints::new().critical().build()?)?;
    b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
    b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    b.sign(&key, MessageDigest::sha256())?;
    Ok((b.build().to_pem()?, key.private_key_to_pem_pkcs8()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_made_once_with_a_private_key() -> Result<()> {
        let ws = tempfile::tempdir()?;
        let (cert, key, made) = self_signed(ws.path(), [127, 0, 0, 1].into())?;
        assert!(made);
        let x = X509::from_pem(&std::fs::read(&cert)?)?;
        let sans: Vec<String> = x
            .subject_alt_names()
            .map(|s| s.iter().filter_map(|n| n.dnsname().map(str::to_string)).collect())
            .unwrap_or_default();
        assert_eq!(sans, vec!["localhost".to_string()]);
        // only the owner may read the key
        crate::keys::private_metadata(&key)?;
        let (_, _, again) = self_signed(ws.path(), [127, 0, 0, 1].into())?;
        assert!(!again, "a second start reuses the certificate");
        Ok(())
    }
}
