//! `mimamori outreach` (build lists), `outreach approve`, `outreach record`, and
//! `mimamori reidentify` at the custodians.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use risk_model::fairness::{self, Audited};
use risk_model::outreach::{self, HouseholdScore, Ranking};
use serde::Serialize;
use serde_json::json;

use crate::cli::OutputFormat;
use crate::config::{Config, Role};
use crate::gate;
use crate::risk::{self, Approval, ListState, Outcome, RecordedOutcome};
use crate::staging::write_new_file;

#[derive(Serialize)]
struct BuildSummary<'a> {
    lists: Vec<&'a ListState>,
    unassigned_households: usize,
}

/// What building the lists produced.
pub struct Built {
    pub states: Vec<ListState>,
    pub table: Vec<risk_model::fairness::GroupRow>,
    pub disparities: Vec<String>,
    pub unassigned: usize,
    pub unavailable: Vec<(String, String)>,
}

/// Builds the lists and prints them.
pub fn build(workspace: &Path, user: &str, purpose: &str, district: Option<&str>, format: OutputFormat) -> Result<()> {
    let b = build_lists(workspace, user, purpose, district)?;
    let text = match format {
        OutputFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&BuildSummary {
                lists: b.states.iter().collect(),
                unassigned_households: b.unassigned
            })?
        ),
        _ => describe_lists(&b.states, &b.table, &b.disparities, b.unassigned, &b.unavailable),
    };
    crate::print_stdout(&text)?;
    Ok(())
}

/// Builds the lists of every district (or one) from the last scoring.
pub fn build_lists(workspace: &Path, user: &str, purpose: &str, district: Option<&str>) -> Result<Built> {
    let config = Config::load_workspace(workspace)?;
    let resource = district.map_or_else(|| "outreach".to_string(), |d| format!("outreach/{d}"));
    gate::workspace_action(workspace, &config, user, purpose, "outreach", &resource)?;
    let result = risk::lock_lists(workspace)
        .and_then(|_lock| build_allowed(workspace, user, purpose, district, &config, &resource));
    gate::log_failure(workspace, user, purpose, "outreach", &resource, result)
}

