//! Authorisation of verbs other than `query` (score, outreach, approve, reidentify, record):
//! the user and purpose must be in `mimamori.toml`, the Cedar policies must permit the action,
//! and every decision, allowed or denied, is written to the audit log.

use std::path::Path;

use anyhow::Result;
use policies::{DistrictResource, Policies, Principal, PurposeContext, Verdict};
use serde_json::json;

use crate::audit::{self, Decision};
use crate::config::{Config, Purpose, User};
use crate::gateway::{Denied, load_policies};

/// An allowed user, purpose and the policies that allowed them.
pub struct Allowed<'a> {
    pub user: &'a User,
    pub principal: Principal,
    pub purpose: PurposeContext,
    pub policies: std::sync::Arc<Policies>,
}

thread_local! {
    /// Detail added to every denial written on this thread (the portal's page and `via`).
    static DENIAL_DETAIL: std::cell::RefCell<Option<serde_json::Value>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `extra` merged into the detail of every denial it writes to the audit log.
pub fn with_denial_detail<R>(extra: serde_json::Value, f: impl FnOnce() -> R) -> R {
    let previous = DENIAL_DETAIL.with(|d| d.replace(Some(extra)));
    let r = f();
    DENIAL_DETAIL.with(|d| d.replace(previous));
    r
}

fn deny(
    workspace: &Path,
    user: &str,
    purpose: &str,
    action: &str,
    resource: &str,
    reasons: Vec<String>,
) -> anyhow::Error {
    let logged = audit::append(
        workspace,
        audit::Record {
            user,
            action,
            purpose: Some(purpose),
            resource,
            decision: Decision::Deny,
            detail: {
                let mut detail = json!({ "reasons": reasons, "login": audit::os_user() });
                DENIAL_DETAIL.with(|d| {
                    if let Some(serde_json::Value::Object(extra)) = d.borrow().as_ref() {
                        for (k, v) in extra {
                            detail[k] = v.clone();
                        }
                    }
                });
                detail
            },
        },
    );
    match logged {
        Ok(_) => Denied { reasons }.into(),
        Err(e) => e,
    }
}

/// Looks the user and purpose up; a missing one is denied and logged.
fn lookup<'a>(
    workspace: &Path,
    config: &'a Config,
    user: &str,
    purpose: &str,
    action: &str,
    resource: &str,
) -> Result<Allowed<'a>> {
    let Some(u) = config.users.iter().find(|u| u.name == user) else {
        return Err(deny(
            workspace,
            user,
            purpose,
            action,
            resource,
            vec![format!("user {user} is not in mimamori.toml")],
        ));
    };
    let p = purpose_of(workspace, config, user, purpose, action, resource)?;
    Ok(Allowed { user: u, principal: principal(u), purpose: purpose_context(p), policies: load_policies(workspace)? })
}

/// The purpose named with a request; a missing one is denied and logged.
fn purpose_of<'a>(
    workspace: &Path,
    config: &'a Config,
    user: &str,
    purpose: &str,
    action: &str,
    resource: &str,
) -> Result<&'a Purpose> {
    config.purposes.iter().find(|p| p.id == purpose).ok_or_else(|| {
        deny(workspace, user, purpose, action, resource, vec![format!("purpose {purpose} is not in mimamori.toml")])
    })
}

/// Asks the policies for `action` on the workspace as a whole; a denial is logged.
fn check_workspace_action(
    workspace: &Path,
    config: &Config,
    principal: &Principal,
    purpose: &PurposeContext,
    policies: &Policies,
    action: &str,
    resource: &str,
) -> Result<()> {
    match policies.check_action(principal, purpose, action, false, config.min_group_size)? {
        Verdict::Allow => Ok(()),
        Verdict::Deny(reasons) => Err(deny(workspace, &principal.name, &purpose.id, action, resource, reasons)),
    }
}

/// A user of mimamori.toml as the policies see it.
pub fn principal(u: &User) -> Principal {
    Principal {
        name: u.name.clone(),
        role: u.role.as_str().to_string(),
        districts: u.districts.clone(),
        department: u.department.clone(),
    }
}

