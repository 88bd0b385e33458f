//! `mimamori config`: validate a workspace's mimamori.toml and summarise it.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::cli::OutputFormat;
use crate::config::Config;

pub fn run(workspace: &Path, format: OutputFormat) -> Result<()> {
    let c = Config::load_workspace(workspace)?;
    let text = match format {
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(&c)?),
        OutputFormat::Table => describe(&c),
    };
    crate::print_stdout(&text)?;
    Ok(())
}

fn describe(c: &Config) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{} ({}) — mimamori.toml is valid", c.municipality_name, c.municipality_code);
    let _ = writeln!(t, "minimum group size {}; outreach cycle {:?}", c.min_group_size, c.outreach_cycle);
    let _ = writeln!(t, "departments ({}):", c.departments.len());
    for d in &c.departments {
        let _ = writeln!(t, "  {:<14} {}", d.name, d.label);
    }
    let _ = writeln!(t, "districts ({}), caseworker capacity per cycle:", c.districts.len());
    for d in &c.districts {
        let _ = writeln!(t, "  {:<14} {:<12} {:>4}", d.id, d.name, d.caseworker_capacity);
    }
    let _ = writeln!(t, "users ({}):", c.users.len());
    for u in &c.users {
        let scope =
            if !u.districts.is_empty() { u.districts.join(", ") } else { u.department.clone().unwrap_or_default() };
        let _ = writeln!(t, "  {:<20} {:<22} {}", u.name, u.role.as_str(), scope);
    }
    let _ = writeln!(t, "purposes ({}):", c.purposes.len());
    for p in &c.purposes {
        let _ = writeln!(t, "  {:<20} ε={} δ={}  {}", p.id, p.dp_epsilon, p.dp_delta, p.legal_basis);
    }
    t
}
