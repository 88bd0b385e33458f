//! `mimamori keygen` and `mimamori pseudonymise` as custodians run them: every synthetic
//! department and a FEBRL-style extract, the privacy boundary (no identifier in the workspace or
//! the logs), key and input errors, and the agreement of tokens for the same person across
//! departments.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow_array::{Array, BinaryArray, FixedSizeBinaryArray, RecordBatch, StringArray};
use linkage::extract::{self, Value, Wanted};
use linkage::mapping::Mapping;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{mimamori, stderr_of};

pub(crate) struct City {
    _dir: tempfile::TempDir,
    pub(crate) root: PathBuf,
    /// stdout + stderr of every run
    logs: String,
}

pub(crate) fn run_ok(args: &[&str], cwd: &Path) -> String {
    let out = mimamori().args(args).current_dir(cwd).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
    format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr_of(&out))
}

/// A synthetic city, keys, a workspace, every department pseudonymised, and the workspace
/// linked.
pub(crate) fn city() -> &'static City {
    static C: OnceLock<City> = OnceLock::new();
    C.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let mut logs = String::new();
        logs += &run_ok(&["synth", "--households", "2000", "--seed", "5", "--out", "city"], &root);
        logs += &run_ok(&["init", "--workspace", "ws"], &root);
        fs::create_dir(root.join("keys")).unwrap();
        logs += &run_ok(&["keygen", "--out", "keys/link.key"], &root);
        for d in synthetic_data::DEPARTMENTS {
            logs += &run_ok(&["keygen", "--vault", "--out", &format!("keys/{d}.key")], &root);
            logs += &run_ok(
                &[
                    "pseudonymise",
                    "--mapping",
                    &format!("city/{d}/{d}.toml"),
                    "--key",
                    "keys/link.key",
                    "--vault-key",
                    &format!("keys/{d}.key"),
                    "--out",
                    &format!("ws/extracts/{d}/"),
                ],
                &root,
            );
        }
        logs += &run_ok(&["link", "--workspace", "ws"], &root);
        logs += &run_ok(&["link-report", "--workspace", "ws"], &root);
        City { _dir: dir, root, logs }
    })
}

pub(crate) fn batches(path: &Path) -> Vec<RecordBatch> {
    let file = fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap().map(|b| b.unwrap()).collect()
}

/// Every cell of a Parquet file as text (binary cells as lossy UTF-8).
fn cells(path: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches(path) {
        for col in b.columns() {
            for i in 0..col.len() {
                if col.is_null(i) {
                    continue;
                }
                let any = col.as_any();
                let text = if let Some(s) = any.downcast_ref::<StringArray>() {
                    s.value(i).to_string()
                } else if let Some(f) = any.downcast_ref::<FixedSizeBinaryArray>() {
                    String::from_utf8_lossy(f.value(i)).into_owned()
                } else if let Some(f) = any.downcast_ref::<BinaryArray>() {
                    String::from_utf8_lossy(f.value(i)).into_owned()
                } else {
                    // dates, numbers and flags are attributes the mapping carries on purpose (a
                    // 開始日 may fall on someone's birthday); they cannot hold a name or address
                    continue;
                };
                out.push(text);
            }
        }
    }
    out
}

/// The identifying values of an extract, raw and normalised.
fn identifiers(mapping: &Mapping) -> HashSet<String> {
    let wanted: Vec<Wanted> = mapping
        .identity
        .columns()
        .iter()
        .map(|(r, c)| Wanted { role: r.to_string(), column: c.get_ref().clone() })
        .collect();
    let mut src = extract::open(mapping, &wanted).unwrap();
    let mut ids = HashSet::new();
    while let Some(row) = src.next_row().unwrap() {
        for v in row.values {
            let Some(t) = v.as_text() else { continue };
            let t = t.trim().to_string();
            if let Value::Date(d) = v {
                ids.insert(d.format("%Y%m%d").to_string());
            }
            for form in [
                t.clone(),
                t.replace(['　', ' '], ""),
                linkage::normalise::kana::katakana(&t).replace(' ', ""),
                linkage::normalise::name::part(&t).unwrap_or_default(),
            ] {
                if form.chars().count() >= 2 {
                    ids.insert(form);
                }
            }
            for part in t.split(['　', ' ']) {
                if part.chars().count() >= 2 {
                    ids.insert(part.to_string());
                }
            }
        }
    }
    ids
}

pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn no_identifier_reaches_the_workspace_or_the_logs() {
    let c = city();
    let mut ids = HashSet::new();
    for d in synthetic_data::DEPARTMENTS {
        ids.extend(identifiers(&Mapping::load(&c.root.join(format!("city/{d}/{d}.toml"))).unwrap()));
    }
    assert!(ids.len() > 5_000, "collected {} identifying values", ids.len());
    // values of 4+ characters are searched as substrings, shorter ones (2-char surnames) as
    // whole cells
    let long: HashSet<&str> = ids.iter().filter(|s| s.chars().count() >= 4).map(String::as_str).collect();
    let short: HashSet<&str> = ids.iter().filter(|s| s.chars().count() < 4).map(String::as_str).collect();
    let longest = long.iter().map(|s| s.chars().count()).max().unwrap_or(4);
    let leaks = |t: &str| -> Option<String> {
        let chars: Vec<(usize, char)> = t.char_indices().collect();
        for i in 0..chars.len() {
            for n in 4..=longest.min(chars.len() - i) {
                let end = chars.get(i + n).map(|(b, _)| *b).unwrap_or(t.len());
                let sub = &t[chars[i].0..end];
                if long.contains(sub) {
                    return Some(sub.to_string());
                }
            }
        }
        None
    };
    let files = files_under(&c.root.join("ws"));
    assert!(files.iter().any(|f| f.ends_with("records.parquet")));
    let mut scanned = 0;
    for f in files {
        let texts = if f.extension().is_some_and(|e| e == "parquet") {
            cells(&f)
        } else {
            vec![String::from_utf8_lossy(&fs::read(&f).unwrap()).into_owned()]
        };
        for t in &texts {
            scanned += 1;
            assert!(!short.contains(t.as_str()), "{}: an identifying value appears as a cell: {t}", f.display());
            if let Some(id) = leaks(t) {
                panic!("{}: an identifying value appears: {id}", f.display());
            }
        }
    }
    assert!(scanned > 10_000);
    if let Some(id) = leaks(&c.logs) {
        panic!("an identifying value appears in the output of a run: {id}");
    }
    // vaults and keys stay outside the workspace
    assert!(c.root.join("city/welfare/welfare.vault").is_file());
    assert!(!files_under(&c.root.join("ws")).iter().any(|f| {
        let n = f.to_string_lossy();
        n.ends_with(".vault") || n.ends_with(".key")
    }));
}