fn build_allowed(
    workspace: &Path,
    user: &str,
    purpose: &str,
    district: Option<&str>,
    config: &Config,
    resource: &str,
) -> Result<Built> {
    let districts: Vec<&crate::config::District> = match district {
        Some(d) => {
            let Some(found) = config.districts.iter().find(|x| x.id == d) else {
                let ids: Vec<&str> = config.districts.iter().map(|x| x.id.as_str()).collect();
                bail!("district {d} is not in mimamori.toml (districts: {})", ids.join(", "));
            };
            vec![found]
        }
        None => config.districts.iter().collect(),
    };
    let scores = risk::read_scores(workspace)?;
    let linkage = risk::linkage_digest(workspace)?;
    if scores.linkage_digest != linkage {
        bail!(
            "the last scoring was made on an earlier linkage (`mimamori link` has run since); run `mimamori score` again first"
        );
    }
    let hs: Vec<HouseholdScore> = scores.households.iter().map(|h| h.score.clone()).collect();
    // every district is selected, so that the fairness audit always covers the whole town,
    // also when one district's list is rebuilt
    let capacity: BTreeMap<String, usize> =
        config.districts.iter().map(|d| (d.name.clone(), d.caseworker_capacity as usize)).collect();
    let min_p = config.outreach.min_probability;
    let ranking = if scores.ranking == "scorecard" { Ranking::Scorecard } else { Ranking::Model };
    let lists = outreach::select(&hs, &capacity, min_p, config.outreach.min_points, ranking);
    let groups: BTreeMap<String, (String, HashSet<u64>)> = scores
        .groups
        .iter()
        .map(|(k, label)| {
            let members = scores.households.iter().filter(|h| h.groups.contains(k)).map(|h| h.score.household_id);
            (k.clone(), (label.clone(), members.collect()))
        })
        .collect();
    let selected: HashSet<u64> = lists.values().flat_map(|l| l.listed.iter().map(|h| h.household_id)).collect();
    let names: HashSet<&str> = config.districts.iter().map(|d| d.name.as_str()).collect();
    let audited: Vec<Audited> = scores
        .households
        .iter()
        .filter(|h| !h.score.known_case && h.score.district.as_deref().is_some_and(|d| names.contains(d)))
        .map(|h| Audited {
            household_id: h.score.household_id,
            district: h.score.district.as_deref(),
            selected: selected.contains(&h.score.household_id),
            label: h.label,
        })
        .collect();
    let table = fairness::table(&audited, &groups);
    let disparities = fairness::disparities(&table, config.outreach.max_disparity, 30);
    std::fs::create_dir_all(risk::outreach_dir(workspace))?;
    let mut states = Vec::new();
    for d in &districts {
        let Some(l) = lists.get(&d.name) else { continue };
        // the id names the district, the scoring date and the content
        let provisional = risk::list_batch("", l)?;
        let mut probe = Vec::new();
        {
            let mut w = parquet::arrow::ArrowWriter::try_new(&mut probe, provisional.schema(), None)?;
            w.write(&provisional)?;
            w.close()?;
        }
        let list_id = format!("{}-{}-{}", d.id, scores.as_of, &blake3::hash(&probe).to_hex()[..8]);
        let batch = risk::list_batch(&list_id, l)?;
        let (parquet_path, _) = risk::list_paths(workspace, &d.id);
        risk::write_parquet(&parquet_path, &batch)?;
        let bytes = std::fs::read(&parquet_path)?;
        let district_rows: Vec<_> =
            table.iter().filter(|r| r.attribute != "district" || r.group == d.name).cloned().collect();
        let state = ListState {
            list_id,
            district: d.id.clone(),
            district_name: d.name.clone(),
            created: risk::now(),
            created_by: user.to_string(),
            purpose: purpose.to_string(),
            as_of: scores.as_of.clone(),
            capacity: l.capacity,
            listed: l.listed.len(),
            known_cases: l.known.len(),
            beyond_capacity: l.beyond_capacity,
            min_probability: min_p,
            ranking: scores.ranking.clone(),
            parquet_blake3: blake3::hash(&bytes).to_hex().to_string(),
            model_digest: scores.model_digest.clone(),
            linkage_digest: linkage.clone(),
            fairness: district_rows,
            disparities: disparities.clone(),
            unavailable_indicators: scores.unavailable.clone(),
            approvals: Vec::new(),
            rejections: Vec::new(),
        };
        // the same content under the same linkage and fairness findings keeps its approvals
        let (_, json_path) = risk::list_paths(workspace, &d.id);
        let mut state = state;
        if let Ok(text) = std::fs::read_to_string(&json_path)
            && let Ok(previous) = serde_json::from_str::<ListState>(&text)
            && previous.list_id == state.list_id
            && previous.parquet_blake3 == state.parquet_blake3
            && previous.linkage_digest == state.linkage_digest
            && previous.disparities == state.disparities
        {
            state.approvals = previous.approvals;
            state.rejections = previous.rejections;
        }
        risk::write_list_state(workspace, &state)?;
        states.push(state);
    }
    // households without a district, or with a 学区 that names no district of mimamori.toml
    let unassigned =
        scores.households.iter().filter(|h| h.score.district.as_deref().is_none_or(|d| !names.contains(d))).count();
    gate::record(
        workspace,
        user,
        purpose,
        "outreach",
        resource,
        json!({
            "lists": states.iter().map(|s| json!({"list_id": s.list_id, "listed": s.listed, "known_cases": s.known_cases})).collect::<Vec<_>>(),
            "disparities": disparities.len(),
            "unassigned_households": unassigned,
        }),
    )?;
    Ok(Built { states, table, disparities, unassigned, unavailable: scores.unavailable.clone() })
}

/// `text` padded with spaces to `width` terminal columns (kanji and kana take two).
fn pad(text: &str, width: usize) -> String {
    let w = unicode_width::UnicodeWidthStr::width(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(w)))
}

fn pct(s: &risk_model::evaluate::Share) -> String {
    match (s.value, s.ci95) {
        (Some(v), Some((lo, hi))) => format!("{:>5.1}% [{:.1}–{:.1}]", v * 100.0, lo * 100.0, hi * 100.0),
        _ => "    –".into(),
    }
}

