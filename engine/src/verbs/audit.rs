//! `mimamori audit verify` and `mimamori audit show`.

use anyhow::{Result, bail};

use crate::audit::{Decision, Entry};
use crate::checkpoint;
use crate::cli::{AuditCommand, OutputFormat};

pub fn run(command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify { workspace, trusted_key } => {
            let entries = crate::audit::verify(&workspace)?;
            let trusted = match trusted_key.as_deref() {
                Some(p) => Some(checkpoint::load_public(p)?),
                None => None,
            };
            let checkpoints = checkpoint::verify(&workspace, &entries, trusted.as_deref())?;
            let denied = entries.iter().filter(|e| e.decision == Decision::Deny).count();
            let signed = match checkpoints.last() {
                Some(c) => format!(
                    "; {} signed checkpoint(s), the last by {} (key {}) covering {} entries",
                    checkpoints.len(),
                    c.signer,
                    c.key_fingerprint(),
                    c.count
                ),
                None => "; no signed checkpoint yet (`mimamori audit checkpoint`)".to_string(),
            };
            crate::print_stdout(&format!(
                "audit log intact: {} entries ({} denied), hash chain verified{signed}\n",
                super::count(entries.len() as u64),
                super::count(denied as u64)
            ))?;
            Ok(())
        }
        AuditCommand::Checkpoint { workspace, key, user } => {
            let config = crate::config::Config::load_workspace(&workspace)?;
            let is_reviewer = config.users.iter().any(|u| u.name == user && u.role == crate::config::Role::Reviewer);
            let log = |decision: Decision, detail: serde_json::Value| {
                crate::audit::append(
                    &workspace,
                    crate::audit::Record {
                        user: &user,
                        action: "audit-checkpoint",
                        purpose: None,
                        resource: "audit",
                        decision,
                        detail,
                    },
                )
            };
            if !is_reviewer {
                log(
                    Decision::Deny,
                    serde_json::json!({"reasons": ["only a reviewer of mimamori.toml signs checkpoints"]}),
                )?;
                return Err(crate::gateway::Denied {
                    reasons: vec![format!(
                        "{user} is not a reviewer of mimamori.toml; only reviewers sign checkpoints"
                    )],
                }
                .into());
            }
            let entries = crate::audit::verify(&workspace)?;
            checkpoint::verify(&workspace, &entries, None)?;
            let c = checkpoint::sign(&workspace, &entries, &key, &user)?;
            log(Decision::Allow, serde_json::json!({"count": c.count, "key": c.key_fingerprint()}))?;
            crate::print_stdout(&format!(
                "signed checkpoint: {} entries, last hash {}…, key {}\n",
                c.count,
                &c.hash[..16],
                c.key_fingerprint()
            ))?;
            Ok(())
        }
        AuditCommand::Show { workspace, user, since, format } => {
            let entries = crate::audit::verify(&workspace)?;
            let since = match since.as_deref() {
                None => None,
                Some(s) => Some(parse_since(s)?),
            };
            let shown: Vec<&Entry> = entries
                .iter()
                .filter(|e| user.as_deref().is_none_or(|u| e.user == u))
                .filter(|e| {
                    since.is_none_or(|t| {
                        chrono::DateTime::parse_from_rfc3339(&e.time)
                            .is_ok_and(|et| et.with_timezone(&chrono::Utc) >= t)
                    })
                })
                .collect();
            match format {
                OutputFormat::Json => crate::print_stdout(&(serde_json::to_string_pretty(&shown)? + "\n")),
                OutputFormat::Table => crate::print_stdout(&table(&shown)),
            }?;
            Ok(())
        }
    }
}

fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    bail!("--since {s:?}: expected an RFC 3339 time (2026-11-25T09:00:00Z) or a date (2026-11-25)")
}

fn table(entries: &[&Entry]) -> String {
    let mut out =
        String::from("seq\ttime\tuser\trole\tpurpose\taction\tdecision\trows\tresource\treason / rewrites / sql\n");
    for e in entries {
        let d = &e.detail;
        let role = d.get("role").and_then(|v| v.as_str()).unwrap_or("-");
        let rows = d.get("rows").map_or("-".to_string(), |v| v.to_string());
        let decision = match e.decision {
            Decision::Allow => "allow",
            Decision::Deny => "DENY",
            Decision::Error => "error",
        };
        let mut notes: Vec<String> = Vec::new();
        for key in ["reasons", "rewrites"] {
            if let Some(a) = d.get(key).and_then(|v| v.as_array()) {
                notes.extend(a.iter().filter_map(|v| v.as_str().map(str::to_string)));
            }
        }
        if let Some(err) = d.get("error").and_then(|v| v.as_str()) {
            notes.push(err.to_string());
        }
        if let Some(sql) = d.get("sql").and_then(|v| v.as_str()) {
            notes.push(format!("sql: {sql}"));
        }
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            e.seq,
            e.time,
            e.user,
            role,
            e.purpose.as_deref().unwrap_or("-"),
            e.action,
            decision,
            rows,
            e.resource,
            notes.join(" | ").replace(['\n', '\t'], " ")
        ));
    }
    out
}
