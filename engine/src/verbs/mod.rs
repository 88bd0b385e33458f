//! One module per verb; each turns its arguments into work on the libraries and a printed result.

mod audit;
mod config;
mod demo;
mod demo_report;
mod export_links;
mod init;
mod keygen;
mod link;
pub use link::truth_persons;
pub mod link_report;
pub mod outreach;
mod pseudonymise;
mod query;
mod risk_report;
mod score;
mod synth;
mod user;

use anyhow::Result;

use crate::cli::{Command, OutreachCommand, QueryArgs, UserCommand};

/// `query`, or `release` (`external`: the ε of a release outside).
fn run_query(q: &QueryArgs, external: Option<&str>) -> Result<()> {
    query::run(&query::Args {
        workspace: &q.workspace,
        user: &q.user,
        purpose: &q.purpose,
        sql: &q.sql,
        format: q.format,
        out: q.out.as_deref(),
        external,
    })
}

/// Runs one verb.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Demo { out, households, seed, force, format } => demo::run(&out, households, seed, force, format),
        Command::Synth { households, seed, out, as_of, format } => synth::run(households, seed, &out, as_of, format),
        Command::Init { workspace } => init::run(&workspace),
        Command::Config { workspace, format } => config::run(&workspace, format),
        Command::Keygen { vault, signing, out } => keygen::run(vault, signing, &out),
        Command::Link { workspace, truth, vault_dir, user, purpose, format } => {
            link::run(&workspace, truth.as_deref(), vault_dir.as_deref(), user.as_deref(), &purpose, format)
        }
        Command::ExportLinks { workspace, vault_dir, out, user, purpose } => {
            export_links::run(&workspace, &vault_dir, &out, user.as_deref(), &purpose)
        }
        Command::Audit { command } => audit::run(command),
        Command::Query { query: q, external, epsilon } => run_query(&q, external.then_some(epsilon.as_str())),
        Command::Release { query: q, epsilon } => run_query(&q, Some(epsilon.as_str())),
        Command::Score { workspace, user, purpose, as_of, format } => {
            score::run(&score::Args { workspace: &workspace, user: &user, purpose: &purpose, as_of, format })
        }
        Command::Outreach { command: Some(c), .. } => match c {
            OutreachCommand::Approve { review: r, override_fairness } => {
                outreach::approve(&r.workspace, &r.list, &r.reviewer, &r.purpose, override_fairness.as_deref())
            }
            OutreachCommand::Reject { review: r, reason } => {
                outreach::reject_list(
                    &r.workspace,
                    &r.list,
                    &r.reviewer,
                    &r.purpose,
                    &reason,
                    &crate::audit::os_user(),
                )?;
                crate::print_stdout(&format!(
                    "{} rejected list {}: it can no longer be approved or re-identified\n",
                    r.reviewer, r.list
                ))?;
                Ok(())
            }
            OutreachCommand::Show { workspace, list, user, purpose, format } => {
                outreach::show(&workspace, &list, &user, &purpose, format)
            }
            OutreachCommand::Record { workspace, household, outcome, user, purpose, noted } => {
                outreach::record(&workspace, household, outcome, user.as_deref(), &purpose, noted)
            }
        },
        Command::Outreach { command: None, workspace, user, purpose, district, format } => {
            let (Some(workspace), Some(user), Some(purpose)) = (workspace, user, purpose) else {
                anyhow::bail!(
                    "mimamori outreach needs --workspace, --user and --purpose (or a subcommand: approve, record)"
                )
            };
            outreach::build(&workspace, &user, &purpose, district.as_deref(), format)
        }
        Command::Reidentify { workspace, list, vault_dir, user, purpose, out } => {
            outreach::reidentify(&workspace, &list, &vault_dir, user.as_deref(), &purpose, out.as_deref())
        }
        Command::Serve { workspace, listen, tls_cert, tls_key, insecure_http, idle_timeout } => {
            let transport = match (tls_cert, tls_key, insecure_http) {
                (Some(cert), Some(key), _) => crate::portal::Transport::Tls { cert, key },
                (_, _, true) => crate::portal::Transport::PlainLoopback,
                _ => crate::portal::Transport::SelfSigned,
            };
            if idle_timeout == 0 {
                anyhow::bail!("--idle-timeout must be at least 1 minute");
            }
            crate::portal::serve(crate::portal::Options {
                workspace,
                listen,
                transport,
                idle_timeout: std::time::Duration::from_secs(idle_timeout * 60),
            })
        }
        Command::User {
            command: UserCommand::Add { workspace, name, role, districts, department, display_name, password_stdin },
        } => {
            let role = match role {
                None => None,
                Some(r) => Some(crate::config::Role::ALL.into_iter().find(|x| x.as_str() == r).ok_or_else(|| {
                    anyhow::anyhow!(
                        "unknown role `{r}`; expected data_linkage_officer, caseworker, reviewer or custodian"
                    )
                })?),
            };
            user::run(&user::Args {
                workspace: &workspace,
                name: &name,
                role,
                districts: &districts,
                department: department.as_deref(),
                display_name: display_name.as_deref(),
                password_stdin,
            })
        }
        Command::LinkReport { workspace, out, user, purpose } => {
            let written = link_report::run(&workspace, out.as_deref(), user.as_deref(), &purpose)?;
            eprintln!("wrote {}", written.display());
            Ok(())
        }
        Command::Pseudonymise { mapping, key, vault_key, out, vault, hardening, token_salt, strict, force, format } => {
            pseudonymise::run(&pseudonymise::Args {
                mapping,
                key,
                vault_key,
                out,
                vault,
                hardening,
                token_salt,
                strict,
                force,
                format,
            })
        }
    }
}

/// Thousands separators for counts in summaries.
fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
