//! `mimamori audit verify`.

use anyhow::Result;

use crate::cli::AuditCommand;

pub fn run(command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify { workspace } => {
            let entries = crate::audit::verify(&workspace)?;
            let denied = entries.iter().filter(|e| e.decision == crate::audit::Decision::Deny).count();
            crate::print_stdout(&format!(
                "audit log intact: {} entries ({} denied), hash chain verified\n",
                super::count(entries.len() as u64),
                super::count(denied as u64)
            ))?;
            Ok(())
        }
    }
}