#[test]
fn every_department_is_written_with_a_manifest_that_holds_no_key() {
    let c = city();
    let key = fs::read_to_string(c.root.join("keys/link.key")).unwrap();
    let hex = key.split_whitespace().nth(1).unwrap();
    let mut fingerprints = HashSet::new();
    for d in synthetic_data::DEPARTMENTS {
        let dir = c.root.join(format!("ws/extracts/{d}"));
        let manifest: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["department"], d);
        let rows = manifest["rows"].as_u64().unwrap();
        let written: usize = batches(&dir.join("records.parquet")).iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows as usize, written);
        assert!(rows > 0);
        fingerprints.insert(manifest["linkage_key_fingerprint"].as_str().unwrap().to_string());
        let text = fs::read_to_string(dir.join("manifest.json")).unwrap();
        assert!(!text.contains(hex), "the key is not in the manifest");
        assert!(!text.contains(&c.root.to_string_lossy().to_string()), "no custodian path in the manifest");
    }
    assert_eq!(fingerprints.len(), 1, "one linkage key, one fingerprint");
    // CP932 extracts carry 外字 lost as `?`: counted as wildcards, not as values
    let welfare: serde_json::Value =
        serde_json::from_slice(&fs::read(c.root.join("ws/extracts/welfare/manifest.json")).unwrap()).unwrap();
    let health: serde_json::Value =
        serde_json::from_slice(&fs::read(c.root.join("ws/extracts/health/manifest.json")).unwrap()).unwrap();
    let wild = welfare["counts"]["name"]["wildcard"].as_u64().unwrap_or(0)
        + health["counts"]["name"]["wildcard"].as_u64().unwrap_or(0);
    assert!(wild > 0, "lost characters are counted");
}

/// record_ref → (record_id, person), through each custodian's vault and the ground truth.
fn persons_of(c: &City, dept: &str) -> HashMap<Vec<u8>, (String, u64)> {
    let key = engine::keys::read_vault_key(&c.root.join(format!("keys/{dept}.key"))).unwrap();
    let vault = engine::vault::open(&c.root.join(format!("city/{dept}/{dept}.vault")), dept, &key).unwrap();
    let mut truth = HashMap::new();
    let mut r = csv::Reader::from_path(c.root.join("city/truth/truth.csv")).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        if &rec[0] == dept {
            truth.insert(rec[1].to_string(), rec[2].parse::<u64>().unwrap());
        }
    }
    vault.into_iter().map(|(r, id)| (r.to_vec(), (id.clone(), truth[&id]))).collect()
}

/// (department, record_id) → the (field, kind) of every noise the generator applied.
type Ledger = HashMap<(String, String), Vec<(String, String)>>;

fn noise_ledger(c: &City) -> Ledger {
    let mut out: Ledger = HashMap::new();
    let mut r = csv::Reader::from_path(c.root.join("city/truth/noise.csv")).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        out.entry((rec[0].to_string(), rec[1].to_string())).or_default().push((rec[2].to_string(), rec[3].to_string()));
    }
    out
}

fn column(c: &City, dept: &str, name: &str) -> HashMap<Vec<u8>, Option<Vec<u8>>> {
    let mut out = HashMap::new();
    for b in batches(&c.root.join(format!("ws/extracts/{dept}/records.parquet"))) {
        let refs = b.column_by_name("record_ref").unwrap().as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap();
        let col = b.column_by_name(name).unwrap_or_else(|| panic!("{dept} has {name}"));
        let col = col.as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap();
        for i in 0..b.num_rows() {
            out.insert(refs.value(i).to_vec(), (!col.is_null(i)).then(|| col.value(i).to_vec()));
        }
    }
    out
}

