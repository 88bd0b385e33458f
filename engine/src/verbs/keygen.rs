//! `mimamori keygen`: a new linkage or vault key file.

use std::path::Path;

use anyhow::Result;

use crate::keys::{self, KeyKind};

pub fn run(vault: bool, signing: bool, out: &Path) -> Result<()> {
    if signing {
        let fingerprint = crate::checkpoint::generate_signing_key(out)?;
        crate::print_stdout(&format!(
            "wrote a new Ed25519 signing key to {} (mode 0600) and its public key to {}\n\
             fingerprint {fingerprint}; keep the key with the reviewer, hand out the .pub\n",
            out.display(),
            crate::checkpoint::public_path(out).display()
        ))?;
        return Ok(());
    }
    let kind = if vault { KeyKind::Vault } else { KeyKind::Linkage };
    let fingerprint = keys::generate(kind, out)?;
    let what = if vault {
        "vault key (one department's; keep it with its custodian)"
    } else {
        "linkage key (share it with the custodians only)"
    };
    crate::print_stdout(&format!(
        "wrote a new {what} to {}\nmode 0600; fingerprint {fingerprint}\nnever copy a key file into the workspace\n",
        out.display()
    ))?;
    Ok(())
}
