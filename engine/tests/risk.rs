//! `mimamori score`, `outreach`, `outreach approve`, `reidentify` and `outreach record` on the
//! demo municipality: lists within capacity with reasons, two distinct reviewers before any
//! re-identification, caseworkers recording only in their own districts, outcomes feeding the
//! next scoring, every decision in the audit log, and no identifier in the risk files.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::pseudonymise::batches;
use super::{mimamori, stderr_of};

struct Demo {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Demo {
    fn ws(&self) -> PathBuf {
        self.root.join("workspace")
    }
    fn vaults(&self) -> PathBuf {
        self.root.join("custodians/vaults")
    }
}

fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("demo");
    let out = mimamori().args(["demo", "--households", "900", "--out"]).arg(&root).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    Demo { _dir: dir, root }
}

fn run(args: &[&str], ws: &Path) -> std::process::Output {
    let mut c = mimamori();
    c.arg(args[0]);
    if args.len() > 1 && !args[1].starts_with("--") {
        c.arg(args[1]);
        c.arg("--workspace").arg(ws).args(&args[2..]);
    } else {
        c.arg("--workspace").arg(ws).args(&args[1..]);
    }
    c.output().unwrap()
}

fn lists(ws: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for e in fs::read_dir(ws.join("risk/outreach")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            out.push(serde_json::from_slice(&fs::read(p).unwrap()).unwrap());
        }
    }
    out
}

fn list_rows(ws: &Path, district: &str) -> Vec<(u64, bool, String, String)> {
    use arrow_array::{Array, BooleanArray, StringArray, UInt64Array};
    let mut rows = Vec::new();
    for b in batches(&ws.join(format!("risk/outreach/{district}.parquet"))) {
        let h = b.column_by_name("household_id").unwrap().as_any().downcast_ref::<UInt64Array>().unwrap();
        let k = b.column_by_name("known_case").unwrap().as_any().downcast_ref::<BooleanArray>().unwrap();
        let r = b.column_by_name("reasons").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
        let s = b.column_by_name("supports").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            rows.push((h.value(i), k.value(i), r.value(i).to_string(), s.value(i).to_string()));
        }
    }
    rows
}