/// Share of true-match pairs (registry record, department record of the same person) whose
/// `token` is equal, leaving out pairs where the generator changed the underlying value on
/// either side (one of `changes`, as (field, kind) of the noise ledger; `*` matches any field).
fn agreement(c: &City, dept: &str, token: &str, changes: &[(&str, &str)]) -> (f64, usize) {
    static LEDGER: OnceLock<Ledger> = OnceLock::new();
    let ledger = LEDGER.get_or_init(|| noise_ledger(c));
    let changed = |d: &str, id: &str| {
        ledger.get(&(d.to_string(), id.to_string())).is_some_and(|events| {
            events.iter().any(|(f, k)| changes.iter().any(|(cf, ck)| (*cf == "*" || cf == f) && ck == k))
        })
    };
    let reg_person = persons_of(c, "registry");
    let person_reg: HashMap<u64, (Vec<u8>, String)> =
        reg_person.iter().map(|(r, (id, p))| (*p, (r.clone(), id.clone()))).collect();
    let reg = column(c, "registry", token);
    let other = column(c, dept, token);
    let (mut n, mut equal) = (0, 0);
    for (r, (id, p)) in persons_of(c, dept) {
        let Some((reg_ref, reg_id)) = person_reg.get(&p) else { continue };
        if changed(dept, &id) || changed("registry", reg_id) {
            continue;
        }
        n += 1;
        if other[&r].is_some() && other[&r] == reg[reg_ref] {
            equal += 1;
        }
    }
    (equal as f64 / n.max(1) as f64, n)
}

/// Normalisation must bring every department's forms (和暦 in all its forms, half-width kana,
/// hiragana, small kana, voiced-mark variants, 異体字, name spacing, address forms, full-width
/// digits, Excel date cells, Parquet dates) to the registry's. So the tokens of the same person
/// agree whenever the generator did not change the value itself (a typo, a missing value, a
/// stale surname or address, a homophone, a 外字 lost to CP932).
#[test]
fn tokens_of_the_same_person_agree_across_formats() {
    let c = city();
    let kana_changes = [("kana", "kana_typo"), ("kana", "missing_value"), ("family_name", "stale_surname")];
    let name_changes = [
        ("family_name", "stale_surname"),
        ("given_name", "homophone_kanji"),
        ("family_name", "gaiji"),
        ("given_name", "gaiji"),
    ];
    for dept in ["welfare", "health", "education", "nursery", "consultation"] {
        let checks: [(&str, &[(&str, &str)]); 5] = [
            ("tok_birth_date", &[("birth_date", "date_typo"), ("birth_date", "missing_value")]),
            ("tok_kana_loose", &kana_changes),
            ("tok_sex", &[("sex", "missing_value")]),
            ("tok_town_block", &[("address", "stale_address"), ("address", "missing_value")]),
            ("tok_name", &name_changes),
        ];
        for (token, changes) in checks {
            let (share, n) = agreement(c, dept, token, changes);
            assert!(n > 100, "{dept} {token}: only {n} pairs");
            assert!(share > 0.995, "{dept}: {token} agrees for {share:.4} of {n} true pairs");
        }
    }
}

fn write_key_files(dir: &Path) {
    run_ok(&["keygen", "--out", "link.key"], dir);
    run_ok(&["keygen", "--vault", "--out", "v.key"], dir);
}

/// `mimamori pseudonymise` of `DEPT.toml` in `dir` (keys of `write_key_files`) into
/// `ws/extracts/DEPT`, its vault beside the mapping.
fn pseudonymise_in(dir: &Path, dept: &str) -> std::process::Output {
    pseudonymise_with(dir, dept, &[])
}

/// `pseudonymise_in` with more arguments.
fn pseudonymise_with(dir: &Path, dept: &str, more: &[&str]) -> std::process::Output {
    mimamori()
        .args(["pseudonymise", "--mapping", &format!("{dept}.toml"), "--key", "link.key", "--vault-key", "v.key"])
        .args(["--out", &format!("ws/extracts/{dept}"), "--vault", &format!("{dept}.vault")])
        .args(more)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// `pseudonymise_in` of a run that must fail whole, leaving nothing half-written; its stderr.
fn fails_whole(dir: &Path, dept: &str) -> String {
    let out = pseudonymise_in(dir, dept);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(!dir.join(format!("ws/extracts/{dept}")).exists(), "nothing half-written");
    stderr_of(&out)
}

/// A token column of the first batch, None where null.
fn tokens(b: &[RecordBatch], name: &str) -> Vec<Option<Vec<u8>>> {
    let c = b[0].column_by_name(name).unwrap().as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap();
    (0..c.len()).map(|i| (!c.is_null(i)).then(|| c.value(i).to_vec())).collect()
}

/// Every output file under `dir` with its text (Parquet cells as lossy UTF-8), for scans.
fn texts_under(dir: &Path) -> Vec<(PathBuf, String)> {
    files_under(dir)
        .into_iter()
        .map(|f| {
            let text = if f.extension().is_some_and(|e| e == "parquet") {
                cells(&f).join("\n")
            } else {
                fs::read_to_string(&f).unwrap()
            };
            (f, text)
        })
        .collect()
}

#[test]
fn febrl_style_extract_pseudonymises() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_key_files(d);
    fs::write(
        d.join("febrl.csv"),
        "rec_id,given_name,surname,street_number,address_1,address_2,suburb,postcode,state,date_of_birth,soc_sec_id\n\
         rec-0-org,michaela,neumann,8,stanley street,miami,winston hills,4223,nsw,19151111,5304218\n\
         rec-0-dup-0,michaela,neuman,8,stanley st,miami,winston hills,4223,nsw,19151111,5304218\n\
         rec-1-org,courtney,painter,12,pinkerton circuit,bega flats,richlands,4560,vic,19161214,4066625\n\
         rec-2-org,courtney,,3,main road,,richlands,4560,vic,19160101,4066626\n",
    )
    .unwrap();
    fs::write(
        d.join("febrl.toml"),
        "department = \"febrl\"\n[source]\npath = \"febrl.csv\"\n[identity]\nrecord_id = \"rec_id\"\ngiven_name = \"given_name\"\nfamily_name = \"surname\"\nstreet = \"address_1\"\nlocality = \"suburb\"\npostcode = \"postcode\"\nbirth_date = \"date_of_birth\"\nnational_id = \"soc_sec_id\"\n",
    )
    .unwrap();
    let log = run_ok(
        &[
            "pseudonymise",
            "--mapping",
            "febrl.toml",
            "--key",
            "link.key",
            "--vault-key",
            "v.key",
            "--out",
            "ws/extracts/febrl",
        ],
        d,
    );
    assert!(!log.contains("neumann") && !log.contains("stanley"));
    let b = batches(&d.join("ws/extracts/febrl/records.parquet"));
    assert_eq!(b[0].num_rows(), 4);
    // a missing surname leaves the given name a given name
    let given = b[0].column_by_name("tok_given").unwrap().as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap();
    let family = b[0].column_by_name("tok_family").unwrap().as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap();
    assert!(family.is_null(3));
    // (born in the same year: name-part tokens are bound to the birth year)
    assert_eq!(given.value(3), given.value(2), "the same given name, with or without a surname");
    for col in [
        "tok_family",
        "tok_given",
        "tok_birth_date",
        "tok_street",
        "tok_locality",
        "tok_postcode",
        "tok_national_id",
        "bf_name",
        "bf_address",
    ] {
        assert!(b[0].column_by_name(col).is_some(), "{col}");
    }
    let dob = b[0].column_by_name("tok_birth_date").unwrap().as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap();
    assert_eq!(dob.value(0), dob.value(1), "the same birth date gives the same token");
    assert_ne!(dob.value(0), dob.value(2));
    for (f, text) in texts_under(&d.join("ws")) {
        for id in ["michaela", "neumann", "stanley", "5304218", "winston"] {
            assert!(!text.contains(id), "{} holds an identifier", f.display());
        }
    }
}