fn describe_lists(
    states: &[ListState],
    table: &[risk_model::fairness::GroupRow],
    disparities: &[String],
    unassigned: usize,
    unavailable: &[(String, String)],
) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let _ = writeln!(t, "outreach lists (訪問・連絡の候補リスト), awaiting approval by two reviewers:");
    for s in states {
        let _ = writeln!(
            t,
            "  {} {:>3}/{:<3} households  {} known case(s) marked  {} more above the floor  list {}",
            pad(&s.district_name, 16),
            s.listed,
            s.capacity,
            s.known_cases,
            s.beyond_capacity,
            s.list_id
        );
    }
    if unassigned > 0 {
        let _ = writeln!(
            t,
            "  {unassigned} scored household(s) have no district of mimamori.toml (住登外, or a 学区 not configured) and are on no list"
        );
    }
    for (name, why) in unavailable {
        let _ = writeln!(t, "  scored without {name}: {why}");
    }
    t.push('\n');
    t.push_str(&describe_fairness(table, disparities));
    t
}

fn describe_fairness(table: &[risk_model::fairness::GroupRow], disparities: &[String]) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let _ = writeln!(t, "fairness audit (households; rates need recorded or labelled outcomes):");
    let _ = writeln!(
        t,
        "  {} {:>6}  {:<22} {:<22} {:<22} {:<22}",
        pad("group", 44),
        "n",
        "selected",
        "precision",
        "false positive",
        "false negative"
    );
    for r in table {
        let label = if r.attribute == "all" || r.attribute == "district" {
            r.group.clone()
        } else {
            format!("{} ({})", r.group, r.attribute)
        };
        let _ = writeln!(
            t,
            "  {} {:>6}  {:<22} {:<22} {:<22} {:<22}",
            pad(&label, 44),
            r.households,
            pct(&r.selection_rate),
            pct(&r.precision),
            pct(&r.false_positive_rate),
            pct(&r.false_negative_rate)
        );
    }
    if disparities.is_empty() {
        let _ = writeln!(t, "no disparity beyond the configured bound");
    } else {
        let _ = writeln!(t, "disparities beyond the bound (approval needs --override-fairness with a reason):");
        for d in disparities {
            let _ = writeln!(t, "  {d}");
        }
    }
    t
}

/// A reviewer approves a list; two distinct reviewers make it approved.
pub fn approve(
    workspace: &Path,
    list_id: &str,
    reviewer: &str,
    purpose: &str,
    override_fairness: Option<&str>,
) -> Result<()> {
    let state = approve_list(workspace, list_id, reviewer, purpose, override_fairness, &crate::audit::os_user())?;
    crate::print_stdout(&format!(
        "{reviewer} approved list {list_id} ({} of {} approvals): {}\n",
        state.approvals.iter().map(|a| a.reviewer.as_str()).collect::<HashSet<_>>().len(),
        risk::APPROVALS_NEEDED,
        state.status()
    ))?;
    Ok(())
}

/// Approves a list as `reviewer` (gated, audited with `login`, the name the approval was
/// authenticated under); returns the list's new state.
pub fn approve_list(
    workspace: &Path,
    list_id: &str,
    reviewer: &str,
    purpose: &str,
    override_fairness: Option<&str>,
    login: &str,
) -> Result<ListState> {
    let config = Config::load_workspace(workspace)?;
    let resource = format!("outreach list {list_id}");
    gate::workspace_action(workspace, &config, reviewer, purpose, "approve", &resource)?;
    let result = approve_allowed(workspace, list_id, reviewer, purpose, override_fairness, &resource, login);
    gate::log_failure(workspace, reviewer, purpose, "approve", &resource, result)
}

