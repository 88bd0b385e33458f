//! `mimamori init`: a new workspace with a commented mimamori.toml.

use std::path::Path;

use anyhow::{Context, Result};

use crate::config::{self, Config};
use crate::staging::write_new_file;

/// Writes the template into `workspace` and checks it loads.
pub fn create(workspace: &Path) -> Result<()> {
    std::fs::create_dir_all(workspace.join("extracts"))
        .with_context(|| format!("cannot create workspace {}", workspace.display()))?;
    let path = workspace.join(config::FILE_NAME);
    write_new_file(&path, config::TEMPLATE.as_bytes())?;
    Config::load(&path)?;
    Ok(())
}

pub fn run(workspace: &Path) -> Result<()> {
    create(workspace)?;
    crate::print_stdout(&format!(
        "created {}\n\nnext:\n  edit it: departments, districts and caseworker capacity, users, purposes with their legal basis\n  check it: mimamori config --workspace {}\n  custodians write pseudonymised extracts into {}\n",
        workspace.join(config::FILE_NAME).display(),
        workspace.display(),
        workspace.join("extracts").display()
    ))?;
    Ok(())
}