/// A purpose of mimamori.toml as the policies see it.
pub fn purpose_context(p: &Purpose) -> PurposeContext {
    PurposeContext {
        id: p.id.clone(),
        legal_basis: p.legal_basis.clone(),
        roles: p.roles.iter().map(|r| r.as_str().to_string()).collect(),
    }
}

/// Authorises `action` on the workspace as a whole; a denial is logged and returned as
/// [`Denied`] (exit 2).
pub fn workspace_action<'a>(
    workspace: &Path,
    config: &'a Config,
    user: &str,
    purpose: &str,
    action: &str,
    resource: &str,
) -> Result<Allowed<'a>> {
    let a = lookup(workspace, config, user, purpose, action, resource)?;
    check_workspace_action(workspace, config, &a.principal, &a.purpose, &a.policies, action, resource)?;
    Ok(a)
}

/// Authorises `action` on one household of `district`.
pub fn household_action<'a>(
    workspace: &Path,
    config: &'a Config,
    user: &str,
    purpose: &str,
    action: &str,
    household: u64,
    district: &str,
) -> Result<Allowed<'a>> {
    district_action(workspace, config, user, purpose, action, DistrictResource::Household(household), district)
}

/// Authorises `action` on a resource of `district`: one of its households, or the district.
pub fn district_action<'a>(
    workspace: &Path,
    config: &'a Config,
    user: &str,
    purpose: &str,
    action: &str,
    resource: DistrictResource,
    district: &str,
) -> Result<Allowed<'a>> {
    let name = match resource {
        DistrictResource::Household(h) => format!("household {h}"),
        DistrictResource::District(d) => format!("district {d}"),
    };
    let a = lookup(workspace, config, user, purpose, action, &name)?;
    match a.policies.check_district_action(
        &a.principal,
        &a.purpose,
        action,
        resource,
        district,
        config.min_group_size,
    )? {
        Verdict::Allow => Ok(a),
        Verdict::Deny(reasons) => Err(deny(workspace, user, purpose, action, &name, reasons)),
    }
}

/// Writes the audit entry of an allowed action, with what it did.
pub fn record(
    workspace: &Path,
    user: &str,
    purpose: &str,
    action: &str,
    resource: &str,
    detail: serde_json::Value,
) -> Result<u64> {
    Ok(audit::append(
        workspace,
        audit::Record { user, action, purpose: Some(purpose), resource, decision: Decision::Allow, detail },
    )?
    .seq)
}

/// Passes the result of an allowed action through; an error (other than a denial, which is
/// logged already) is written to the audit log first, so that a failure after the data was
/// opened leaves its trace.
pub fn log_failure<T>(
    workspace: &Path,
    user: &str,
    purpose: &str,
    action: &str,
    resource: &str,
    result: Result<T>,
) -> Result<T> {
    log_failure_with(workspace, user, purpose, action, resource, json!({}), result)
}

/// As [`log_failure`], the error added to `detail` (what the request was).
pub fn log_failure_with<T>(
    workspace: &Path,
    user: &str,
    purpose: &str,
    action: &str,
    resource: &str,
    mut detail: serde_json::Value,
    result: Result<T>,
) -> Result<T> {
    match result {
        Err(e) if e.downcast_ref::<Denied>().is_none() => {
            detail["error"] = json!(format!("{e:#}"));
            audit::append(
                workspace,
                audit::Record { user, action, purpose: Some(purpose), resource, decision: Decision::Allow, detail },
            )?;
            Err(e)
        }
        other => other,
    }
}

/// The configuration the gate checks a workspace's verbs against: its mimamori.toml, or, for a
/// workspace that holds only extracts (custodians' scripts may build one without `mimamori
/// init`), the built-in template's users, purposes and policies. The second value says which.
pub fn workspace_config(workspace: &Path) -> Result<(Config, ConfigSource)> {
    let path = workspace.join(crate::config::FILE_NAME);
    if path.is_file() {
        Ok((Config::load(&path)?, ConfigSource::Workspace))
    } else {
        Ok((Config::parse(crate::config::TEMPLATE, Path::new("(built-in template)"))?, ConfigSource::Template))
    }
}

/// Where the configuration of [`workspace_config`] came from (recorded in the audit entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    Workspace,
    Template,
}

impl ConfigSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigSource::Workspace => "mimamori.toml",
            ConfigSource::Template => "built-in template (the workspace has no mimamori.toml)",
        }
    }
}