#[test]
fn unreadable_values_are_located_never_quoted_and_strict_stops() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_key_files(d);
    // a count too large for any count, and one with a thousands separator
    fs::write(
        d.join("x.csv"),
        "番号,氏名,生年月日,欠席\nA1,山田　花子,2016-02-30,99999999999999999999\nA2,鈴木　一郎,平成28年4月1日,\"1,234\"\n",
    )
    .unwrap();
    fs::write(
        d.join("x.toml"),
        "department = \"x\"\n[source]\npath = \"x.csv\"\n[identity]\nrecord_id = \"番号\"\nname = \"氏名\"\nbirth_date = \"生年月日\"\n[attributes]\nabsent = { column = \"欠席\", type = \"int\", sensitivity = \"special_care\" }\n",
    )
    .unwrap();
    let args =
        ["pseudonymise", "--mapping", "x.toml", "--key", "link.key", "--vault-key", "v.key", "--out", "ws/extracts/x"];
    let out = mimamori().args(args).current_dir(d).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("x.csv:2: column 生年月日 (birth_date)"), "{err}");
    assert!(!err.contains("2016-02-30") && !err.contains("山田"), "{err}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("ws/extracts/x/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["counts"]["birth_date"]["invalid"], 1);
    assert_eq!(manifest["counts"]["absent"]["invalid"], 1, "never silently capped: {manifest}");
    assert!(err.contains("x.csv:2: column 欠席 (absent)") && !err.contains("99999"), "{err}");
    assert_eq!(manifest["rows"], 2);

    let out = mimamori().args(args).args(["--strict", "--force"]).current_dir(d).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("--strict"));
    // the earlier extract is untouched by the failed run
    assert!(d.join("ws/extracts/x/manifest.json").is_file());
}

#[test]
fn rows_left_out_are_located_and_a_record_id_on_the_wrong_column_fails() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_key_files(d);
    // a repeated id, a blank id, and two rows with no value at all (a sheet's trailing rows)
    fs::write(
        d.join("x.csv"),
        "番号,氏名,性別\nA1,山田　花子,2\nA2,鈴木　一郎,1\nA1,鈴木　一郎,2\n,佐藤　次郎,1\nA3,田中　三郎,1\n,,\n,,\n",
    )
    .unwrap();
    let mapping = |id: &str| {
        format!("department = \"x\"\n[source]\npath = \"x.csv\"\n[identity]\nrecord_id = \"{id}\"\nname = \"氏名\"\n")
    };
    fs::write(d.join("x.toml"), mapping("番号")).unwrap();
    let out = pseudonymise_in(d, "x");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("x.csv:4: column 番号 (record_id)") && err.contains("line 2 has the same"), "{err}");
    assert!(err.contains("x.csv:5: column 番号 (record_id)"), "{err}");
    assert!(!err.contains("A1") && !err.contains("山田") && !err.contains("佐藤"), "never a value: {err}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("ws/extracts/x/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["rows"], 3);
    assert_eq!(manifest["rejected_rows"]["duplicate_record_id"], 1);
    assert_eq!(manifest["rejected_rows"]["missing_record_id"], 1, "blank rows are no records: {manifest}");
    // the file holds the rows kept: three names, not the repeat of A1 (named as A2 is)
    let b = batches(&d.join("ws/extracts/x/records.parquet"));
    let cells = |name: &str| -> Vec<Vec<u8>> {
        b.iter()
            .flat_map(|b| {
                let c = b.column_by_name(name).unwrap().as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap();
                (0..c.len()).map(|i| c.value(i).to_vec()).collect::<Vec<_>>()
            })
            .collect()
    };
    for column in ["record_ref", "tok_name"] {
        let v = cells(column);
        assert_eq!(v.len(), 3);
        assert!(v[0] != v[1] && v[1] != v[2] && v[0] != v[2], "the repeat was left out, not another row");
    }

    // the record id mapped to the sex column: most rows repeat it, and the run fails whole
    fs::write(d.join("x.toml"), mapping("性別")).unwrap();
    fs::remove_dir_all(d.join("ws")).unwrap();
    let err = fails_whole(d, "x");
    assert!(err.contains("3 of 5 rows were left out") && err.contains("record_id"), "{err}");
}

