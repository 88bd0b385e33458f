//! End-to-end tests of the synthetic municipality: what evaluation, the demo and every later
//! stage rely on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow_array::{Array, StringArray};
use calamine::{DataType, Reader, Xlsx, open_workbook};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use synthetic_data::noise::kanji::GAIJI;
use synthetic_data::{NoiseKind, Summary, SynthConfig, generate};

const HOUSEHOLDS: u64 = 4_000;

struct Generated {
    _dir: tempfile::TempDir,
    out: PathBuf,
    summary: Summary,
}

/// One municipality shared by the tests that only read it.
fn municipality() -> &'static Generated {
    static G: OnceLock<Generated> = OnceLock::new();
    G.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("city");
        let config = SynthConfig { households: HOUSEHOLDS, seed: 7, ..SynthConfig::default() };
        let summary = generate(&config, &out, &mut |_| {}).unwrap();
        Generated { _dir: dir, out, summary }
    })
}

/// An extract as rows of named text cells, whatever its format and encoding.
type Row = HashMap<String, String>;

fn read_extract(out: &Path, department: &str) -> Vec<Row> {
    let dir = out.join(department);
    let csv_path = dir.join(format!("{department}.csv"));
    if csv_path.exists() {
        let bytes = fs::read(&csv_path).unwrap();
        let text = match department {
            "welfare" | "health" => {
                let (text, _, had_errors) = encoding_rs::SHIFT_JIS.decode(&bytes);
                assert!(!had_errors, "{department} must be valid CP932");
                assert!(std::str::from_utf8(&bytes).is_err(), "{department} is expected in CP932, not UTF-8");
                text.into_owned()
            }
            "nursery" => {
                assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "nursery is UTF-8 with a BOM");
                String::from_utf8(bytes[3..].to_vec()).unwrap()
            }
            _ => String::from_utf8(bytes).unwrap(),
        };
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
        return r
            .records()
            .map(|rec| headers.iter().cloned().zip(rec.unwrap().iter().map(str::to_string)).collect())
            .collect();
    }
    let xlsx_path = dir.join(format!("{department}.xlsx"));
    if xlsx_path.exists() {
        let mut wb: Xlsx<_> = open_workbook(&xlsx_path).unwrap();
        let range = wb.worksheet_range("学齢簿").unwrap();
        let mut rows = range.rows();
        let headers: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
        return rows
            .map(|row| {
                headers
                    .iter()
                    .cloned()
                    .zip(row.iter().map(|c| match c.as_date() {
                        Some(d) if c.is_datetime() => d.format("%Y-%m-%d").to_string(),
                        _ => c.to_string(),
                    }))
                    .collect()
            })
            .collect();
    }
    let pq = dir.join(format!("{department}.parquet"));
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(pq).unwrap()).unwrap().build().unwrap();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let schema = batch.schema();
        for i in 0..batch.num_rows() {
            let mut row = HashMap::new();
            for (f, col) in schema.fields().iter().zip(batch.columns()) {
                let v = match col.as_any().downcast_ref::<StringArray>() {
                    Some(s) if !s.is_null(i) => s.value(i).to_string(),
                    Some(_) => String::new(),
                    None => format!("{:?}", col.slice(i, 1)),
                };
                row.insert(f.name().clone(), v);
            }
            rows.push(row);
        }
    }
    rows
}

const RECORD_ID: [(&str, &str); 6] = [
    ("registry", "宛名番号"),
    ("welfare", "受給者番号"),
    ("health", "管理番号"),
    ("education", "児童生徒番号"),
    ("nursery", "園児番号"),
    ("consultation", "相談番号"),
];

fn truth(out: &Path) -> Vec<(String, String, u64, u64)> {
    let mut r = csv::Reader::from_path(out.join("truth/truth.csv")).unwrap();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            (rec[0].to_string(), rec[1].to_string(), rec[2].parse().unwrap(), rec[3].parse().unwrap())
        })
        .collect()
}

#[test]
fn truth_covers_every_record_exactly_once() {
    let g = municipality();
    let truth = truth(&g.out);
    let mut by_dept: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (d, r, _, _) in &truth {
        assert!(by_dept.entry(d.as_str()).or_default().insert(r.as_str()), "{d} {r} twice in truth");
    }
    for (dept, id_col) in RECORD_ID {
        let rows = read_extract(&g.out, dept);
        assert!(!rows.is_empty(), "{dept} is empty");
        let ids: BTreeSet<&str> = rows.iter().map(|r| r[id_col].as_str()).collect();
        assert_eq!(ids.len(), rows.len(), "{dept} record ids are unique");
        assert_eq!(&ids, by_dept.get(dept).unwrap(), "{dept}: truth and extract list the same records");
        assert_eq!(g.summary.records_by_department[dept], rows.len() as u64);
    }
    assert_eq!(g.summary.records, truth.len() as u64);
}