/// A user named with --user: an empty name is refused rather than read as no name (which would
/// act as someone else).
pub fn named_user(u: &str) -> Result<String> {
    if u.trim().is_empty() {
        anyhow::bail!("--user is empty: name a user of mimamori.toml, or leave --user out");
    }
    Ok(u.to_string())
}

/// The actor of a data-linkage officer's verb whose contract takes no --user (`link`,
/// `link-report`): the named user, else the login name when it is a user of the configuration,
/// else its one data-linkage officer. The policies still decide.
pub fn officer_actor(config: &Config, named: Option<&str>) -> Result<String> {
    if let Some(u) = named {
        return named_user(u);
    }
    // not $MIMAMORI_USER: scripts set it for a caseworker's `outreach record`, and a linkage
    // run must not turn into that caseworker's (denied) request
    let login = audit::os_user();
    if config.users.iter().any(|u| u.name == login) {
        return Ok(login);
    }
    let officers: Vec<&User> =
        config.users.iter().filter(|u| u.role == crate::config::Role::DataLinkageOfficer).collect();
    match officers.as_slice() {
        [one] => Ok(one.name.clone()),
        [] => anyhow::bail!("name the user with --user: mimamori.toml has no data-linkage officer"),
        many => anyhow::bail!(
            "name the user with --user: mimamori.toml has {} data-linkage officers ({})",
            many.len(),
            many.iter().map(|u| u.name.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Who opens the vaults of `departments` (their files and keys held in one folder), each
/// checked for `action` by the policies and every decision logged. With a named user, that
/// user; a custodian then opens only its own department. Without one,
/// the holder of each department's vault key acts as that department's custodian: the
/// custodian mimamori.toml names for it, or, when it names none, the department's key holder
/// with the custodian role (`vault-holder:<department>`).
pub struct VaultOpeners {
    /// The actors, joined by `+`, for the audit log.
    pub who: String,
    /// The departments they may open; `None`: every department (a role other than custodian
    /// that a local policy permits).
    pub departments: Option<std::collections::BTreeSet<String>>,
}

/// Authorises opening the vaults of `departments` for `action` (see [`VaultOpeners`]).
pub fn vault_openers(
    workspace: &Path,
    config: &Config,
    named: Option<&str>,
    purpose: &str,
    action: &str,
    resource: &str,
    departments: &[String],
) -> Result<VaultOpeners> {
    if let Some(u) = named {
        let u = named_user(u)?;
        let allowed = workspace_action(workspace, config, &u, purpose, action, resource)?;
        let departments = match (allowed.user.role, &allowed.user.department) {
            (crate::config::Role::Custodian, Some(d)) => Some([d.clone()].into()),
            (crate::config::Role::Custodian, None) => Some(Default::default()),
            _ => None,
        };
        return Ok(VaultOpeners { who: u, departments });
    }
    let mut who = Vec::new();
    for d in departments {
        let configured = config
            .users
            .iter()
            .find(|u| u.role == crate::config::Role::Custodian && u.department.as_deref() == Some(d.as_str()));
        match configured {
            Some(u) => {
                workspace_action(workspace, config, &u.name, purpose, action, resource)?;
                who.push(u.name.clone());
            }
            None => who.push(key_holder_action(workspace, config, d, purpose, action, resource)?),
        }
    }
    Ok(VaultOpeners { who: who.join("+"), departments: Some(departments.iter().cloned().collect()) })
}

/// `action` by the holder of a department's vault key when mimamori.toml names no custodian for
/// it: a principal with the custodian role and that department, checked and logged as any user.
fn key_holder_action(
    workspace: &Path,
    config: &Config,
    department: &str,
    purpose: &str,
    action: &str,
    resource: &str,
) -> Result<String> {
    let name = format!("vault-holder:{department}");
    let p = purpose_of(workspace, config, &name, purpose, action, resource)?;
    let principal = Principal {
        name: name.clone(),
        role: crate::config::Role::Custodian.as_str().to_string(),
        districts: Vec::new(),
        department: Some(department.to_string()),
    };
    let policies = load_policies(workspace)?;
    check_workspace_action(workspace, config, &principal, &purpose_context(p), &policies, action, resource)?;
    Ok(name)
}