#[test]
fn a_name_without_a_space_or_with_a_lost_character_keeps_what_is_known() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_key_files(d);
    // the same woman with and without the space; a family name that lost a character (CP932 ?)
    // (ヤマダアケミ: the ア after ダ would lengthen it in a reading without a space)
    fs::write(
        d.join("x.csv"),
        "番号,氏名,カナ,性別\n1,山田　明美,ヤマダ アケミ,2\n2,山田明美,ﾔﾏﾀﾞｱｹﾐ,女\n3,?田　明美,ヤマダ アケミ,女?\n4,Smith,,?\n",
    )
    .unwrap();
    fs::write(
        d.join("x.toml"),
        "department = \"x\"\n[source]\npath = \"x.csv\"\n[identity]\nrecord_id = \"番号\"\nname = \"氏名\"\nname_kana = \"カナ\"\nsex = \"性別\"\n",
    )
    .unwrap();
    let out = pseudonymise_in(d, "x");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let b = batches(&d.join("ws/extracts/x/records.parquet"));
    let (family, given, whole) = (tokens(&b, "tok_family"), tokens(&b, "tok_given"), tokens(&b, "tok_name"));
    // no space: where the family name ends is unknown, the whole name is known
    assert!(family[1].is_none() && given[1].is_none(), "an unsplit name has no parts");
    assert!(whole[1].is_some() && whole[1] == whole[0], "the whole name agrees with the spaced one");
    let (kana_family, kana_whole) = (tokens(&b, "tok_family_kana"), tokens(&b, "tok_kana"));
    assert!(kana_family[1].is_none() && kana_whole[1].is_some() && kana_whole[1] == kana_whole[0]);
    // the loose key of the whole reading too, though the long-vowel rule joins across the parts
    let loose = tokens(&b, "tok_kana_loose");
    assert!(loose[1].is_some() && loose[1] == loose[0]);
    // a lost character: that part and the whole are unknown, the other part still compares
    assert!(family[2].is_none() && whole[2].is_none());
    assert!(given[2].is_some() && given[2] == given[0], "the given name survives a lost family character");
    // a lone Latin word is a surname
    assert!(family[3].is_some());
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("ws/extracts/x/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["counts"]["name"]["partial"], 1, "{manifest}");
    assert_eq!(manifest["counts"]["name"]["wildcard"], 1);
    assert_eq!(manifest["counts"]["name_kana"]["partial"], 1);
    // a sex code beside a lost character is not known; a lone ? is a blank
    assert_eq!(manifest["counts"]["sex"]["wildcard"], 1, "{manifest}");
    assert_eq!(manifest["counts"]["sex"]["blank"], 1);
}