#[test]
fn lists_stay_within_capacity_and_every_household_has_reasons() {
    let d = demo();
    let ws = d.ws();
    let eval: serde_json::Value = serde_json::from_slice(&fs::read(ws.join("risk/evaluation.json")).unwrap()).unwrap();
    assert!(eval["children_scored"].as_u64().unwrap() > 500);
    // the figures are measured on outcomes the model did not see
    assert!(eval["children_evaluated"].as_u64().unwrap() > 0);
    assert!(eval["model"]["auc"].as_f64().is_some() && eval["scorecard"]["auc"].as_f64().is_some());
    assert!(!eval["calibration"].as_array().unwrap().is_empty());
    let model: serde_json::Value = serde_json::from_slice(&fs::read(ws.join("risk/model.json")).unwrap()).unwrap();
    let contributions = model["contributions"].as_object().unwrap();
    assert!(contributions.len() >= 15, "one contribution per available indicator");
    let report = fs::read_to_string(ws.join("risk/report.html")).unwrap();
    assert!(report.contains("<svg") && report.contains("公平性") && !report.contains("http"), "self-contained");

    let cfg: serde_json::Value = {
        let out = mimamori().args(["config", "--workspace"]).arg(&ws).args(["--format", "json"]).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let mut seen = HashSet::new();
    for l in lists(&ws) {
        let district = l["district"].as_str().unwrap();
        let capacity =
            cfg["districts"].as_array().unwrap().iter().find(|x| x["id"] == district).unwrap()["caseworker_capacity"]
                .as_u64()
                .unwrap();
        let rows = list_rows(&ws, district);
        let new = rows.iter().filter(|r| !r.1).count() as u64;
        assert!(new <= capacity, "{district}: {new} new households for a capacity of {capacity}");
        assert_eq!(l["approvals"].as_array().unwrap().len(), 0, "a new list awaits approval");
        for (h, known, reasons, _) in &rows {
            assert!(seen.insert(*h), "household {h} is on two lists");
            assert!(!reasons.is_empty(), "household {h} is listed without a reason");
            if *known {
                assert!(reasons.contains("既に支援中"), "a known case is marked: {reasons}");
            }
            // reasons and supports say what may help; they never label a family
            for word in ["虐待", "ネグレクト", "問題"] {
                assert!(!reasons.contains(word), "{reasons}");
            }
        }
    }
    assert!(!seen.is_empty());

    // the scoring is queried through the gateway like every table: prevalence by district is
    // allowed (suppressed under k), a child's score row by row is not
    let q = |user: &str, sql: &str| {
        mimamori()
            .args(["query", "--workspace"])
            .arg(&ws)
            .args(["--user", user, "--purpose", "child_outreach", "--format", "json", sql])
            .output()
            .unwrap()
    };
    let out = q(
        "officer",
        "SELECT district, count(DISTINCT person_id) AS children, sum(CASE WHEN absence_30_days THEN 1 ELSE 0 END) AS absent FROM risk.features GROUP BY district",
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!rows.is_empty());
    let out = q("officer", "SELECT person_id, probability FROM risk.scores ORDER BY probability DESC LIMIT 5");
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let out = q("officer", "SELECT probability FROM risk.scores WHERE probability > 0.9");
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
}

#[test]
fn re_identification_needs_two_distinct_reviewers_and_stays_with_the_custodian() {
    let d = demo();
    let ws = d.ws();
    let l = lists(&ws).into_iter().find(|l| l["listed"].as_u64().unwrap() > 0).unwrap();
    let id = l["list_id"].as_str().unwrap().to_string();
    let out_csv = d.root.join("custodians/list.csv");
    let reid = |user: &str, out: &Path| {
        mimamori()
            .args(["reidentify", "--workspace"])
            .arg(&ws)
            .args(["--list", &id, "--vault-dir"])
            .arg(d.vaults())
            .args(["--user", user, "--out"])
            .arg(out)
            .output()
            .unwrap()
    };
    // not approved yet
    let out = reid("custodian_registry", &out_csv);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("not approved"));

    // reviewers see the list's fairness audit before approving; caseworkers may not
    let out = run(&["outreach", "show", "--list", &id, "--user", "reviewer1"], &ws);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("fairness audit") && text.contains("nobody yet"), "{text}");
    let out = run(&["outreach", "show", "--list", &id, "--user", "cw_minato"], &ws);
    assert_eq!(out.status.code(), Some(2));

    // approvals written into the state file by hand count for nothing: the audit log holds them
    let state_path = ws.join(format!("risk/outreach/{}.json", l["district"].as_str().unwrap()));
    let original = fs::read_to_string(&state_path).unwrap();
    let mut forged: serde_json::Value = serde_json::from_str(&original).unwrap();
    forged["approvals"] = serde_json::json!([
        {"reviewer": "reviewer1", "time": "2026-11-25T00:00:00Z", "fairness_override": "x"},
        {"reviewer": "reviewer2", "time": "2026-11-25T00:00:00Z", "fairness_override": "x"}
    ]);
    fs::write(&state_path, serde_json::to_string(&forged).unwrap()).unwrap();
    let out = reid("custodian_registry", &out_csv);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("audit log"), "{}", stderr_of(&out));
    assert!(!out_csv.exists());
    fs::write(&state_path, original).unwrap();

    // an officer may not approve; one reviewer is not enough and cannot approve twice
    let out = run(&["outreach", "approve", "--list", &id, "--reviewer", "officer"], &ws);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    // a disparity found by the fairness audit needs a stated override
    let disparities = !l["disparities"].as_array().unwrap().is_empty();
    let mut approve = vec!["outreach", "approve", "--list", &id, "--reviewer", "reviewer1"];
    if disparities {
        let out = run(&approve, &ws);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr_of(&out).contains("--override-fairness"), "{}", stderr_of(&out));
        approve.extend(["--override-fairness", "capacity lists of a small town; reviewed with the district"]);
    }
    let out = run(&approve, &ws);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("awaiting approval"));
    let out = run(&["outreach", "approve", "--list", &id, "--reviewer", "reviewer1"], &ws);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("different reviewer"), "{}", stderr_of(&out));
    let out = reid("custodian_registry", &out_csv);
    assert_eq!(out.status.code(), Some(2));

    // each approving reviewer acknowledges the disparity
    let mut approve = vec!["outreach", "approve", "--list", &id, "--reviewer", "reviewer2"];
    if disparities {
        approve.extend(["--override-fairness", "agreed"]);
    }
    let out = run(&approve, &ws);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("approved"));
    // building the same lists again keeps their approvals (same content, same id)
    let out = run(&["outreach", "--user", "officer", "--purpose", "child_outreach"], &ws);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let again = lists(&ws).into_iter().find(|x| x["list_id"] == id.as_str()).expect("same list id");
    assert_eq!(again["approvals"].as_array().unwrap().len(), 2);

    // never into the workspace; a non-custodian is denied
    let out = reid("custodian_registry", &ws.join("list.csv"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("inside the workspace"));
    let out = reid("officer", &out_csv);
    assert_eq!(out.status.code(), Some(2));

    let out = reid("custodian_registry", &out_csv);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = fs::read_to_string(&out_csv).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let mut n = 0;
    for r in rows.records() {
        let r = r.unwrap();
        assert_eq!(&r[3], "registry", "a custodian re-identifies only their own department");
        assert_eq!(r.len(), 5, "list_id, rank, household_id, department, record_id: no reasons for custodians");
        assert_eq!(&r[0], id.as_str());
        n += 1;
    }
    assert!(n > 0);
    // written once: a second run does not overwrite it
    let out = reid("custodian_registry", &out_csv);
    assert_eq!(out.status.code(), Some(1));

    // the contract's form names no user: the holders of the vault keys act as their
    // departments' custodians (registry and welfare have one in the demo's mimamori.toml)
    let all = d.root.join("custodians/all.csv");
    let out = mimamori()
        .args(["reidentify", "--workspace"])
        .arg(&ws)
        .args(["--list", &id, "--vault-dir"])
        .arg(d.vaults())
        .arg("--out")
        .arg(&all)
        .env_remove("MIMAMORI_USER")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = fs::read_to_string(&all).unwrap();
    let departments: HashSet<String> =
        csv::Reader::from_reader(text.as_bytes()).records().map(|r| r.unwrap()[3].to_string()).collect();
    assert!(departments.contains("registry"), "{departments:?}");
    assert!(departments.iter().all(|d| d == "registry" || d == "welfare"), "{departments:?}");

    // a reviewer's rejection stops the list even after two approvals; an officer may not reject
    let out = run(&["outreach", "reject", "--list", &id, "--reviewer", "officer", "--reason", "x"], &ws);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let out =
        run(&["outreach", "reject", "--list", &id, "--reviewer", "reviewer1", "--reason", "理由の確認が必要"], &ws);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = reid("custodian_registry", &d.root.join("custodians/after-rejection.csv"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("rejected"), "{}", stderr_of(&out));
    let out = run(&["outreach", "approve", "--list", &id, "--reviewer", "reviewer1"], &ws);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("rejected"), "{}", stderr_of(&out));

    let log = fs::read_to_string(ws.join("audit/log.jsonl")).unwrap();
    for action in ["\"score\"", "\"outreach\"", "\"approve\"", "\"reject\"", "\"reidentify\""] {
        assert!(log.contains(action), "{action} is in the audit log");
    }
    assert!(log.contains("\"deny\""));
    let out = mimamori().args(["audit", "verify", "--workspace"]).arg(&ws).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
}