fn approve_allowed(
    workspace: &Path,
    list_id: &str,
    reviewer: &str,
    purpose: &str,
    override_fairness: Option<&str>,
    resource: &str,
    login: &str,
) -> Result<ListState> {
    let _lock = risk::lock_lists(workspace)?;
    let mut state = risk::find_list(workspace, list_id)?;
    risk::check_linkage(workspace, &state)?;
    if let Some(r) = state.rejections.first() {
        bail!(
            "list {list_id} was rejected by {}; an identical list stays rejected: score again once the reason is addressed",
            r.reviewer
        );
    }
    if state.approvals.iter().any(|a| a.reviewer == reviewer) {
        bail!("{reviewer} has approved list {list_id} already; a second, different reviewer must approve it");
    }
    if !state.disparities.is_empty() && override_fairness.is_none_or(|r| r.trim().is_empty()) {
        bail!(
            "list {list_id} has fairness disparities beyond the bound:\n  {}\napprove with --override-fairness \"<reason>\" if the list should go out nevertheless",
            state.disparities.join("\n  ")
        );
    }
    state.approvals.push(Approval {
        reviewer: reviewer.to_string(),
        time: risk::now(),
        fairness_override: override_fairness.map(str::to_string),
    });
    // the audit entry is the approval (re-identification counts approvals there, for exactly
    // this content and linkage); it is written before the state file's copy
    gate::record(
        workspace,
        reviewer,
        purpose,
        "approve",
        resource,
        json!({
            "list_id": state.list_id,
            "parquet_blake3": state.parquet_blake3,
            "linkage_digest": state.linkage_digest,
            "approvals": state.approvals.len(),
            "status": state.status(),
            "fairness_override": override_fairness,
            "login": login,
        }),
    )?;
    risk::write_list_state(workspace, &state)?;
    Ok(state)
}

/// A reviewer rejects a list: it can then be neither approved nor re-identified; the lists
/// must be built again. Gated (action `reject`) and audited with `login`.
pub fn reject_list(
    workspace: &Path,
    list_id: &str,
    reviewer: &str,
    purpose: &str,
    reason: &str,
    login: &str,
) -> Result<ListState> {
    let config = Config::load_workspace(workspace)?;
    let resource = format!("outreach list {list_id}");
    gate::workspace_action(workspace, &config, reviewer, purpose, "reject", &resource)?;
    let result = (|| -> Result<ListState> {
        if reason.trim().is_empty() {
            bail!("a rejection needs its reason");
        }
        let _lock = risk::lock_lists(workspace)?;
        let mut state = risk::find_list(workspace, list_id)?;
        state.rejections.push(risk::Rejection {
            reviewer: reviewer.to_string(),
            time: risk::now(),
            reason: reason.to_string(),
        });
        gate::record(
            workspace,
            reviewer,
            purpose,
            "reject",
            &resource,
            json!({ "list_id": state.list_id, "parquet_blake3": state.parquet_blake3, "reason": reason, "login": login }),
        )?;
        risk::write_list_state(workspace, &state)?;
        Ok(state)
    })();
    gate::log_failure(workspace, reviewer, purpose, "reject", &resource, result)
}

#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    state: &'a ListState,
    approved_in_audit_log: &'a [String],
}

/// A list's state for reviewers: counts, fairness, disparities, approvals; no household.
pub fn show(workspace: &Path, list_id: &str, user: &str, purpose: &str, format: OutputFormat) -> Result<()> {
    let config = Config::load_workspace(workspace)?;
    let resource = format!("outreach list {list_id}");
    gate::workspace_action(workspace, &config, user, purpose, "view_list", &resource)?;
    let result = (|| -> Result<String> {
        let state = risk::find_list(workspace, list_id)?;
        let approved_by = risk::approvals_in_audit_log(workspace, &state)?;
        gate::record(workspace, user, purpose, "view_list", &resource, json!({ "approvals": approved_by.len() }))?;
        Ok(match format {
            OutputFormat::Json => format!(
                "{}\n",
                serde_json::to_string_pretty(&Shown { state: &state, approved_in_audit_log: &approved_by })?
            ),
            _ => {
                let mut t = format!(
                    "list {} — {} (as of {}, ranked by {}): {} of {} households, {} known case(s) marked, {} more above the floor\napproved in the audit log by: {}\n",
                    state.list_id,
                    state.district_name,
                    state.as_of,
                    state.ranking,
                    state.listed,
                    state.capacity,
                    state.known_cases,
                    state.beyond_capacity,
                    if approved_by.is_empty() { "nobody yet".to_string() } else { approved_by.join(", ") }
                );
                for (name, why) in &state.unavailable_indicators {
                    t.push_str(&format!("  scored without {name}: {why}\n"));
                }
                t.push_str(&describe_fairness(&state.fairness, &state.disparities));
                t
            }
        })
    })();
    let text = gate::log_failure(workspace, user, purpose, "view_list", &resource, result)?;
    crate::print_stdout(&text)?;
    Ok(())
}