/// An unquoted comma or line break inside a value shifts the values of its line into the wrong
/// columns: such lines are left out and located, never read as they stand.
#[test]
fn lines_of_another_number_of_fields_than_the_header_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_key_files(d);
    fs::write(
        d.join("x.csv"),
        "番号,氏名,生年月日,住所\n\
         A1,山田　花子,2001-02-03,本町1丁目2番3号\n\
         A2,鈴木　一郎,2002-03-04,本町1丁目,2番3号\n\
         A3,佐藤　次郎,2003-04-05,本町2丁目\n5番6号\n\
         A4,田中　三郎,2004-05-06,本町3丁目1番1号,,\n",
    )
    .unwrap();
    fs::write(
        d.join("x.toml"),
        "department = \"x\"\n[source]\npath = \"x.csv\"\n[identity]\nrecord_id = \"番号\"\nname = \"氏名\"\n\
         birth_date = \"生年月日\"\naddress = \"住所\"\n",
    )
    .unwrap();
    let out = pseudonymise_in(d, "x");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("x.csv:3: 5 fields where the header has 4"), "an unquoted comma: {err}");
    assert!(err.contains("x.csv:5: 1 field where the header has 4"), "the rest of a broken line: {err}");
    assert!(!err.contains("x.csv:4:"), "a line broken after its last field keeps its values: {err}");
    assert!(!err.contains("本町") && !err.contains("鈴木") && !err.contains("A2"), "never a value: {err}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("ws/extracts/x/manifest.json")).unwrap()).unwrap();
    // A1; A3, whose address lost its second line; A4, whose extra fields are empty
    assert_eq!(manifest["rows"], 3, "{manifest}");
    assert_eq!(manifest["rejected_rows"]["wrong_field_count"], 2, "{manifest}");

    // values holding unquoted commas on most lines: most lines fail, and so does the run
    fs::write(d.join("x.csv"), "番号,氏名\nA1,山田,花子\nA2,鈴木,一郎\nA3,佐藤\n").unwrap();
    fs::write(
        d.join("x.toml"),
        "department = \"x\"\n[source]\npath = \"x.csv\"\n[identity]\nrecord_id = \"番号\"\nname = \"氏名\"\n",
    )
    .unwrap();
    fs::remove_dir_all(d.join("ws")).unwrap();
    let err = fails_whole(d, "x");
    assert!(err.contains("2 of 3 rows were left out") && err.contains("every value quoted"), "{err}");

    // an unnamed column at the end of the header is no field a line must have
    fs::write(d.join("x.csv"), "番号,氏名,\nA1,山田　花子\nA2,鈴木　一郎,").unwrap();
    let out = pseudonymise_with(d, "x", &["--format", "json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    // the progress of a CSV knows its total from the lines (the last without a line feed)
    let err = stderr_of(&out);
    assert!(err.contains(r#"{"progress":"records","done":2,"total":2}"#), "{err}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("ws/extracts/x/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["rows"], 2, "{manifest}");
}

/// A system's own placeholder that no list holds (here 2000-01-01 for every unknown birthday)
/// is pointed at by lines and counts, never by its value; once listed, it is blank.
#[test]
fn a_value_held_by_implausibly_many_rows_is_pointed_at_until_listed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_key_files(d);
    let mut csv = String::from("番号,生年月日\n");
    for i in 0..240u32 {
        let date = if i % 4 == 0 {
            "2000-01-01".to_string()
        } else {
            format!("{}-{:02}-{:02}", 1990 + i % 20, 1 + i % 12, 1 + i % 28)
        };
        csv.push_str(&format!("A{i},{date}\n"));
    }
    fs::write(d.join("x.csv"), csv).unwrap();
    let mapping = |unknown: &str| {
        format!(
            "department = \"x\"\n[source]\npath = \"x.csv\"\nunknown = [{unknown}]\n[identity]\nrecord_id = \"番号\"\nbirth_date = \"生年月日\"\n"
        )
    };
    fs::write(d.join("x.toml"), mapping("")).unwrap();
    let out = pseudonymise_in(d, "x");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("column 生年月日 (birth_date): one value is held by 60 of 240 rows (25.0%; lines 2, 6, 10"),
        "{err}"
    );
    assert!(!err.contains("2000"), "never the value: {err}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("ws/extracts/x/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["frequent_values"]["birth_date"], 60, "{manifest}");

    fs::write(d.join("x.toml"), mapping("\"2000-01-01\"")).unwrap();
    fs::remove_dir_all(d.join("ws")).unwrap();
    let out = pseudonymise_in(d, "x");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!stderr_of(&out).contains("one value is held"), "{}", stderr_of(&out));
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("ws/extracts/x/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["counts"]["birth_date"]["placeholder"], 60, "{manifest}");
    assert!(manifest.get("frequent_values").is_none(), "{manifest}");
}

/// A register writes 不明 or a dummy birthday where it does not know; encoded, every such
/// record would agree with every other on that field.
#[test]
fn placeholders_for_unknown_values_are_blank_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_key_files(d);
    fs::write(
        d.join("x.csv"),
        "番号,氏,名,生年月日,住民番号,性別\n\
         1,山田,不明,1900-01-01,0000000000,－\n\
         2,不明,太郎,明治33年1月1日,0000000000,男\n\
         3,山田,太郎,2001-02-03,1234567890,1\n\
         4,山田,花子,1999-12-31,0000000001,2\n",
    )
    .unwrap();
    fs::write(
        d.join("x.toml"),
        "department = \"x\"\n[source]\npath = \"x.csv\"\nunknown = [\"0000000000\", \"1999-12-31\"]\n\
         [identity]\nrecord_id = \"番号\"\nfamily_name = \"氏\"\ngiven_name = \"名\"\n\
         birth_date = \"生年月日\"\nresident_id = \"住民番号\"\nsex = \"性別\"\n",
    )
    .unwrap();
    let out = pseudonymise_in(d, "x");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let b = batches(&d.join("ws/extracts/x/records.parquet"));
    let (given, family) = (tokens(&b, "tok_given"), tokens(&b, "tok_family"));
    assert!(given[0].is_none() && family[1].is_none(), "不明 is no name");
    assert!(family[0].is_some() && family[0] == family[2] && given[1] == given[2], "the known part still compares");
    // the built-in dummy birthday in both forms, and the one the mapping lists
    let (date, year) = (tokens(&b, "tok_birth_date"), tokens(&b, "tok_birth_year"));
    assert!(date[0].is_none() && date[1].is_none() && year[0].is_none() && date[3].is_none());
    assert!(date[2].is_some());
    let resident = tokens(&b, "tok_resident_id");
    assert!(resident[0].is_none() && resident[1].is_none() && resident[3].is_some());
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("ws/extracts/x/manifest.json")).unwrap()).unwrap();
    let counts = &manifest["counts"];
    assert_eq!(counts["name"]["placeholder"], 2, "{manifest}");
    assert_eq!(counts["birth_date"]["placeholder"], 3, "{manifest}");
    assert_eq!(counts["birth_date"]["blank"], 3, "{manifest}");
    assert_eq!(counts["resident_id"]["placeholder"], 2, "{manifest}");
    assert_eq!(counts["sex"]["placeholder"], 1, "{manifest}");
    assert_eq!(counts["sex"]["invalid"], 0, "a dash is no unreadable sex code");
}

