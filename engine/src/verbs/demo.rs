//! `mimamori demo`: the whole pipeline on the embedded synthetic municipality, everything local.
//! Each stage that lands extends it.

use std::path::Path;

use anyhow::{Result, bail};
use serde::Serialize;
use synthetic_data::SynthConfig;

use super::{demo_report, init, link, link_report, outreach, pseudonymise, score, synth};
use crate::cli::{HardeningArg, OutputFormat, TokenSaltArg};
use crate::config::{self, Config};
use crate::keys::{self, KeyKind};
use crate::staging::{StagedDir, is_absent_or_empty, write_new_file};

#[derive(Serialize)]
struct DemoSummary {
    households: u64,
    seed: u64,
    persons: u64,
    records: u64,
    records_by_department: std::collections::BTreeMap<String, u64>,
    custodians: &'static str,
    workspace: &'static str,
    stages_run: Vec<&'static str>,
    pseudonymised: std::collections::BTreeMap<String, u64>,
    linkage: linkage::link::Quality,
    labelled_children: usize,
    risk: Option<score::Evaluation>,
}

pub fn run(out: &Path, households: u64, seed: u64, force: bool, format: OutputFormat) -> Result<()> {
    if households == 0 {
        bail!("--households must be at least 1");
    }
    if !force && !is_absent_or_empty(out)? {
        bail!("{} is not empty; choose a new folder for --out or add --force to replace it", out.display());
    }
    let staged = StagedDir::new(out)?;
    let root = staged.path().to_path_buf();

    let synth_config = SynthConfig { households, seed, ..SynthConfig::default() };
    let summary = synth::generate(&synth_config, &root.join("custodians"), format)?;

    let workspace = root.join("workspace");
    init::create(&workspace)?;
    Config::load(&workspace.join(config::FILE_NAME))?;

    // each custodian pseudonymises its own extract with the shared linkage key and its own
    // vault key; keys and vaults stay under custodians/
    let custodians = root.join("custodians");
    // vaults and their keys side by side, as `export-links --vault-dir` expects them
    let key_dir = custodians.join("keys");
    let vault_dir = custodians.join("vaults");
    for dir in [&key_dir, &vault_dir] {
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    keys::generate(KeyKind::Linkage, &key_dir.join("linkage.key"))?;
    let mut pseudonymised = std::collections::BTreeMap::new();
    for dept in synthetic_data::DEPARTMENTS {
        let vault_key = vault_dir.join(format!("{dept}.vault.key"));
        keys::generate(KeyKind::Vault, &vault_key)?;
        let (outcome, _, _) = pseudonymise::pseudonymise(&pseudonymise::Args {
            mapping: custodians.join(dept).join(format!("{dept}.toml")),
            key: key_dir.join("linkage.key"),
            vault_key,
            out: workspace.join("extracts").join(dept),
            vault: Some(vault_dir.join(format!("{dept}.vault"))),
            hardening: HardeningArg::Balance,
            token_salt: TokenSaltArg::None,
            strict: false,
            force: false,
            format,
        })?;
        pseudonymised.insert(dept.to_string(), outcome.manifest.rows);
    }

    // the linkage officer links the workspace; the demo scores it against the truth, mapped
    // through the custodians' vaults (an evaluation step, audited like every access)
    let (config, source) = crate::gate::workspace_config(&workspace)?;
    let actor = link::Actor { user: "officer", purpose: "child_outreach", config: &config, source };
    let truth_csv = custodians.join("truth").join("truth.csv");
    let linkage = link::link_workspace(&workspace, &actor, Some((&truth_csv, &vault_dir)), format)?;
    link_report::run(&workspace, None, Some("officer"), "child_outreach")?;

    // outcomes the municipality knows (here: the synthetic latent needs, mapped through the
    // custodians' vaults to person ids), then the officer scores and builds the lists
    let departments: Vec<String> = synthetic_data::DEPARTMENTS.iter().map(|d| d.to_string()).collect();
    let openers =
        crate::gate::vault_openers(&workspace, &config, None, "child_outreach", "export", "vaults", &departments)?;
    let labelled = crate::risk::write_labels_from_truth(&workspace, &custodians.join("truth"), &vault_dir)?;
    crate::gate::record(
        &workspace,
        &openers.who,
        "child_outreach",
        "write-labels",
        "vaults",
        serde_json::json!({"labelled_children": labelled, "policy_action": "export"}),
    )?;
    // a town too small for the model (fewer than 20 children with and without a need) is
    // ranked by the scorecard, and says so
    let (evaluation, risk_sections) =
        match score::score(&workspace, "officer", "child_outreach", Some(synth_config.as_of))? {
            score::Scored::Model(e, sections) => (Some(*e), Some(sections)),
            score::Scored::Scorecard(_) => (None, None),
        };
    let lists = outreach::build_lists(&workspace, "officer", "child_outreach", None)?;
    demo_report::write(
        &workspace,
        &root.join("report.html"),
        &demo_report::Summary {
            households,
            seed,
            persons: summary.population.persons,
            records_by_department: &summary.records_by_department,
            pseudonymised: &pseudonymised,
            linkage: &linkage,
            risk_sections: risk_sections.as_deref(),
            lists: &lists.states,
        },
        "officer",
    )?;

    let demo = DemoSummary {
        households,
        seed,
        persons: summary.population.persons,
        records: summary.records,
        records_by_department: summary.records_by_department.clone(),
        custodians: "custodians",
        workspace: "workspace",
        stages_run: vec![
            "synth",
            "init",
            "keygen",
            "pseudonymise",
            "link",
            "link-report",
            "score",
            "outreach",
            "report",
        ],
        pseudonymised: pseudonymised.clone(),
        linkage: linkage.clone(),
        labelled_children: labelled,
        risk: evaluation.clone(),
    };
    write_new_file(&root.join("demo.json"), serde_json::to_string_pretty(&demo)?.as_bytes())?;
    staged.commit(force)?;

    let text = match format {
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(&demo)?),
        OutputFormat::Table => {
            let custodians = out.join("custodians");
            format!(
                "{}\npseudonymised by each custodian ({} records) into {}/extracts/<department>/\n  the linkage key ({}/keys/) and each department's vault and vault key ({}/vaults/) stay with the custodians\nlinked into {} persons and {} households{}\n{}\n\nwhere to look next:\n  {}/report.html: the whole run on one page (linkage, prevalence by district, a DP release, calibration, fairness, lists, audit)\n  {}/registry/registry.csv and the other extracts: what each department holds\n  {}/extracts/welfare/manifest.json: what left the department (tokens, encodings, counts; no names)\n  {}/truth/: the ground truth the evaluation scores against\n  {}/linked/report.html: the linkage charts (quality.json and model.json hold every figure, m, u and the threshold)\n  {}/risk/report.html (evaluation.json, outreach/<district>.json): the model beside the scorecard, calibration, each indicator's weight, the fairness audit and each list\n  mimamori config --workspace {}: the workspace's departments, districts, users and purposes\n  mimamori query --workspace {} --user officer --purpose child_outreach \"SELECT district, count(DISTINCT person_id) AS children FROM extracts.registry GROUP BY district\": SQL through the policy gateway (docs/gateway.md)\n  mimamori user add --workspace {} --name reviewer1, then mimamori serve --workspace {}: the portal for caseworkers and reviewers (docs/portal.md)\n",
                synth::describe(&summary, &custodians),
                super::count(pseudonymised.values().sum()),
                out.join("workspace").display(),
                custodians.display(),
                custodians.display(),
                super::count(linkage.persons.persons),
                super::count(linkage.households.households),
                linkage.truth.as_ref().map_or(String::new(), |t| format!(
                    " (against the truth: person pair F1 {:.4}, household pair F1 {:.4})",
                    t.persons.pair_f1, t.households.pair_f1
                )),
                match (&evaluation, &lists) {
                    (Some(e), l) => format!(
                        "scored {} children (out-of-fold AUC {} beside the scorecard's {}); {} households on outreach lists for {} districts, awaiting two reviewers",
                        e.children_scored,
                        e.model.auc.map_or("–".into(), |a| format!("{a:.3}")),
                        e.scorecard.auc.map_or("–".into(), |a| format!("{a:.3}")),
                        l.states.iter().map(|s| s.listed).sum::<usize>(),
                        l.states.len()
                    ),
                    (None, l) => format!(
                        "too few children with and without a need to fit the model (try more --households): {} households on lists ranked by the scorecard",
                        l.states.iter().map(|s| s.listed).sum::<usize>()
                    ),
                },
                out.display(),
                custodians.display(),
                out.join("workspace").display(),
                custodians.display(),
                out.join("workspace").display(),
                out.join("workspace").display(),
                out.join("workspace").display(),
                out.join("workspace").display(),
                out.join("workspace").display(),
                out.join("workspace").display(),
            )
        }
    };
    crate::print_stdout(&text)?;
    Ok(())
}
