//! `mimamori link`, `export-links` and `audit verify` as a linkage officer and custodians run
//! them: quality against the synthetic truth, the contract outputs, refusals that leave the
//! previous result in place, and the audit trail.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use arrow_array::{Array, UInt64Array};

use super::pseudonymise::{batches, city, run_ok};
use super::{mimamori, stderr_of};

/// Copies the workspace's extracts into a fresh workspace (tests that change it work on a copy).
fn copy_workspace(from: &Path, to: &Path) {
    for d in synthetic_data::DEPARTMENTS {
        let dst = to.join("extracts").join(d);
        fs::create_dir_all(&dst).unwrap();
        for f in ["records.parquet", "manifest.json"] {
            fs::copy(from.join("extracts").join(d).join(f), dst.join(f)).unwrap();
        }
    }
}

/// Vaults and their keys side by side, as `--vault-dir` expects them.
fn vault_dir(root: &Path) -> std::path::PathBuf {
    static ONCE: std::sync::Once = std::sync::Once::new();
    let dir = root.join("vaults");
    ONCE.call_once(|| {
        fs::create_dir(&dir).unwrap();
        for d in synthetic_data::DEPARTMENTS {
            fs::copy(root.join(format!("city/{d}/{d}.vault")), dir.join(format!("{d}.vault"))).unwrap();
            fs::copy(root.join(format!("keys/{d}.key")), dir.join(format!("{d}.vault.key"))).unwrap();
        }
    });
    dir
}

#[test]
fn link_writes_the_contract_outputs_and_links_persons_and_households_well() {
    let c = city();
    let linked = c.root.join("ws/linked");
    for f in ["persons.parquet", "households.parquet", "pairs.parquet", "review.parquet", "model.json", "quality.json"]
    {
        assert!(linked.join(f).is_file(), "linked/{f}");
    }
    let persons = batches(&linked.join("persons.parquet"));
    let rows: usize = persons.iter().map(|b| b.num_rows()).sum();
    let records: u64 = synthetic_data::DEPARTMENTS
        .iter()
        .map(|d| {
            let m: serde_json::Value = serde_json::from_str(
                &fs::read_to_string(c.root.join(format!("ws/extracts/{d}/manifest.json"))).unwrap(),
            )
            .unwrap();
            m["rows"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(rows as u64, records, "one persons row per record");
    for name in ["department", "record_ref", "person_id", "household_id"] {
        assert!(persons[0].schema().field_with_name(name).is_ok(), "persons.parquet has {name}");
    }
    let model: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(linked.join("model.json")).unwrap()).unwrap();
    for key in ["m", "u", "lambda", "threshold", "fields", "term_frequency"] {
        assert!(model.get(key).is_some(), "model.json holds {key}");
    }

    // quality against the truth, through the custodians' vaults (on a copy: other tests read ws)
    let dir = tempfile::tempdir().unwrap();
    copy_workspace(&c.root.join("ws"), &dir.path().join("ws"));
    let out = mimamori()
        .args(["link", "--workspace", "ws", "--format", "json", "--truth"])
        .arg(c.root.join("city/truth/truth.csv"))
        .arg("--vault-dir")
        .arg(vault_dir(&c.root))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let q: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &q["truth"];
    assert_eq!(t["records_covered"].as_u64(), Some(records), "every record is in the truth");
    let f1 = t["persons"]["pair_f1"].as_f64().unwrap();
    let hf1 = t["households"]["pair_f1"].as_f64().unwrap();
    assert!(f1 >= 0.99, "person pair F1 {f1}");
    assert!(hf1 >= 0.98, "household pair F1 {hf1}");
    // the model's own estimate of precision is near what the truth says
    let est = q["expected"]["precision"].as_f64().unwrap();
    let real = t["persons"]["pair_precision"].as_f64().unwrap();
    assert!((est - real).abs() < 0.05, "estimated precision {est}, measured {real}");
    // rules report their pairs before comparisons
    assert!(q["blocking"].as_array().unwrap().iter().any(|r| r["pairs"].as_u64().unwrap() > 0));
}

/// `mimamori export-links` on the city's workspace into `out`.
fn export_links(root: &Path, vaults: &Path, out: &Path) -> std::process::Output {
    mimamori()
        .args(["export-links", "--workspace", "ws", "--vault-dir"])
        .arg(vaults)
        .arg("--out")
        .arg(out)
        .current_dir(root)
        .output()
        .unwrap()
}

#[test]
fn export_links_maps_records_back_through_the_vaults_and_is_audited() {
    let c = city();
    let dir = tempfile::tempdir().unwrap();
    let out_csv = dir.path().join("links.csv");
    let vaults = vault_dir(&c.root);
    let run = export_links(&c.root, &vaults, &out_csv);
    assert!(run.status.success(), "{}", stderr_of(&run));
    let text = fs::read_to_string(&out_csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("department,record_id,person_id,household_id"));
    // every truth record is there once, and records of one true person mostly share a person_id
    let truth = fs::read_to_string(c.root.join("city/truth/truth.csv")).unwrap();
    let exported: HashMap<(String, String), String> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            ((f[0].to_string(), f[1].to_string()), f[2].to_string())
        })
        .collect();
    let mut by_true: HashMap<String, Vec<String>> = HashMap::new();
    for l in truth.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        let p = exported.get(&(f[0].to_string(), f[1].to_string())).expect("truth record exported");
        by_true.entry(f[2].to_string()).or_default().push(p.clone());
    }
    let together = by_true.values().filter(|ps| ps.iter().all(|p| *p == ps[0])).count();
    assert!(together as f64 / by_true.len() as f64 > 0.97, "{together} of {} persons kept whole", by_true.len());

    // never overwritten, never inside the workspace
    let again = export_links(&c.root, &vaults, &out_csv);
    assert_eq!(again.status.code(), Some(1));
    let inside = export_links(&c.root, &vaults, Path::new("ws/links.csv"));
    assert_eq!(inside.status.code(), Some(1));
    assert!(stderr_of(&inside).contains("inside the workspace"), "{}", stderr_of(&inside));

    // the log names the link and the export, and its chain verifies
    let log = fs::read_to_string(c.root.join("ws/audit/log.jsonl")).unwrap();
    assert!(log.contains("\"action\":\"link\"") && log.contains("\"action\":\"export-links\""));
    let verify = run_ok(&["audit", "verify", "--workspace", "ws"], &c.root);
    assert!(verify.contains("intact"), "{verify}");
}