#[test]
fn same_seed_same_bytes_and_households_are_a_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, households: u64, seed: u64| {
        let out = dir.path().join(name);
        generate(&SynthConfig { households, seed, ..SynthConfig::default() }, &out, &mut |_| {}).unwrap();
        out
    };
    let a = run("a", 300, 11);
    let b = run("b", 300, 11);
    let c = run("c", 300, 12);
    let small = run("small", 150, 11);
    for file in [
        "registry/registry.csv",
        "welfare/welfare.csv",
        "health/health.csv",
        "education/education.xlsx",
        "nursery/nursery.csv",
        "consultation/consultation.parquet",
        "truth/truth.csv",
        "truth/outcomes.csv",
        "truth/noise.csv",
        "synth.json",
    ] {
        assert_eq!(fs::read(a.join(file)).unwrap(), fs::read(b.join(file)).unwrap(), "{file} differs for one seed");
    }
    assert_ne!(fs::read(a.join("registry/registry.csv")).unwrap(), fs::read(c.join("registry/registry.csv")).unwrap());
    let big = fs::read_to_string(a.join("truth/truth.csv")).unwrap();
    let registry_small: Vec<String> = truth(&small).into_iter().filter(|t| t.0 == "registry").map(|t| t.1).collect();
    let registry_big: Vec<String> = truth(&a).into_iter().filter(|t| t.0 == "registry").map(|t| t.1).collect();
    assert!(!big.is_empty());
    assert_eq!(registry_small[..], registry_big[..registry_small.len()], "a smaller run is a prefix of a larger one");
}

#[test]
fn every_noise_kind_appears_at_its_configured_rate() {
    let g = municipality();
    let rates = &g.summary.config.noise;
    for kind in NoiseKind::ALL {
        let c = g.summary.noise.departments.get(&kind).copied().unwrap_or_default();
        let p = rates.rate(kind);
        assert!(c.eligible >= 200, "{} had only {} eligible values", kind.as_str(), c.eligible);
        assert!(c.applied > 0, "{} never applied", kind.as_str());
        let observed = c.applied as f64 / c.eligible as f64;
        let sd = (p * (1.0 - p) / c.eligible as f64).sqrt();
        assert!(
            (observed - p).abs() <= 4.5 * sd,
            "{}: observed {observed:.4} over {} values, configured {p}",
            kind.as_str(),
            c.eligible
        );
    }
    // the registry is the clean spine: a tenth of the rates, never stale
    let reg = &g.summary.noise.registry;
    assert!(!reg.contains_key(&NoiseKind::StaleSurname) && !reg.contains_key(&NoiseKind::StaleAddress));
    let kana = reg[&NoiseKind::KanaScript];
    assert!((kana.applied as f64 / kana.eligible as f64) < rates.rate(NoiseKind::KanaScript) / 3.0);
}

/// The ledger is only useful if what it lists is visible in the extracts.
#[test]
fn noise_ledger_entries_are_visible_in_the_extracts() {
    let g = municipality();
    let mut ledger: HashMap<(String, String), Vec<(String, String)>> = HashMap::new();
    let mut r = csv::Reader::from_path(g.out.join("truth/noise.csv")).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        ledger
            .entry((rec[0].to_string(), rec[1].to_string()))
            .or_default()
            .push((rec[2].to_string(), rec[3].to_string()));
    }
    let gaiji: Vec<char> = GAIJI.iter().filter(|(s, g)| s != g).map(|(_, g)| *g).collect();
    let mut checked: BTreeMap<&str, usize> = BTreeMap::new();
    let is_fullwidth_digit = |c: char| ('０'..='９').contains(&c);
    let is_halfwidth_kana = |c: char| ('ｦ'..='ﾟ').contains(&c);
    let is_hiragana = |c: char| ('ぁ'..='ゖ').contains(&c);
    for (dept, id_col, name_col, kana_col, addr_col, native_kana) in [
        ("welfare", "受給者番号", "氏名", "フリガナ", "住所", "katakana"),
        ("health", "管理番号", "氏名", "カナ氏名", "住所", "halfwidth"),
        ("education", "児童生徒番号", "児童生徒氏名", "ふりがな", "住所", "hiragana"),
        ("nursery", "園児番号", "氏名", "カナ", "住所", "katakana"),
    ] {
        for row in read_extract(&g.out, dept) {
            let Some(events) = ledger.get(&(dept.to_string(), row[id_col].clone())) else { continue };
            let name = &row[name_col];
            let kana = &row[kana_col];
            let addr = &row[addr_col];
            for (field, kind) in events {
                let ok = match (kind.as_str(), field.as_str()) {
                    ("gaiji", _) if dept == "welfare" || dept == "health" => name.contains('?'),
                    ("gaiji", _) => name.chars().any(|c| gaiji.contains(&c)),
                    ("fullwidth_digits", "address") => addr.chars().any(is_fullwidth_digit),
                    ("missing_value", "address") => addr.is_empty(),
                    ("missing_value", "kana") => kana.is_empty(),
                    ("kana_script", _) if !kana.is_empty() => match native_kana {
                        "halfwidth" => !kana.chars().all(|c| is_halfwidth_kana(c) || c == ' '),
                        "hiragana" => !kana.chars().all(|c| is_hiragana(c) || c == ' ' || c == '　' || c == 'ー'),
                        _ => kana.chars().any(|c| is_hiragana(c) || is_halfwidth_kana(c)),
                    },
                    _ => continue,
                };
                assert!(ok, "{dept} record {}: ledger says {kind} on {field}, not visible", row[id_col]);
                *checked.entry(if kind == "kana_script" { "kana_script" } else { "other" }).or_default() += 1;
            }
        }
    }
    assert!(checked.values().sum::<usize>() > 300, "too few ledger entries checked: {checked:?}");
}