#[test]
fn missing_columns_bad_keys_and_a_vault_in_the_workspace_are_refused_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_key_files(d);
    fs::write(d.join("y.csv"), "番号,氏名\nA1,山田　花子\n").unwrap();
    fs::write(
        d.join("y.toml"),
        "department = \"y\"\n[source]\npath = \"y.csv\"\n[identity]\nrecord_id = \"番号\"\nname = \"氏名\"\nbirth_date = \"生年月日\"\n",
    )
    .unwrap();
    let base =
        ["pseudonymise", "--mapping", "y.toml", "--key", "link.key", "--vault-key", "v.key", "--out", "ws/extracts/y"];
    let out = mimamori().args(base).current_dir(d).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("生年月日") && err.contains("y.csv") && err.contains("birth_date"), "{err}");
    assert!(!err.contains("garbled"), "no encoding hint when the encoding is detected: {err}");
    // a UTF-8 file read as CP932 lists a garbled header: the message says why it may be
    let cp932 = fs::read_to_string(d.join("y.toml")).unwrap().replace("[source]\n", "[source]\nencoding = \"cp932\"\n");
    fs::write(d.join("y.toml"), &cp932).unwrap();
    let err = stderr_of(&mimamori().args(base).current_dir(d).output().unwrap());
    assert!(err.contains("garbled") && err.contains("cp932"), "{err}");
    // a missing extract is named once, with its path
    fs::write(d.join("y.toml"), cp932.replace("y.csv", "nowhere.csv")).unwrap();
    let err = stderr_of(&mimamori().args(base).current_dir(d).output().unwrap());
    assert!(err.contains("nowhere.csv") && err.matches("os error 2").count() == 1, "{err}");
    fs::write(d.join("y.toml"), cp932.replace("encoding = \"cp932\"\n", "")).unwrap();
    assert!(!err.contains("山田"));
    assert!(!d.join("ws").exists(), "nothing half-written, not even the folders made for it");
    assert!(!d.join("y.vault").exists(), "no vault for a failed run");

    // keys: the wrong kind, readable by others, missing
    fs::write(d.join("y.csv"), "番号,氏名,生年月日\nA1,山田　花子,2016-04-01\n").unwrap();
    let out = mimamori()
        .args([
            "pseudonymise",
            "--mapping",
            "y.toml",
            "--key",
            "v.key",
            "--vault-key",
            "v.key",
            "--out",
            "ws/extracts/y",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("not a linkage key"), "{}", stderr_of(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(d.join("link.key"), fs::Permissions::from_mode(0o640)).unwrap();
        let out = mimamori().args(base).current_dir(d).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr_of(&out).contains("chmod 600"));
        fs::set_permissions(d.join("link.key"), fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = mimamori()
        .args([
            "pseudonymise",
            "--mapping",
            "y.toml",
            "--key",
            "nope.key",
            "--vault-key",
            "v.key",
            "--out",
            "ws/extracts/y",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("nope.key"));

    // the vault must stay outside the workspace, and --out must be the department's folder
    run_ok(&["init", "--workspace", "ws"], d);
    let out = mimamori().args(base).args(["--vault", "ws/y.vault"]).current_dir(d).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("inside the workspace"));
    // nor inside any other workspace; and the extract itself never inside one
    run_ok(&["init", "--workspace", "other"], d);
    let out = mimamori().args(base).args(["--vault", "other/y.vault"]).current_dir(d).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("inside the workspace"), "{}", stderr_of(&out));
    fs::create_dir(d.join("ws/raw")).unwrap();
    for f in ["y.csv", "y.toml"] {
        fs::copy(d.join(f), d.join("ws/raw").join(f)).unwrap();
    }
    let mut inside = base;
    inside[2] = "ws/raw/y.toml";
    let out = mimamori().args(inside).args(["--vault", "y.vault"]).current_dir(d).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("the extract") && err.contains("inside the workspace"), "{err}");
    assert!(!d.join("ws/extracts/y").exists());
    let out = mimamori()
        .args([
            "pseudonymise",
            "--mapping",
            "y.toml",
            "--key",
            "link.key",
            "--vault-key",
            "v.key",
            "--out",
            "ws/extracts/other",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("extracts/y"));

    // and a good run works, then refuses to overwrite without --force
    run_ok(&base, d);
    let out = mimamori().args(base).current_dir(d).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("--force"));
}

#[test]
fn name_part_tokens_are_bound_to_the_birth_year_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_key_files(d);
    fs::write(
        d.join("people.csv"),
        "id,family,given,birth\n\
         1,sato,hana,2015-04-01\n\
         2,sato,hana,2015-09-30\n\
         3,sato,hana,2016-04-01\n\
         4,sato,hana,\n",
    )
    .unwrap();
    fs::write(
        d.join("people.toml"),
        "department = \"people\"\n[source]\npath = \"people.csv\"\n[identity]\nrecord_id = \"id\"\nfamily_name = \"family\"\ngiven_name = \"given\"\nbirth_date = \"birth\"\n",
    )
    .unwrap();
    let mut written = Vec::new();
    for (salt, out) in [(Some("birth-year"), "salted"), (None, "default")] {
        let out_dir = format!("ws_{out}/extracts/people");
        let mut args = vec![
            "pseudonymise",
            "--mapping",
            "people.toml",
            "--key",
            "link.key",
            "--vault-key",
            "v.key",
            "--out",
            &out_dir,
            "--vault",
            "people.vault",
            "--force",
        ];
        if let Some(s) = salt {
            args.extend(["--token-salt", s]);
        }
        run_ok(&args, d);
        let manifest: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(d.join(&out_dir).join("manifest.json")).unwrap()).unwrap();
        written.push((
            manifest["encoding"]["token_salt"].as_str().unwrap().to_string(),
            batches(&d.join(&out_dir).join("records.parquet")),
        ));
    }
    let (salt, b) = &written[0];
    assert_eq!(salt, "birth_year");
    for name in ["tok_family", "tok_given"] {
        let t = tokens(b, name);
        assert!(t[0].is_some() && t[0] == t[1], "{name}: same name, same year: equal");
        assert_ne!(t[0], t[2], "{name}: same name, another year: a different token");
        assert!(t[3].is_none(), "{name}: no birth year, no name-part token");
    }
    let whole = tokens(b, "tok_name");
    assert!(whole[3].is_some() && whole[0] == whole[3], "the whole name is not bound to the year");
    let (salt, b) = &written[1];
    assert_eq!(salt, "none", "the default does not bind name parts");
    let family = tokens(b, "tok_family");
    assert!(family.iter().all(|t| t.is_some() && *t == family[0]), "unbound: one surname, one token");
    assert_ne!(tokens(&written[0].1, "tok_family")[0], family[0], "salted and plain tokens never agree");
}

