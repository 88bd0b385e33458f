//! Key material: the linkage key shared by custodians and each department's vault key. Held in
//! memory that is zeroed when dropped; never formatted by `Debug`.

use std::fmt;

use zeroize::Zeroizing;

pub const KEY_BYTES: usize = 32;

/// The 256-bit linkage key. Tokens and Bloom encodings are keyed with field keys derived from it.
pub struct LinkageKey(Zeroizing<[u8; KEY_BYTES]>);

/// A department's 256-bit vault key: keys `record_ref` and encrypts the re-identification vault.
pub struct VaultKey {
    key: Zeroizing<[u8; KEY_BYTES]>,
    /// The key of `record_ref`, derived once.
    record_key: Zeroizing<[u8; KEY_BYTES]>,
}

impl fmt::Debug for LinkageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkageKey(<secret>)")
    }
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey(<secret>)")
    }
}

fn fingerprint(context: &str, key: &[u8; KEY_BYTES]) -> String {
    let digest = Zeroizing::new(blake3::derive_key(context, key));
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

impl LinkageKey {
    pub fn from_bytes(bytes: Zeroizing<[u8; KEY_BYTES]>) -> Self {
        LinkageKey(bytes)
    }

    /// A public identifier of the key (128 bits of a hash under a fixed context): equal keys
    /// have equal fingerprints; the key cannot be computed from it.
    pub fn fingerprint(&self) -> String {
        fingerprint("mimamori 2026 linkage key fingerprint v1", &self.0)
    }

    /// The key of one field (token or Bloom encoding), independent of every other field's.
    pub(crate) fn field_key(&self, purpose: &str, field: &str) -> Zeroizing<[u8; KEY_BYTES]> {
        let mut material = Zeroizing::new(Vec::with_capacity(KEY_BYTES + field.len() + 1));
        material.extend_from_slice(&*self.0);
        material.push(0);
        material.extend_from_slice(field.as_bytes());
        Zeroizing::new(blake3::derive_key(&format!("mimamori 2026 {purpose} v1"), &material))
    }
}

impl VaultKey {
    pub fn from_bytes(bytes: Zeroizing<[u8; KEY_BYTES]>) -> Self {
        let record_key = Zeroizing::new(blake3::derive_key("mimamori 2026 record_ref v1", &*bytes));
        VaultKey { key: bytes, record_key }
    }

    pub fn fingerprint(&self) -> String {
        fingerprint("mimamori 2026 vault key fingerprint v1", &self.key)
    }

    /// `record_ref`: a keyed hash of (department, record_id). The workspace cannot reverse it;
    /// the custodian's vault maps it back.
    pub fn record_ref(&self, department: &str, record_id: &str) -> [u8; 16] {
        let mut h = blake3::Hasher::new_keyed(&self.record_key);
        h.update(department.as_bytes());
        h.update(&[0]);
        h.update(record_id.as_bytes());
        let out = h.finalize();
        let mut r = [0u8; 16];
        r.copy_from_slice(&out.as_bytes()[..16]);
        r
    }

    /// The AES-256-GCM key of the vault file, separate from the `record_ref` key.
    pub fn encryption_key(&self) -> Zeroizing<[u8; KEY_BYTES]> {
        Zeroizing::new(blake3::derive_key("mimamori 2026 vault encryption v1", &*self.key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> LinkageKey {
        LinkageKey::from_bytes(Zeroizing::new([b; KEY_BYTES]))
    }

    #[test]
    fn fingerprints_identify_keys_without_revealing_them() {
        assert_eq!(key(1).fingerprint(), key(1).fingerprint());
        assert_ne!(key(1).fingerprint(), key(2).fingerprint());
        assert_eq!(key(1).fingerprint().len(), 32);
        assert!(!format!("{:?}", key(1)).contains("01"));
    }

    #[test]
    fn field_keys_differ_by_field_and_purpose() {
        let k = key(7);
        assert_ne!(*k.field_key("token", "family"), *k.field_key("token", "given"));
        assert_ne!(*k.field_key("token", "family"), *k.field_key("bloom", "family"));
    }

    #[test]
    fn record_ref_depends_on_department_and_key() {
        let v = VaultKey::from_bytes(Zeroizing::new([3; KEY_BYTES]));
        let w = VaultKey::from_bytes(Zeroizing::new([4; KEY_BYTES]));
        assert_ne!(v.record_ref("welfare", "A1"), v.record_ref("health", "A1"));
        assert_ne!(v.record_ref("welfare", "A1"), w.record_ref("welfare", "A1"));
        // the separator keeps ("ab","c") and ("a","bc") apart
        assert_ne!(v.record_ref("ab", "c"), v.record_ref("a", "bc"));
    }
}