#[test]
fn population_matches_its_model() {
    let g = municipality();
    let p = &g.summary.population;
    let twins = p.twin_pairs as f64 / p.births as f64;
    assert!((0.004..0.02).contains(&twins), "twin births {twins}");
    let outside = p.outside_registry_households as f64 / HOUSEHOLDS as f64;
    assert!((0.01..0.03).contains(&outside), "outside registry {outside}");
    assert!(p.surname_changed_persons > 0 && p.moved_within_households > 0);

    let mut r = csv::Reader::from_path(g.out.join("truth/outcomes.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    let share = |col: usize, rows: &[&csv::StringRecord]| {
        rows.iter().filter(|r| &r[col] == "1").count() as f64 / rows.len() as f64
    };
    let all: Vec<&csv::StringRecord> = rows.iter().collect();
    let single: Vec<&csv::StringRecord> = rows.iter().filter(|r| &r[6] == "1").collect();
    let pupils: Vec<&csv::StringRecord> = rows.iter().filter(|r| !r[5].is_empty()).collect();
    // 子どもの貧困率 11.5%, ひとり親 44.5% (国民生活基礎調査 2022), 不登校 ~3.7% of pupils (MEXT R5)
    assert!((0.09..0.14).contains(&share(3, &all)), "child poverty {}", share(3, &all));
    assert!((0.33..0.56).contains(&share(3, &single)), "single-parent poverty {}", share(3, &single));
    assert!((0.02..0.055).contains(&share(5, &pupils)), "school refusal {}", share(5, &pupils));
    let districts: BTreeSet<&str> = rows.iter().map(|r| r.get(2).unwrap()).collect();
    assert_eq!(districts.len(), synthetic_data::municipality::DISTRICTS.len());
}

#[test]
fn twins_share_birth_date_and_address_but_are_different_people() {
    let g = municipality();
    let rows = read_extract(&g.out, "registry");
    let mut groups: HashMap<(String, String, String), Vec<&Row>> = HashMap::new();
    for r in rows.iter().filter(|r| r["続柄"] == "子") {
        groups.entry((r["世帯番号"].clone(), r["生年月日"].clone(), r["住所"].clone())).or_default().push(r);
    }
    let twins: Vec<_> = groups.values().filter(|v| v.len() >= 2).collect();
    assert!(!twins.is_empty(), "no twins among {HOUSEHOLDS} households");
    for t in twins {
        assert_ne!(t[0]["宛名番号"], t[1]["宛名番号"]);
        assert_ne!(t[0]["名"], t[1]["名"], "twins have different given names");
    }
}

#[test]
fn education_has_no_resident_id_and_real_date_cells() {
    let g = municipality();
    let rows = read_extract(&g.out, "education");
    assert!(!rows[0].contains_key("宛名番号"));
    assert!(
        rows.iter()
            .filter(|r| !r["生年月日"].is_empty())
            .all(|r| r["生年月日"].len() == 10 && r["生年月日"].starts_with("20"))
    );
}

#[test]
fn refuses_a_non_empty_output_folder_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("keep.txt"), "x").unwrap();
    let err = generate(&SynthConfig { households: 5, ..SynthConfig::default() }, dir.path(), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1);
    // no staging folder is left beside it either
    let siblings = fs::read_dir(dir.path().parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".mimamori-synth-"))
        .count();
    assert_eq!(siblings, 0);
}