#[test]
fn an_age_on_a_census_day_gives_an_estimated_birth_year_with_its_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_key_files(d);
    // a census with ages on census night, and a register with birth dates
    fs::write(
        d.join("census.csv"),
        "id,name,age\n1,John Smith,34\n2,Mary Smith,3/12\n3,Ann Smith,old\n4,Tom Smith,\n5,Jane Smith,abt 12\n",
    )
    .unwrap();
    fs::write(
        d.join("census.toml"),
        "department = \"census\"\n[source]\npath = \"census.csv\"\nage_on = \"1851-03-30\"\n[identity]\nrecord_id = \"id\"\nname = \"name\"\nage = \"age\"\n",
    )
    .unwrap();
    fs::write(
        d.join("register.csv"),
        "id,name,born\n1,John Smith,1815-06-01\n2,John Smith,1816-06-01\n3,John Smith,1817-06-01\n",
    )
    .unwrap();
    fs::write(
        d.join("register.toml"),
        "department = \"register\"\n[source]\npath = \"register.csv\"\n[identity]\nrecord_id = \"id\"\nname = \"name\"\nbirth_date = \"born\"\n",
    )
    .unwrap();
    let out = pseudonymise_in(d, "census");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("census.csv:4: column age (age)"), "the bad age is located: {err}");
    assert!(!err.contains("old"), "never quoted: {err}");
    let out = pseudonymise_in(d, "register");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("ws/extracts/census/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["counts"]["age"]["partial"], 3, "{}", manifest["counts"]);
    assert_eq!(manifest["counts"]["age"]["invalid"], 1);
    assert_eq!(manifest["counts"]["age"]["blank"], 1);
    let of = |dept: &str, name: &str| tokens(&batches(&d.join(format!("ws/extracts/{dept}/records.parquet"))), name);
    let registered = of("register", "tok_birth_year");
    let (year, lo, hi) =
        (of("census", "tok_birth_year"), of("census", "tok_birth_year_lo"), of("census", "tok_birth_year_hi"));
    // 34 on 30 March 1851: born April 1816 to March 1817, mostly in 1816
    assert_eq!(year[0], registered[1], "the estimated year is the register's 1816");
    assert_eq!(lo[0], registered[0], "the year below is the register's 1815");
    assert_eq!(hi[0], registered[2], "the year above is the register's 1817");
    assert!(year[1].is_some() && year[4].is_some(), "months and approximate ages are read");
    assert!(year[2].is_none() && year[3].is_none(), "an unreadable or blank age gives no year");
    // a birth date that is a whole date is no estimate: no neighbours
    assert!(of("register", "tok_birth_year_lo").iter().all(Option::is_none));
    for (f, text) in texts_under(&d.join("ws")) {
        assert!(!text.contains("Smith") && !text.contains("1816"), "{} holds an identifier", f.display());
    }
}

#[test]
fn each_record_may_carry_the_day_its_age_was_taken() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_key_files(d);
    // one extract of two censuses: the same man at 34 in 1851 and at 44 in 1861, a record
    // without its day, one whose day is unreadable, one whose day is a year alone (read as its
    // middle), and one whose day lost a character on the way (CP932 `?`)
    fs::write(
        d.join("censuses.csv"),
        "id,name,age,taken\n1,John Smith,34,1851-03-30\n2,John Smith,44,1861-04-07\n3,John Smith,34,\n4,John Smith,34,spring\n5,John Smith,44,1861\n6,John Smith,,1861-04-07\n7,John Smith,44,1861-0?-07\n",
    )
    .unwrap();
    fs::write(
        d.join("censuses.toml"),
        "department = \"censuses\"\n[source]\npath = \"censuses.csv\"\n[identity]\nrecord_id = \"id\"\nname = \"name\"\nage = \"age\"\nage_on = \"taken\"\n",
    )
    .unwrap();
    let out = pseudonymise_in(d, "censuses");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("censuses.csv:5: column taken (age_on)"), "{err}");
    assert!(!err.contains("spring"), "never quoted: {err}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("ws/extracts/censuses/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["counts"]["age_on"]["blank"], 1, "{}", manifest["counts"]);
    assert_eq!(manifest["counts"]["age_on"]["invalid"], 1);
    assert_eq!(manifest["counts"]["age_on"]["wildcard"], 1, "a lost character is unknown, not unreadable");
    assert_eq!(manifest["counts"]["age"]["blank"], 1, "a blank age is counted whatever its day");
    assert_eq!(manifest["counts"]["age"]["partial"], 3);
    assert!(manifest.get("age_on").is_none(), "no one day for the extract");
    let b = batches(&d.join("ws/extracts/censuses/records.parquet"));
    let (year, hi) = (tokens(&b, "tok_birth_year"), tokens(&b, "tok_birth_year_hi"));
    // 34 on 30 March 1851 and 44 on 7 April 1861 both give 1816
    assert!(year[0].is_some() && year[0] == year[1], "the two censuses agree on the year");
    assert!(year[2].is_none() && year[3].is_none() && year[6].is_none(), "no day, no year");
    // 44 in mid-1861: born mid-1816 to mid-1817, so 1816 or 1817, either of which the first
    // record's estimate or its neighbour holds
    assert!(year[4].is_some() && (year[4] == year[0] || year[4] == hi[0]));
}