#[test]
fn refusals_are_clear_and_leave_the_previous_result_in_place() {
    let c = city();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    copy_workspace(&c.root.join("ws"), &ws);
    run_ok(&["link", "--workspace", "ws"], dir.path());
    let before = fs::read(ws.join("linked/persons.parquet")).unwrap();

    // a rule that would explode is refused before comparing, with advice
    fs::copy(c.root.join("ws/mimamori.toml"), ws.join("mimamori.toml")).unwrap();
    let mut toml = fs::read_to_string(ws.join("mimamori.toml")).unwrap();
    toml.push_str("\n[linkage]\nblocking = [[\"tok_sex\"]]\nmax_pairs_per_rule = 100000\n");
    fs::write(ws.join("mimamori.toml"), &toml).unwrap();
    let out = mimamori().args(["link", "--workspace", "ws"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("tok_sex") && err.contains("largest key groups"), "{err}");
    assert_eq!(fs::read(ws.join("linked/persons.parquet")).unwrap(), before, "previous result kept");

    // a bad [linkage] setting is located
    fs::write(ws.join("mimamori.toml"), toml.replace("[[\"tok_sex\"]]", "[[\"sex\"]]")).unwrap();
    let out = mimamori().args(["link", "--workspace", "ws"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("mimamori.toml:") && stderr_of(&out).contains("not a token column"),
        "{}",
        stderr_of(&out)
    );
    fs::remove_file(ws.join("mimamori.toml")).unwrap();

    // extracts made with another linkage key are refused
    let m = ws.join("extracts/welfare/manifest.json");
    let text = fs::read_to_string(&m).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let fp = v["linkage_key_fingerprint"].as_str().unwrap();
    fs::write(&m, text.replace(fp, "0000000000000000")).unwrap();
    let out = mimamori().args(["link", "--workspace", "ws"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("linkage key fingerprint"), "{}", stderr_of(&out));
    // ... and so are extracts whose name parts were tokenised under another --token-salt
    assert!(text.contains("\"token_salt\": \"none\""), "{text}");
    fs::write(&m, text.replace("\"token_salt\": \"none\"", "\"token_salt\": \"birth_year\"")).unwrap();
    let out = mimamori().args(["link", "--workspace", "ws"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("--token-salt"), "{}", stderr_of(&out));
    fs::write(&m, text).unwrap();

    // a folder without a manifest, and a workspace without extracts
    fs::create_dir(ws.join("extracts/stray")).unwrap();
    let out = mimamori().args(["link", "--workspace", "ws"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("no manifest.json"), "{}", stderr_of(&out));
    fs::remove_dir(ws.join("extracts/stray")).unwrap();
    let empty = dir.path().join("empty");
    fs::create_dir_all(empty.join("extracts")).unwrap();
    let out = mimamori().args(["link", "--workspace", "empty"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("no extract folders"), "{}", stderr_of(&out));

    assert_eq!(fs::read(ws.join("linked/persons.parquet")).unwrap(), before, "previous result kept");
    // failed runs are audited too, with their error
    let log = fs::read_to_string(ws.join("audit/log.jsonl")).unwrap();
    assert!(log.lines().any(|l| l.contains("\"action\":\"link\"") && l.contains("\"error\"")), "{log}");
}

/// The audit entries of a workspace, parsed.
fn audit_entries(ws: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(ws.join("audit/log.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn link_export_and_report_pass_the_policies_and_every_decision_is_logged() {
    let c = city();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    copy_workspace(&c.root.join("ws"), &ws);
    fs::copy(c.root.join("ws/mimamori.toml"), ws.join("mimamori.toml")).unwrap();
    let run =
        |args: &[&str]| mimamori().args(args).env_remove("MIMAMORI_USER").current_dir(dir.path()).output().unwrap();

    // a caseworker may not link: denied (exit 2), logged, nothing written
    let out = run(&["link", "--workspace", "ws", "--user", "cw_minato"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(!ws.join("linked").exists(), "a denied link writes nothing");
    let denied = |action: &str, user: &str| {
        audit_entries(&ws).iter().any(|e| e["action"] == action && e["user"] == user && e["decision"] == "deny")
    };
    assert!(denied("link", "cw_minato"));
    // an unknown purpose is denied too
    let out = run(&["link", "--workspace", "ws", "--purpose", "curiosity"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));

    // without --user, the configuration's one data-linkage officer links under the purpose,
    // also when a script has set $MIMAMORI_USER for a caseworker's `outreach record`
    let out = mimamori()
        .args(["link", "--workspace", "ws"])
        .env("MIMAMORI_USER", "cw_minato")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let entries = audit_entries(&ws);
    let linked = entries.iter().rfind(|e| e["action"] == "link").unwrap();
    assert_eq!(linked["decision"], "allow");
    assert_eq!(linked["purpose"], "child_outreach");
    let officer = linked["user"].as_str().unwrap().to_string();
    assert!(!officer.is_empty());

    // the report of the linkage: officers and reviewers, not caseworkers
    let out = run(&["link-report", "--workspace", "ws", "--user", "cw_minato"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(!ws.join("linked/report.html").exists());
    assert!(denied("view_quality", "cw_minato"));
    let out = run(&["link-report", "--workspace", "ws", "--user", "reviewer1"]);
    assert!(out.status.success(), "{}", stderr_of(&out));

    // exports: a caseworker is denied; a named custodian gets its own department only; the
    // holders of every vault key (the configured custodians, and the key holders of departments
    // mimamori.toml names no custodian for) get every department
    let vaults = vault_dir(&c.root);
    let export = |user: Option<&str>, out: &Path| {
        let mut args: Vec<String> = ["export-links", "--workspace", "ws", "--vault-dir"].map(String::from).to_vec();
        args.push(vaults.display().to_string());
        args.push("--out".into());
        args.push(out.display().to_string());
        if let Some(u) = user {
            args.extend(["--user".to_string(), u.to_string()]);
        }
        run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    // an empty --user is refused, not read as no user (a review found it exported everything)
    let out = export(Some(""), &dir.path().join("empty.csv"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(!dir.path().join("empty.csv").exists());
    let out = export(Some("cw_minato"), &dir.path().join("cw.csv"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(!dir.path().join("cw.csv").exists());
    let denial = audit_entries(&ws)
        .into_iter()
        .rfind(|e| e["action"] == "export" && e["decision"] == "deny")
        .expect("the denied export is logged");
    assert_eq!(denial["detail"]["via"], "export-links");
    assert!(denial["detail"]["login"].is_string(), "a denial records the login: {denial}");

    let own = dir.path().join("welfare.csv");
    let out = export(Some("custodian_welfare"), &own);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = fs::read_to_string(&own).unwrap();
    assert!(text.lines().skip(1).count() > 0);
    assert!(text.lines().skip(1).all(|l| l.starts_with("welfare,")), "a custodian exports its own department only");

    let all = dir.path().join("all.csv");
    let out = mimamori()
        .args(["export-links", "--workspace", "ws", "--vault-dir"])
        .arg(&vaults)
        .arg("--out")
        .arg(&all)
        .env("MIMAMORI_USER", "cw_minato")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = fs::read_to_string(&all).unwrap();
    for d in synthetic_data::DEPARTMENTS {
        assert!(text.contains(&format!("\n{d},")), "{d} exported");
    }
    let allowed = audit_entries(&ws).into_iter().rfind(|e| e["action"] == "export-links").unwrap();
    let who = allowed["user"].as_str().unwrap();
    assert!(who.contains("custodian_registry") && who.contains("vault-holder:health"), "{who}");
    assert_eq!(allowed["decision"], "allow");

    let verify = run_ok(&["audit", "verify", "--workspace", "ws"], dir.path());
    assert!(verify.contains("intact"), "{verify}");
}

#[test]
fn linking_is_reproducible() {
    let c = city();
    let dir = tempfile::tempdir().unwrap();
    copy_workspace(&c.root.join("ws"), &dir.path().join("ws"));
    run_ok(&["link", "--workspace", "ws"], dir.path());
    for f in ["persons.parquet", "households.parquet", "pairs.parquet", "review.parquet", "model.json"] {
        assert_eq!(
            fs::read(dir.path().join("ws/linked").join(f)).unwrap(),
            fs::read(c.root.join("ws/linked").join(f)).unwrap(),
            "{f} is the same on a second run"
        );
    }
    let persons = batches(&dir.path().join("ws/linked/persons.parquet"));
    let ids = persons[0].column(2).as_any().downcast_ref::<UInt64Array>().unwrap();
    assert_eq!(ids.value(0), 1, "person ids are numbered from each person's first record");
    assert!(ids.null_count() == 0);
}

#[test]
fn link_report_is_one_self_contained_page_of_aggregates() {
    let c = city();
    let html = fs::read_to_string(c.root.join("ws/linked/report.html")).unwrap();
    for part in ["<svg", "threshold", "m and u", "Waterfall", "blocking rule", "Records per person"] {
        assert!(html.contains(part), "the report shows {part}");
    }
    for forbidden in ["<script", "http://", "https://", "src=", "record_ref"] {
        assert!(!html.contains(forbidden), "the report holds no {forbidden}");
    }
    // every field of the model has its m/u rows
    let model: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(c.root.join("ws/linked/model.json")).unwrap()).unwrap();
    for f in model["fields"].as_array().unwrap() {
        assert!(html.contains(&format!("<td>{}</td>", f["name"].as_str().unwrap())), "{f}");
    }
    let log = fs::read_to_string(c.root.join("ws/audit/log.jsonl")).unwrap();
    assert!(log.contains("\"action\":\"link-report\""));
}

/// A seeded xorshift draw below `n`: the test data sets are the same on every run.
fn xorshift(mut state: u64) -> impl FnMut(usize) -> usize {
    move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    }
}

/// Two FEBRL-style departments holding the same 300 persons once each, 40% of `b`'s records
/// with a typo in one field; three of them with a typo in each of given name, birth date,
/// postcode and street, so that no token rule pairs them with their originals.
fn typo_ridden_pair_of_departments(d: &Path) {
    const GIVEN: &[&str] = &[
        "michaela", "courtney", "jessica", "samuel", "thomas", "olivia", "joshua", "emily", "lachlan", "chloe",
        "benjamin", "hannah", "matthew", "sophie", "daniel", "grace", "william", "zoe", "jack", "lily",
    ];
    const FAMILY: &[&str] = &[
        "neumann",
        "painter",
        "white",
        "campbell",
        "mitchell",
        "fitzgerald",
        "kowalski",
        "nguyen",
        "papadopoulos",
        "henderson",
        "robertson",
        "macdonald",
        "o'brien",
        "zimmermann",
        "castellano",
        "harrington",
        "blackwood",
        "sutherland",
        "thornton",
        "wainwright",
        "yeoman",
        "abernethy",
        "ellsworth",
        "pemberton",
        "quigley",
    ];
    const STREET: &[&str] = &[
        "stanley street",
        "pinkerton circuit",
        "main road",
        "banksia avenue",
        "wattle crescent",
        "kingsford place",
        "eucalyptus drive",
        "macquarie terrace",
        "boundary road",
        "riverview parade",
        "jacaranda close",
    ];
    const SUBURB: &[&str] =
        &["winston hills", "richlands", "toowong", "glenelg", "fremantle", "ballarat", "bathurst", "orange"];
    let mut next = xorshift(0x2545_F491_4F6C_DD1Du64);
    let header = "rec_id,given_name,surname,street_number,address_1,suburb,postcode,date_of_birth\n";
    let (mut a, mut b) = (String::from(header), String::from(header));
    for i in 0..300 {
        let (g, f, s, sub) = (GIVEN[next(20)], FAMILY[next(25)], STREET[next(11)], SUBURB[next(8)]);
        let (no, post) = (1 + next(120), 2000 + next(7000));
        let dob = format!("19{:02}{:02}{:02}", 20 + next(80), 1 + next(12), 1 + next(28));
        a.push_str(&format!("rec-{i}-org,{g},{f},{no},{s},{sub},{post},{dob}\n"));
        // a letter changed in the middle of a word; the last digit of a number
        let typo = |w: &str| {
            let mut c: Vec<char> = w.chars().collect();
            let k = c.len() / 2;
            c[k] = if c[k] == 'x' { 'y' } else { 'x' };
            c.into_iter().collect::<String>()
        };
        let digit = |x: &str| format!("{}{}", &x[..x.len() - 1], if x.ends_with('1') { '2' } else { '1' });
        let (mut g2, mut f2, mut s2, mut post2, mut dob2) =
            (g.to_string(), f.to_string(), s.to_string(), post.to_string(), dob.clone());
        if i < 3 {
            (g2, s2, post2, dob2) = (typo(g), typo(s), digit(&post2), digit(&dob));
        } else if next(10) < 4 {
            // as in real extracts, many records of the same person differ in one field
            match next(5) {
                0 => g2 = typo(g),
                1 => f2 = typo(f),
                2 => s2 = typo(s),
                3 => dob2 = digit(&dob),
                _ => post2 = digit(&post2),
            }
        }
        b.push_str(&format!("rec-{i}-dup-0,{g2},{f2},{no},{s2},{sub},{post2},{dob2}\n"));
    }
    run_ok(&["keygen", "--out", "link.key"], d);
    let identity = "record_id = \"rec_id\"\ngiven_name = \"given_name\"\nfamily_name = \"surname\"\n\
                    street = \"address_1\"\nlocality = \"suburb\"\npostcode = \"postcode\"\n\
                    birth_date = \"date_of_birth\"\n";
    pseudonymise_department(d, "a", &a, "", identity);
    pseudonymise_department(d, "b", &b, "", identity);
}

/// Writes `<dept>.csv` and its mapping (`source` lines after `path`, the `[identity]` lines),
/// and pseudonymises it with `link.key` into `ws/extracts/<dept>`, its vault and vault key in
/// `vaults/`.
fn pseudonymise_department(d: &Path, dept: &str, csv: &str, source: &str, identity: &str) {
    fs::write(d.join(format!("{dept}.csv")), csv).unwrap();
    fs::write(
        d.join(format!("{dept}.toml")),
        format!("department = \"{dept}\"\n[source]\npath = \"{dept}.csv\"\n{source}[identity]\n{identity}"),
    )
    .unwrap();
    fs::create_dir_all(d.join("vaults")).unwrap();
    let key = format!("vaults/{dept}.vault.key");
    run_ok(&["keygen", "--vault", "--out", &key], d);
    let (mapping, out, vault) = (format!("{dept}.toml"), format!("ws/extracts/{dept}"), format!("vaults/{dept}.vault"));
    let args = [
        "pseudonymise",
        "--mapping",
        &mapping,
        "--key",
        "link.key",
        "--vault-key",
        &key,
        "--out",
        &out,
        "--vault",
        &vault,
    ];
    run_ok(&args, d);
}

/// Person ids of `(department, record_id)` from export-links.
fn persons_by_record(d: &Path) -> HashMap<(String, String), String> {
    let csv = d.join("links.csv");
    let _ = fs::remove_file(&csv);
    let out = export_links(d, &d.join("vaults"), &csv);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut r = csv::Reader::from_path(&csv).unwrap();
    r.records().map(|x| x.unwrap()).map(|x| ((x[0].to_string(), x[1].to_string()), x[2].to_string())).collect()
}

#[test]
fn residual_blocking_links_records_that_no_token_rule_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    typo_ridden_pair_of_departments(d);
    let toml = |extra: &str| format!("[linkage]\ndistinct_within = [\"a\", \"b\"]\n{extra}");
    let linked_typos = |d: &Path| {
        let p = persons_by_record(d);
        let same = |i: usize| p[&("a".into(), format!("rec-{i}-org"))] == p[&("b".into(), format!("rec-{i}-dup-0"))];
        ((0..3).filter(|i| same(*i)).count(), (3..300).filter(|i| same(*i)).count())
    };

    // without residual blocking, no rule ever compares the three
    run_ok(&["init", "--workspace", "ws"], d);
    let config = d.join("ws/mimamori.toml");
    let base = fs::read_to_string(&config).unwrap();
    fs::write(&config, format!("{base}\n{}", toml("lsh_bands = 0\n"))).unwrap();
    run_ok(&["link", "--workspace", "ws"], d);
    assert_eq!(linked_typos(d), (0, 297));

    // with it (the default), they are found, compared and linked; the report names the step
    fs::write(&config, format!("{base}\n{}", toml(""))).unwrap();
    run_ok(&["link", "--workspace", "ws"], d);
    assert_eq!(linked_typos(d), (3, 297));
    let quality: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("ws/linked/quality.json")).unwrap()).unwrap();
    let lsh = quality["blocking"].as_array().unwrap().iter().find(|r| r["lsh"].is_object()).expect("an lsh row");
    assert!(lsh["lsh"]["residual_records"].as_u64().unwrap() >= 6, "{lsh}");
    assert!(lsh["new_pairs"].as_u64().unwrap() >= 3, "{lsh}");

    // without the one-to-one evidence the new pairs extend the scored pairs in place: every
    // pair is counted once and the clean pairs stay linked
    fs::write(&config, format!("{base}\n{}", toml("one_to_one = false\n"))).unwrap();
    run_ok(&["link", "--workspace", "ws"], d);
    assert_eq!(linked_typos(d).1, 297);
    let quality: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("ws/linked/quality.json")).unwrap()).unwrap();
    let lsh = quality["blocking"].as_array().unwrap().iter().find(|r| r["lsh"].is_object()).expect("an lsh row");
    assert!(lsh["new_pairs"].as_u64().unwrap() >= 3, "{lsh}");
    assert_eq!(
        quality["candidate_pairs"].as_u64(),
        Some(quality["blocking"].as_array().unwrap().iter().map(|r| r["new_pairs"].as_u64().unwrap_or(0)).sum())
    );
}

/// A parish register (full birth dates, forename and surname apart) and a census that writes
/// only birth years, some of them approximate ("abt 1850"), and names in one column with
/// abbreviated forenames ("Wm Smith", "SMITH, Wm."), in a place where fathers and sons share
/// name and address.
fn register_and_census(d: &Path) {
    const GIVEN: &[&str] = &["william", "john", "thomas", "james", "george", "henry", "charles", "joseph", "edward"];
    const FAMILY: &[&str] = &[
        "smith", "jones", "taylor", "brown", "wilson", "evans", "thomas", "roberts", "johnson", "walker", "wright",
        "robinson", "thompson", "white", "hughes", "edwards", "green", "hall", "wood", "harris",
    ];
    const STREET: &[&str] = &["church lane", "mill street", "high street", "back row", "castle hill", "bridge end"];
    let mut next = xorshift(0x9E37_79B9_7F4A_7C15u64);
    let (mut register, mut census) =
        (String::from("id,forename,surname,street,born\n"), String::from("id,name,street,born\n"));
    for i in 0..150 {
        let (g, f, s, no) = (GIVEN[next(9)], FAMILY[next(20)], STREET[next(6)], 1 + next(60));
        let year = 1800 + next(40);
        // the father, a son of the same name at the same address born 20 to 35 years later,
        // and the son's twin brother
        let twin = GIVEN.iter().filter(|x| **x != g).nth(next(8)).copied().unwrap_or("edward");
        let son = year + 20 + next(16);
        for (who, g, y) in [("f", g, year), ("s", g, son), ("t", twin, son)] {
            let (m, day) = (1 + next(12), 1 + next(28));
            register.push_str(&format!("{who}{i},{g},{f},{no} {s},{y}-{m:02}-{day:02}\n"));
            let born = if next(2) == 0 { format!("{y}") } else { format!("abt {y}") };
            // the enumerator abbreviates forenames as registers do, in one name column
            let written = match g {
                "william" => "Wm.",
                "thomas" => "Thos",
                "james" => "Jas.",
                "charles" => "Chas",
                "george" => "Geo.",
                _ => g,
            };
            let name = if next(2) == 0 { format!("{written} {f}") } else { format!("{}, {written}", f.to_uppercase()) };
            census.push_str(&format!("{who}{i},\"{name}\",{no} {s},{born}\n"));
        }
    }
    run_ok(&["keygen", "--out", "link.key"], d);
    let rest = "street = \"street\"\nbirth_date = \"born\"\n";
    let register_identity = format!("record_id = \"id\"\ngiven_name = \"forename\"\nfamily_name = \"surname\"\n{rest}");
    pseudonymise_department(d, "register", &register, "", &register_identity);
    // one name column, "Wm Smith" or "SMITH, Wm."
    let census_identity = format!("record_id = \"id\"\nname = \"name\"\n{rest}");
    pseudonymise_department(d, "census", &census, "name_order = \"given_first\"\n", &census_identity);
}

#[test]
fn census_years_and_abbreviated_names_still_tell_fathers_from_sons() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    register_and_census(d);
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("ws/extracts/census/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["counts"]["birth_date"]["partial"].as_u64(), Some(450), "{manifest}");
    assert_eq!(manifest["counts"]["birth_date"]["invalid"].as_u64(), Some(0), "{manifest}");

    run_ok(&["init", "--workspace", "ws"], d);
    let config = d.join("ws/mimamori.toml");
    let base = fs::read_to_string(&config).unwrap();
    fs::write(&config, format!("{base}\n[linkage]\ndistinct_within = [\"register\", \"census\"]\n")).unwrap();
    run_ok(&["link", "--workspace", "ws"], d);
    let model: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("ws/linked/model.json")).unwrap()).unwrap();
    let fields: Vec<&str> = model["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(fields.contains(&"birth_year"), "{fields:?}");

    let p = persons_by_record(d);
    let person = |dept: &str, id: String| p[&(dept.to_string(), id)].clone();
    let mut right = 0;
    for i in 0..150 {
        for who in ["f", "s", "t"] {
            let census = person("census", format!("{who}{i}"));
            assert_ne!(
                person("register", format!("f{i}")),
                person("register", format!("s{i}")),
                "father and son {i} merged"
            );
            right += usize::from(census == person("register", format!("{who}{i}")));
        }
    }
    // names repeat (9 forenames, 20 surnames) and streets too: the years tell fathers from
    // sons, the forenames (abbreviated in the census) sons from their twins
    assert!(right >= 440, "{right} of 450 census records linked to their own register record");
}

/// The same 300 people in two censuses ten years apart, with ages instead of birth dates. In
/// the second census a fifth of the ages are a year off and a fifth of the forenames mistyped,
/// independently: a tenth of the people have both, and only a surname rule that allows a
/// year's difference can pair them.
fn two_censuses(d: &Path) {
    const GIVEN: &[&str] = &[
        "william",
        "john",
        "thomas",
        "james",
        "george",
        "henry",
        "charles",
        "joseph",
        "edward",
        "mary",
        "elizabeth",
        "sarah",
        "ann",
        "jane",
        "margaret",
        "hannah",
    ];
    const SYLLABLE: &[&str] = &["har", "wood", "ing", "ton", "bry", "ald", "fell", "mor", "ley", "cas", "well", "dun"];
    const STREET: &[&str] = &["church lane", "mill street", "high street", "back row", "castle hill", "bridge end"];
    let mut next = xorshift(0x5851_F42D_4C95_7F2Du64);
    let header = "id,forename,surname,street,age\n";
    let (mut a, mut b) = (String::from(header), String::from(header));
    for i in 0..300 {
        let g = GIVEN[next(GIVEN.len())];
        let f = format!("{}{}", SYLLABLE[next(12)], SYLLABLE[next(12)]);
        let street = format!("{} {}", 1 + next(80), STREET[next(6)]);
        let age = 15 + next(50);
        a.push_str(&format!("{i},{g},{f},{street},{age}\n"));
        let (mut g2, mut age2) = (g.to_string(), age + 10);
        if i % 10 < 2 {
            age2 = if next(2) == 0 { age2 + 1 } else { age2 - 1 };
        }
        if i % 10 == 0 || i % 10 == 2 {
            let mut c: Vec<char> = g.chars().collect();
            let k = c.len() / 2;
            c[k] = if c[k] == 'x' { 'y' } else { 'x' };
            g2 = c.into_iter().collect();
        }
        b.push_str(&format!("{i},{g2},{f},{street},{age2}\n"));
    }
    run_ok(&["keygen", "--out", "link.key"], d);
    let identity = "record_id = \"id\"\ngiven_name = \"forename\"\nfamily_name = \"surname\"\nstreet = \"street\"\nage = \"age\"\n";
    pseudonymise_department(d, "a", &a, "age_on = \"1851-03-30\"\n", identity);
    pseudonymise_department(d, "b", &b, "age_on = \"1861-04-07\"\n", identity);
}

#[test]
fn a_rule_on_the_birth_year_pairs_census_ages_a_year_off() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_censuses(d);
    run_ok(&["init", "--workspace", "ws"], d);
    let config = d.join("ws/mimamori.toml");
    let base = fs::read_to_string(&config).unwrap();
    // no residual blocking: only the rules can pair records
    let rules = "blocking = [[\"tok_family\", \"tok_birth_year\"], [\"tok_given\", \"tok_birth_year\"], [\"tok_given\", \"tok_family\"]]";
    fs::write(&config, format!("{base}\n[linkage]\ndistinct_within = [\"a\", \"b\"]\nlsh_bands = 0\n{rules}\n"))
        .unwrap();
    let out = run_ok(&["link", "--workspace", "ws"], d);
    assert!(out.contains("a birth year apart"), "{out}");
    let quality: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("ws/linked/quality.json")).unwrap()).unwrap();
    let surname_rule = &quality["blocking"][0];
    assert!(surname_rule["pairs_a_year_apart"].as_u64().unwrap() >= 30, "{surname_rule}");

    let p = persons_by_record(d);
    let linked = |i: usize| p[&("a".into(), i.to_string())] == p[&("b".into(), i.to_string())];
    let off_and_mistyped = (0..300).filter(|i| i % 10 == 0).filter(|i| linked(*i)).count();
    let off = (0..300).filter(|i| i % 10 == 1).filter(|i| linked(*i)).count();
    let clean = (0..300).filter(|i| i % 10 >= 2).filter(|i| linked(*i)).count();
    assert_eq!(off_and_mistyped, 30, "ages a year off with a mistyped forename");
    assert_eq!((off, clean), (30, 240));
}

#[test]
fn a_default_rule_that_would_explode_is_left_out_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    register_and_census(d);
    run_ok(&["init", "--workspace", "ws"], d);
    let config = d.join("ws/mimamori.toml");
    let base = fs::read_to_string(&config).unwrap();
    // the default rules, on data where exact names repeat: the name rule is over the limit
    fs::write(&config, format!("{base}\n[linkage]\nmax_pairs_per_rule = 1500\n")).unwrap();
    let out = run_ok(&["link", "--workspace", "ws"], d);
    let quality: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("ws/linked/quality.json")).unwrap()).unwrap();
    let rows = quality["blocking"].as_array().unwrap();
    let left_out: Vec<&serde_json::Value> =
        rows.iter().filter(|r| r["skipped"].as_str().is_some_and(|s| s.contains("max_pairs_per_rule"))).collect();
    assert!(!left_out.is_empty(), "{rows:?}");
    assert!(left_out.iter().all(|r| r["pairs"].as_u64().unwrap() > 1500 && r["new_pairs"].as_u64() == Some(0)));
    assert!(rows.iter().any(|r| r["skipped"].is_null() && r["new_pairs"].as_u64().unwrap() > 0), "{rows:?}");
    assert!(out.contains("left out of the default rules"), "{out}");

    // rules someone named are refused whole, with advice
    fs::write(&config, format!("{base}\n[linkage]\nmax_pairs_per_rule = 1500\nblocking = [[\"key_bf_name\"]]\n"))
        .unwrap();
    let out = mimamori().args(["link", "--workspace", "ws"]).current_dir(d).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("max_pairs_per_rule"), "{}", stderr_of(&out));
}