/// The user of verbs whose contract takes no --user: MIMAMORI_USER, or the OS user.
pub fn default_user() -> String {
    std::env::var("MIMAMORI_USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(crate::audit::os_user)
}

/// The approved list (as the audit log holds its approvals) that holds `household`, with its row.
/// `entries`: the verified audit log (at least its approvals and rejections).
pub fn approved_list_holding(
    workspace: &Path,
    household: u64,
    entries: &[crate::audit::Entry],
) -> Result<Option<(ListState, risk::ListRow)>> {
    for l in risk::read_lists(workspace)?.into_iter().filter(ListState::approved) {
        if let Some(row) =
            risk::read_list_rows(workspace, &l.district)?.into_iter().find(|r| r.household_id == household)
        {
            // approved as the audit log says, not as the state file says
            if risk::approvals_in(entries, &l).len() >= risk::APPROVALS_NEEDED && !risk::rejected_in(entries, &l) {
                return Ok(Some((l, row)));
            }
            return Ok(None);
        }
    }
    Ok(None)
}

/// A caseworker records what contacting a household found.
pub fn record(
    workspace: &Path,
    household: u64,
    outcome: Outcome,
    user: Option<&str>,
    purpose: &str,
    note: bool,
) -> Result<()> {
    let config = Config::load_workspace(workspace)?;
    let Some(user) = user.map(str::to_string).or_else(|| named_user(&config)) else {
        bail!("name the caseworker with --user (or $MIMAMORI_USER)");
    };
    let o = record_outcome(workspace, household, outcome, &user, purpose, note, &crate::audit::os_user())?;
    crate::print_stdout(&format!(
        "recorded for household {household} (list {}): {} — it labels the household's records at the next `mimamori score`\n",
        o.list_id,
        outcome.japanese()
    ))?;
    Ok(())
}

/// Records an outcome as `user` (gated, audited with `login`, the name the caseworker was
/// authenticated under). Every refusal gets the same answer.
pub fn record_outcome(
    workspace: &Path,
    household: u64,
    outcome: Outcome,
    user: &str,
    purpose: &str,
    note: bool,
    login: &str,
) -> Result<RecordedOutcome> {
    let config = Config::load_workspace(workspace)?;
    // the household's district is that of the approved list holding it; a household on no
    // approved list has none, and no policy lets anyone record for it
    let entries =
        crate::audit::verify(workspace).context("the audit log does not verify; approvals cannot be checked")?;
    let on = approved_list_holding(workspace, household, &entries)?.map(|(l, _)| l);
    let district = on.as_ref().map(|l| l.district.clone()).unwrap_or_default();
    // one answer for every refusal, so that it tells nothing about the household (the audit
    // log keeps the policy's reasons for reviewers)
    if let Err(e) = gate::household_action(workspace, &config, user, purpose, "record_outcome", household, &district) {
        if e.downcast_ref::<crate::gateway::Denied>().is_some() {
            return Err(crate::gateway::Denied {
                reasons: vec![format!(
                    "{user} may not record an outcome for household {household}: it must be on an approved outreach list of their own districts"
                )],
            }
            .into());
        }
        return Err(e);
    }
    let Some(list) = on else { bail!("household {household} is on no approved outreach list") };
    let resource = format!("household {household}");
    let result = (|| -> Result<RecordedOutcome> {
        let (linked, digest) = risk::linked_records_with_digest(workspace)?;
        risk::check_linkage_digest(&list, &digest)?;
        let records = linked.into_iter().filter(|r| r.household_id == household).map(|r| r.key()).collect();
        let o = RecordedOutcome {
            household_id: household,
            records,
            outcome,
            list_id: list.list_id.clone(),
            user: user.to_string(),
            time: risk::now(),
            noted: note,
        };
        // logged before it takes effect: a failed audit write leaves nothing recorded
        gate::record(
            workspace,
            user,
            purpose,
            "record_outcome",
            &resource,
            json!({ "list_id": o.list_id, "outcome": outcome, "records": o.records.len(), "login": login }),
        )?;
        risk::append_outcome(workspace, &o)?;
        Ok(o)
    })();
    gate::log_failure(workspace, user, purpose, "record_outcome", &resource, result)
}

/// The user of a verb run without --user: $MIMAMORI_USER, else the login name when it is a user
/// of mimamori.toml.
fn named_user(config: &Config) -> Option<String> {
    let u = default_user();
    (std::env::var("MIMAMORI_USER").is_ok_and(|v| !v.is_empty()) || config.users.iter().any(|x| x.name == u))
        .then_some(u)
}

/// At the custodians: the records of an approved list's households, mapped back to record ids
/// through the vaults in `vault_dir`, written outside the workspace. Without a named user, the
/// holder of each department's vault key acts as that department's custodian in
/// `mimamori.toml` (each is checked by the policies and logged; the login name is recorded).
pub fn reidentify(
    workspace: &Path,
    list_id: &str,
    vault_dir: &Path,
    user: Option<&str>,
    purpose: &str,
    out: Option<&Path>,
) -> Result<()> {
    let config = Config::load_workspace(workspace)?;
    let resource = format!("outreach list {list_id}");
    let actors: Vec<String> = match user.map(str::to_string).or_else(|| named_user(&config)) {
        Some(u) => vec![u],
        None => {
            let found: Vec<String> = config
                .users
                .iter()
                .filter(|u| u.role == Role::Custodian)
                .filter(|u| u.department.as_deref().is_some_and(|d| vault_dir.join(format!("{d}.vault")).is_file()))
                .map(|u| u.name.clone())
                .collect();
            if found.is_empty() {
                bail!(
                    "name the custodian with --user: no custodian of mimamori.toml holds a vault in {}",
                    vault_dir.display()
                );
            }
            found
        }
    };
    // which departments the actors may open: a custodian its own; another role (if a local
    // policy permits it) every department
    let mut departments: Option<std::collections::BTreeSet<String>> = Some(Default::default());
    for a in &actors {
        let allowed = gate::workspace_action(workspace, &config, a, purpose, "reidentify", &resource)?;
        match (allowed.user.role, &allowed.user.department, departments.as_mut()) {
            (Role::Custodian, Some(d), Some(set)) => {
                set.insert(d.clone());
            }
            (Role::Custodian, _, _) => {}
            _ => departments = None,
        }
    }
    let who = actors.join("+");
    let result = reidentify_allowed(workspace, list_id, vault_dir, &who, purpose, out, departments.as_ref(), &resource);
    gate::log_failure(workspace, &who, purpose, "reidentify", &resource, result)
}

#[allow(clippy::too_many_arguments)]
fn reidentify_allowed(
    workspace: &Path,
    list_id: &str,
    vault_dir: &Path,
    user: &str,
    purpose: &str,
    out: Option<&Path>,
    may_open: Option<&std::collections::BTreeSet<String>>,
    resource: &str,
) -> Result<()> {
    // no list is rebuilt or approved meanwhile; the rows are parsed from the bytes whose digest
    // was checked, the linkage's records from the bytes whose digest is compared
    let _lock = risk::lock_lists(workspace)?;
    let (state, rows) = risk::find_list_rows(workspace, list_id)?;
    // approvals count only as the hash-chained audit log holds them, for this content and
    // linkage (the state file's copy could be edited by anyone who can write the workspace)
    let entries =
        crate::audit::verify(workspace).context("the audit log does not verify; approvals cannot be checked")?;
    let approved_by = risk::approvals_in(&entries, &state);
    if approved_by.len() < risk::APPROVALS_NEEDED || risk::rejected_in(&entries, &state) {
        let reasons = vec![format!(
            "list {list_id} is not approved: {} of {} distinct reviewers in the audit log{}{}",
            approved_by.len(),
            risk::APPROVALS_NEEDED,
            if state.disparities.is_empty() {
                ""
            } else {
                " (with its fairness disparity, approvals count only with an override)"
            },
            if state.rejections.is_empty() { "" } else { "; a reviewer rejected it" }
        )];
        crate::audit::append(
            workspace,
            crate::audit::Record {
                user,
                action: "reidentify",
                purpose: Some(purpose),
                resource,
                decision: crate::audit::Decision::Deny,
                detail: json!({ "reasons": reasons }),
            },
        )?;
        return Err(crate::gateway::Denied { reasons }.into());
    }
    let (linked, digest) = risk::linked_records_with_digest(workspace)?;
    risk::check_linkage_digest(&state, &digest)?;
    let out: PathBuf = out.map_or_else(|| vault_dir.join(format!("outreach-{list_id}.csv")), Path::to_path_buf);
    let ws = workspace.canonicalize().with_context(|| format!("cannot read {}", workspace.display()))?;
    if super::pseudonymise::absolute(&out)?.starts_with(&ws) {
        bail!(
            "{} is inside the workspace; a re-identified list holds record ids and stays with the custodians",
            out.display()
        );
    }
    let households: HashSet<u64> = rows.iter().map(|r| r.household_id).collect();
    let records: Vec<(u64, String, [u8; 16])> = linked
        .into_iter()
        .filter(|r| households.contains(&r.household_id))
        .map(|r| (r.household_id, r.department, r.record_ref))
        .collect();
    // a custodian re-identifies only its own department; other roles have no vault
    let departments: Vec<String> = {
        let mut d: Vec<String> = records.iter().map(|(_, d, _)| d.clone()).collect();
        d.sort();
        d.dedup();
        d
    };
    let mut own: BTreeMap<String, std::collections::HashMap<[u8; 16], String>> = BTreeMap::new();
    let mut skipped = Vec::new();
    for d in &departments {
        if may_open.is_some_and(|m| !m.contains(d)) {
            continue;
        }
        if vault_dir.join(format!("{d}.vault")).is_file() {
            own.insert(d.clone(), super::export_links::open_vault(vault_dir, d)?);
        } else {
            skipped.push(d.clone());
        }
    }
    if own.is_empty() {
        bail!(
            "no vault of the list's departments ({}) in {} that {user} may open",
            departments.join(", "),
            vault_dir.display()
        );
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    // the custodian learns which of its records to look up, not what other departments hold:
    // reasons and supports reach the caseworker by household_id
    w.write_record(["list_id", "rank", "household_id", "department", "record_id"])?;
    let by_household: BTreeMap<u64, &risk::ListRow> = rows.iter().map(|r| (r.household_id, r)).collect();
    let mut sorted = records.clone();
    sorted.sort_by_key(|(h, d, _)| (by_household.get(h).map_or(u32::MAX, |r| r.rank), d.clone()));
    let mut written = 0usize;
    for (h, d, rf) in &sorted {
        let (Some(row), Some(vault)) = (by_household.get(h), own.get(d)) else { continue };
        let Some(id) = vault.get(rf) else { continue };
        w.write_record([list_id, &row.rank.to_string(), &h.to_string(), d, id])?;
        written += 1;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("cannot write the list: {e}"))?;
    if out.exists() {
        bail!("{} already exists; it is never overwritten", out.display());
    }
    // logged before the file exists: a failed audit write leaves no re-identified list
    gate::record(
        workspace,
        user,
        purpose,
        "reidentify",
        resource,
        json!({ "households": households.len(), "records": written, "departments": own.keys().collect::<Vec<_>>(), "skipped": skipped, "approved_by": approved_by, "login": crate::audit::os_user() }),
    )?;
    write_new_file(&out, &bytes)?;
    crate::print_stdout(&format!(
        "wrote {written} record(s) of {} household(s) of list {list_id} to {} (departments: {}){}\n",
        households.len(),
        out.display(),
        own.keys().cloned().collect::<Vec<_>>().join(", "),
        if skipped.is_empty() { String::new() } else { format!("; no vault here for {}", skipped.join(", ")) }
    ))?;
    Ok(())
}
