//! `mimamori export-links`: the custodians map linked record_refs back to their record ids.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result, bail};
use arrow_array::{Array, FixedSizeBinaryArray, UInt64Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;

use crate::audit;
use crate::gate;
use crate::keys;
use crate::vault;

/// Opens `<dir>/<department>.vault` with `<dir>/<department>.vault.key`.
pub fn open_vault(dir: &Path, department: &str) -> Result<HashMap<[u8; 16], String>> {
    let path = dir.join(format!("{department}.vault"));
    let key_path = dir.join(format!("{department}.vault.key"));
    if !path.is_file() {
        bail!("no vault for department `{department}`: {} does not exist", path.display());
    }
    let key = keys::read_vault_key(&key_path)?;
    Ok(vault::open(&path, department, &key)?)
}

/// Writes `department,record_id,person_id,household_id` for every linked record whose
/// department the actors may open (see [`gate::vault_openers`]), outside the workspace.
pub fn run(workspace: &Path, vault_dir: &Path, out: &Path, user: Option<&str>, purpose: &str) -> Result<()> {
    let persons_path = workspace.join("linked").join(linkage::link::PERSONS_FILE);
    if !persons_path.is_file() {
        bail!(
            "{} does not exist; run `mimamori link --workspace {}` first",
            persons_path.display(),
            workspace.display()
        );
    }
    let ws = workspace.canonicalize().with_context(|| format!("cannot read {}", workspace.display()))?;
    if super::pseudonymise::absolute(out)?.starts_with(&ws) {
        bail!(
            "{} is inside the workspace; the export holds record ids and must stay with the custodians (write it outside)",
            out.display()
        );
    }
    if out.exists() {
        bail!("{} already exists; it is never overwritten", out.display());
    }
    // rows of persons.parquet: (department, record_ref, person, household)
    let file = File::open(&persons_path).with_context(|| format!("cannot read {}", persons_path.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .with_context(|| format!("cannot read {}", persons_path.display()))?;
    let mut rows: Vec<(String, [u8; 16], u64, u64)> = Vec::new();
    for batch in reader {
        let batch = batch.with_context(|| format!("cannot read {}", persons_path.display()))?;
        let dept = arrow_cast::cast(batch.column(0), &arrow_schema::DataType::Utf8)?;
        let dept = dept.as_any().downcast_ref::<arrow_array::StringArray>().context("department is not text")?;
        let refs = batch.column(1).as_any().downcast_ref::<FixedSizeBinaryArray>().context("record_ref column")?;
        let person = batch.column(2).as_any().downcast_ref::<UInt64Array>().context("person_id column")?;
        let household = batch.column(3).as_any().downcast_ref::<UInt64Array>().context("household_id column")?;
        for i in 0..batch.num_rows() {
            let mut r = [0u8; 16];
            r.copy_from_slice(refs.value(i));
            rows.push((dept.value(i).to_string(), r, person.value(i), household.value(i)));
        }
    }
    let mut departments: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    departments.sort();
    departments.dedup();

    let (config, source) = gate::workspace_config(workspace)?;
    let resource = "linked/persons";
    // not $MIMAMORI_USER (set for a caseworker's `outreach record`): without --user, the key
    // holders export
    let named = user.map(gate::named_user).transpose()?;
    let openers = gate::with_denial_detail(json!({"via": "export-links"}), || {
        gate::vault_openers(workspace, &config, named.as_deref(), purpose, "export", resource, &departments)
    })?;
    let who = openers.who.clone();
    let mut detail = json!({"login": audit::os_user(), "configuration": source.as_str(), "policy_action": "export"});
    let result = (|| {
        if let Some(own) = &openers.departments {
            rows.retain(|r| own.contains(&r.0));
            departments.retain(|d| own.contains(d));
            if rows.is_empty() {
                bail!("the actors ({who}) hold no department of this linkage; name a custodian with --user");
            }
        }
        let mut vaults = HashMap::new();
        for d in &departments {
            vaults.insert(d.clone(), open_vault(vault_dir, d)?);
        }
        Ok(vaults)
    })();
    detail["departments"] = json!(departments);
    let vaults =
        gate::log_failure_with(workspace, &openers.who, purpose, "export-links", resource, detail.clone(), result)?;
    detail["records"] = json!(rows.len());
    gate::record(workspace, &openers.who, purpose, "export-links", resource, detail)?;

    let mut text = String::from("department,record_id,person_id,household_id\n");
    let mut missing = 0u64;
    for (d, r, p, h) in &rows {
        match vaults.get(d).and_then(|v| v.get(r)) {
            Some(id) => {
                let id =
                    if id.contains([',', '"', '\n']) { format!("\"{}\"", id.replace('"', "\"\"")) } else { id.clone() };
                text.push_str(&format!("{d},{id},{p},{h}\n"));
            }
            None => missing += 1,
        }
    }
    if missing > 0 {
        bail!(
            "{missing} linked records are not in their department's vault: the vaults do not belong to this workspace"
        );
    }
    crate::staging::write_new_file(out, text.as_bytes())?;
    eprintln!(
        "wrote {} ({} records of {} departments)",
        out.display(),
        super::count(rows.len() as u64),
        departments.len()
    );
    Ok(())
}