#[test]
fn caseworkers_record_outcomes_in_their_own_districts_and_they_feed_the_next_score() {
    let d = demo();
    let ws = d.ws();
    let minato = lists(&ws).into_iter().find(|l| l["district"] == "minato").unwrap();
    let chuo = lists(&ws).into_iter().find(|l| l["district"] == "chuo").unwrap();
    let household = list_rows(&ws, "minato").iter().find(|r| !r.1).unwrap().0.to_string();
    let other = list_rows(&ws, "chuo").iter().find(|r| !r.1).unwrap().0.to_string();
    let record = |user: &str, h: &str, outcome: &str| {
        run(&["outreach", "record", "--household", h, "--outcome", outcome, "--user", user], &ws)
    };
    // before approval: no household is handed out
    let out = record("cw_minato", &household, "confirmed");
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    for l in [&minato, &chuo] {
        for r in ["reviewer1", "reviewer2"] {
            let id = l["list_id"].as_str().unwrap();
            let out =
                run(&["outreach", "approve", "--list", id, "--reviewer", r, "--override-fairness", "reviewed"], &ws);
            assert!(out.status.success(), "{}", stderr_of(&out));
        }
    }
    let out = record("cw_minato", &household, "no-need");
    assert!(out.status.success(), "{}", stderr_of(&out));
    // without a named caseworker nothing is recorded; MIMAMORI_USER names one
    let out = mimamori()
        .args(["outreach", "record", "--workspace"])
        .arg(&ws)
        .args(["--household", &household, "--outcome", "no-need"])
        .env_remove("MIMAMORI_USER")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("--user"));
    let out = mimamori()
        .args(["outreach", "record", "--workspace"])
        .arg(&ws)
        .args(["--household", &household, "--outcome", "no-need"])
        .env("MIMAMORI_USER", "cw_minato")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let log = fs::read_to_string(ws.join("audit/log.jsonl")).unwrap();
    let last = log.lines().last().unwrap();
    assert!(last.contains("\"user\":\"cw_minato\"") && last.contains("record_outcome"), "{last}");
    // a household on no list and another district's household get the same answer
    let a = record("cw_minato", "999999999", "confirmed");
    let b = record("cw_minato", &other, "confirmed");
    assert_eq!(a.status.code(), Some(2));
    assert_eq!(
        stderr_of(&a).replace("999999999", "H"),
        stderr_of(&b).replace(other.as_str(), "H"),
        "refusals tell nothing about the household"
    );
    // chuo's household is not minato's caseworker's
    let out = record("cw_minato", &other, "confirmed");
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let out = record("nobody", &household, "confirmed");
    assert_eq!(out.status.code(), Some(2));

    let out = run(
        &["score", "--user", "officer", "--purpose", "child_outreach", "--as-of", "2026-03-31", "--format", "json"],
        &ws,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(e["labels"]["recorded_outcomes"].as_u64().unwrap() >= 1, "{}", e["labels"]);
    // a new linkage (here without the nursery extract) voids the lists: their household ids
    // would name other records
    fs::remove_dir_all(ws.join("extracts/nursery")).unwrap();
    let out = mimamori().args(["link", "--workspace"]).arg(&ws).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = record("cw_minato", &household, "confirmed");
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("earlier linkage"), "{}", stderr_of(&out));
    let out = mimamori()
        .args(["reidentify", "--workspace"])
        .arg(&ws)
        .args(["--list", minato["list_id"].as_str().unwrap(), "--user", "custodian_registry", "--vault-dir"])
        .arg(d.vaults())
        .arg("--out")
        .arg(d.root.join("custodians/stale.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(!d.root.join("custodians/stale.csv").exists());
    let out = run(&["outreach", "--user", "officer", "--purpose", "child_outreach"], &ws);
    assert_eq!(out.status.code(), Some(1), "lists need a scoring of the current linkage");
    // labels and recorded outcomes follow the records into the new linkage
    let out = run(
        &["score", "--user", "officer", "--purpose", "child_outreach", "--as-of", "2026-03-31", "--format", "json"],
        &ws,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(e["labels"]["recorded_outcomes"].as_u64().unwrap() >= 1, "{}", e["labels"]);
    assert!(e["labels"]["labels_file"].as_u64().unwrap() > 100, "{}", e["labels"]);

    // a caseworker may not score
    let out = run(&["score", "--user", "cw_minato", "--purpose", "child_outreach"], &ws);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_missing_department_is_named_and_no_identifier_reaches_the_risk_files() {
    let d = demo();
    let ws = d.ws();
    // names the registry holds never appear in what scoring wrote
    let registry = fs::read_to_string(d.root.join("custodians/registry/registry.csv")).unwrap();
    let mut r = csv::Reader::from_reader(registry.as_bytes());
    let h = r.headers().unwrap().clone();
    let (family, resident) =
        (h.iter().position(|c| c == "氏").unwrap(), h.iter().position(|c| c == "宛名番号").unwrap());
    let mut names: HashSet<String> = HashSet::new();
    let mut ids: HashSet<String> = HashSet::new();
    for row in r.records().take(400) {
        let row = row.unwrap();
        names.insert(row[family].to_string());
        ids.insert(row[resident].to_string());
    }
    for f in ["households.json", "evaluation.json", "model.json"] {
        let text = fs::read_to_string(ws.join("risk").join(f)).unwrap();
        for n in names.iter().filter(|n| n.chars().count() >= 2) {
            assert!(!text.contains(n.as_str()), "{f} holds a family name");
        }
        for id in &ids {
            assert!(!text.contains(&format!("\"{id}\"")), "{f} holds a 宛名番号");
        }
    }
    for l in lists(&ws) {
        for (_, _, reasons, supports) in list_rows(&ws, l["district"].as_str().unwrap()) {
            for n in names.iter().filter(|n| n.chars().count() >= 2) {
                assert!(!reasons.contains(n.as_str()) && !supports.contains(n.as_str()));
            }
        }
    }

    // a workspace's own indicator reading a column its extracts lack is named as unavailable;
    // one whose SQL is broken stops the scoring with its file
    let own = ws.join("risk/indicators");
    fs::create_dir_all(&own).unwrap();
    let text = fs::read_to_string("../risk-model/indicators/nurse_office_visits.sql").unwrap();
    fs::write(own.join("nurse_office_visits.sql"), text.replace("nurse_office_visits >= 6", "nurse_visits_total >= 6"))
        .unwrap();
    let score = || run(&["score", "--user", "officer", "--purpose", "child_outreach", "--as-of", "2026-03-31"], &ws);
    let out = score();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not available: nurse_office_visits (an extract lacks a column"), "{text}");
    fs::write(own.join("broken.sql"), "-- indicator: broken\n-- label: B\n-- reason: R\n-- department: health\n-- level: person\n-- use: feature\n-- follows: f\n-- measures: m\nSELEC person_id FROM extracts.health\n").unwrap();
    let out = score();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("broken"), "{}", stderr_of(&out));
    fs::remove_dir_all(&own).unwrap();

    // without the health extract, its indicators are named as unavailable, not scored as 0
    fs::remove_dir_all(ws.join("extracts/health")).unwrap();
    let out = run(&["score", "--user", "officer", "--purpose", "child_outreach", "--as-of", "2026-03-31"], &ws);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not available: checkup_3y_missed (no extract of health)"), "{text}");
}

#[test]
fn without_labelled_outcomes_lists_are_ranked_by_the_scorecard_and_say_so() {
    let d = demo();
    let ws = d.ws();
    fs::remove_file(ws.join("risk/labels.parquet")).unwrap();
    let out = run(&["score", "--user", "officer", "--purpose", "child_outreach", "--as-of", "2026-03-31"], &ws);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rule-based scorecard") && text.contains("outreach record"), "{text}");
    assert!(!ws.join("risk/model.json").exists(), "no model is left from an earlier scoring");
    let out = run(&["outreach", "--user", "officer", "--purpose", "child_outreach", "--format", "json"], &ws);
    assert!(out.status.success(), "{}", stderr_of(&out));
    for l in lists(&ws) {
        assert_eq!(l["ranking"], "scorecard");
        for (h, known, reasons, _) in list_rows(&ws, l["district"].as_str().unwrap()) {
            // at least min_points (2) flags of one child: at least two reasons
            assert!(known || reasons.split('；').count() >= 2, "household {h}: {reasons}");
        }
    }
}

#[test]
fn a_municipality_measures_the_model_against_its_own_scorecard() {
    let d = demo();
    let ws = d.ws();
    let score = |ws: &Path| {
        let out = run(
            &["score", "--user", "officer", "--purpose", "child_outreach", "--as-of", "2026-03-31", "--format", "json"],
            ws,
        );
        (out.status.code(), serde_json::from_slice::<serde_json::Value>(&out.stdout).ok(), stderr_of(&out))
    };
    let (_, before, _) = score(&ws);
    let before = before.unwrap()["scorecard"]["auc"].as_f64().unwrap();
    // only 3歳児健診 counts: a different, weaker baseline
    fs::write(ws.join("risk/scorecard.toml"), "default_points = 0\n[points]\ncheckup_3y_missed = 1\n").unwrap();
    let (code, after, err) = score(&ws);
    assert_eq!(code, Some(0), "{err}");
    let after = after.unwrap()["scorecard"]["auc"].as_f64().unwrap();
    assert!(after < before, "{after} vs {before}");
    // a misspelt indicator is named
    fs::write(ws.join("risk/scorecard.toml"), "default_points = 1\n[points]\ncheckup_3y_mised = 2\n").unwrap();
    let (code, _, err) = score(&ws);
    assert_eq!(code, Some(1));
    assert!(err.contains("checkup_3y_mised"), "{err}");
}

#[test]
fn the_demo_report_shows_every_stage_through_the_gateway_and_no_identifier() {
    let d = demo();
    let html = fs::read_to_string(d.root.join("report.html")).unwrap();
    for id in ["pipeline", "linkage", "prevalence", "dp", "risk", "outreach", "audit"] {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "the report lacks section {id}");
    }
    // self-contained: no script, nothing fetched from elsewhere
    assert!(!html.contains("<script") && !html.contains("src=\"http") && !html.contains("href=\"http"));
    assert!(html.contains("<svg"), "the linkage and calibration charts are inline SVG");

    // no identifier the registry holds
    let registry = fs::read_to_string(d.root.join("custodians/registry/registry.csv")).unwrap();
    let mut r = csv::Reader::from_reader(registry.as_bytes());
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (family, given, resident, birth) = (col("氏"), col("名"), col("宛名番号"), col("生年月日"));
    for row in r.records().take(500) {
        let row = row.unwrap();
        for v in [&row[family], &row[given]] {
            assert!(v.chars().count() < 2 || !html.contains(v), "the report holds a name");
        }
        assert!(!html.contains(&row[resident]), "the report holds a 宛名番号");
        assert!(!html.contains(&row[birth]), "the report holds a birth date");
    }

    // prevalence went through the gateway: every shown count is 0 or at least k (10)
    let section = &html[html.find("<section id=\"prevalence\">").unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    let mut shown = 0;
    for cell in section.split("<td class=\"num\">").skip(1) {
        let v = &cell[..cell.find("</td>").unwrap()];
        if let Ok(n) = v.parse::<u64>() {
            shown += 1;
            assert!(n == 0 || n >= 10, "a cell of {n} children under k reached the report");
        } else {
            assert_eq!(v, "—", "an unexpected cell {v:?}");
        }
    }
    assert!(shown > 20, "the prevalence table is nearly empty ({shown} cells)");

    // each access is in the audit log: the indicator queries, the external release, the report
    let log = fs::read_to_string(d.ws().join("audit/log.jsonl")).unwrap();
    let entries: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let count = |action: &str| entries.iter().filter(|e| e["action"] == action).count();
    assert!(count("query") >= 20, "{} queries logged", count("query"));
    assert_eq!(count("release"), 1);
    assert_eq!(count("demo-report"), 1);
    // and the release spent the statistics purpose's budget, shown in the report
    assert!(html.contains("statistics_release</small></td><td class=\"num\">2.0</td><td class=\"num\">0.5000</td>"));
    let out = run(&["audit", "verify"], &d.ws());
    assert!(out.status.success(), "{}", stderr_of(&out));
}
