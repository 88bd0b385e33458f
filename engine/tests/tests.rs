//! The `mimamori` binary as users and scripts run it: verbs, help, exit codes, files written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use linkage::mapping::{Format, Mapping};

mod gateway;
mod link;
mod portal;
mod pseudonymise;
mod risk;

fn mimamori() -> Command {
    Command::cargo_bin("mimamori").unwrap()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn help_explains_every_verb() {
    let out = mimamori().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for verb in ["demo", "synth", "init", "config", "score", "outreach", "reidentify", "query", "link"] {
        assert!(text.contains(verb), "--help lists {verb}");
    }
    for (verb, expect) in [
        ("demo", "--households"),
        ("synth", "truth.csv"),
        ("init", "never overwritten"),
        ("config", "--workspace"),
        ("score", "calibrated"),
        ("outreach", "two distinct reviewers"),
        ("reidentify", "outside the workspace"),
    ] {
        let out = mimamori().args([verb, "--help"]).output().unwrap();
        assert!(out.status.success(), "{verb} --help");
        let text = String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains(expect), "{verb} --help mentions {expect}");
    }
}

#[test]
fn bad_flags_are_user_errors_with_exit_1() {
    let out = mimamori().args(["synth", "--households", "ten", "--out", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("--households"), "{}", stderr_of(&out));
    let out = mimamori().args(["frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = mimamori().args(["synth", "--households", "0", "--out", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("at least 1"));
}

#[test]
fn synth_mappings_load_and_name_columns_the_extracts_have() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("city");
    let run = mimamori().args(["synth", "--households", "300", "--seed", "3", "--out"]).arg(&out).output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    for dept in synthetic_data::DEPARTMENTS {
        let mapping = Mapping::load(&out.join(dept).join(format!("{dept}.toml"))).unwrap();
        assert_eq!(mapping.department, dept);
        let source = mapping.source_path();
        assert!(source.exists(), "{} names {}", dept, source.display());
        let header = header_of(&source, mapping.format(), mapping.source.sheet.as_deref());
        let mut columns: Vec<&str> = mapping.identity.columns().iter().map(|(_, c)| c.get_ref().as_str()).collect();
        columns.extend(mapping.attributes.values().map(|a| a.column.get_ref().as_str()));
        for c in columns {
            assert!(header.iter().any(|h| h == c), "{dept}: mapped column {c} is not in the extract");
        }
    }
}

fn header_of(path: &Path, format: Format, sheet: Option<&str>) -> Vec<String> {
    match format {
        Format::Csv => {
            let bytes = fs::read(path).unwrap();
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            let text = match std::str::from_utf8(bytes) {
                Ok(t) => t.to_string(),
                Err(_) => encoding_rs::SHIFT_JIS.decode(bytes).0.into_owned(),
            };
            let mut r = csv::Reader::from_reader(text.as_bytes());
            r.headers().unwrap().iter().map(str::to_string).collect()
        }
        Format::Xlsx => {
            use calamine::Reader;
            let mut wb: calamine::Xlsx<_> = calamine::open_workbook(path).unwrap();
            let range = wb.worksheet_range(sheet.unwrap_or("Sheet1")).unwrap();
            range.rows().next().unwrap().iter().map(|c| c.to_string()).collect()
        }
        Format::Parquet => {
            let file = fs::File::open(path).unwrap();
            let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
            builder.schema().fields().iter().map(|f| f.name().clone()).collect()
        }
    }
}

#[test]
fn synth_refuses_a_non_empty_folder_and_leaves_it_untouched() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let out = mimamori().args(["synth", "--households", "5", "--out"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("not empty"));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn unwritable_output_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let out = mimamori().args(["synth", "--households", "5", "--out"]).arg(file.join("city")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.starts_with("mimamori: ") && err.contains("a-file"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one message: {err}");
}

#[test]
fn init_writes_a_valid_config_and_never_overwrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let out = mimamori().args(["init", "--workspace"]).arg(&ws).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let written = fs::read_to_string(ws.join("mimamori.toml")).unwrap();
    assert!(ws.join("extracts").is_dir());

    let out = mimamori().args(["config", "--workspace"]).arg(&ws).args(["--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["districts"].as_array().unwrap().len(), 8);

    fs::write(ws.join("mimamori.toml"), "edited by the officer\n").unwrap();
    let out = mimamori().args(["init", "--workspace"]).arg(&ws).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("never overwritten"));
    assert_eq!(fs::read_to_string(ws.join("mimamori.toml")).unwrap(), "edited by the officer\n");
    assert!(!written.is_empty());
}

#[test]
fn a_broken_config_is_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    let text = engine::config::TEMPLATE.replace("role = \"caseworker\"", "role = \"case_worker\"");
    fs::write(ws.join("mimamori.toml"), &text).unwrap();
    let line = text.lines().position(|l| l.contains("case_worker")).unwrap() + 1;
    let out = mimamori().args(["config", "--workspace"]).arg(ws).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains(&format!("mimamori.toml:{line}:")), "{err}");
    assert!(err.contains("expected one of"), "{err}");

    let out = mimamori().args(["config", "--workspace"]).arg(dir.path().join("nowhere")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("mimamori init"));
}

#[test]
fn demo_writes_a_workspace_and_refuses_to_clobber_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("demo");
    let out = mimamori().args(["demo", "--households", "200", "--out"]).arg(&out_dir).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("where to look next"), "{text}");
    assert!(out_dir.join("workspace/mimamori.toml").is_file());
    assert!(out_dir.join("custodians/registry/registry.csv").is_file());
    assert!(out_dir.join("custodians/truth/truth.csv").is_file());
    for dept in synthetic_data::DEPARTMENTS {
        assert!(out_dir.join(format!("workspace/extracts/{dept}/records.parquet")).is_file(), "{dept} pseudonymised");
        assert!(out_dir.join(format!("custodians/vaults/{dept}.vault")).is_file(), "{dept} vault with its custodian");
    }
    let summary: serde_json::Value = serde_json::from_slice(&fs::read(out_dir.join("demo.json")).unwrap()).unwrap();
    assert_eq!(summary["households"], 200);

    let out = mimamori().args(["demo", "--households", "50", "--out"]).arg(&out_dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("--force"));
    let unchanged: serde_json::Value = serde_json::from_slice(&fs::read(out_dir.join("demo.json")).unwrap()).unwrap();
    assert_eq!(unchanged["households"], 200);

    let out = mimamori().args(["demo", "--households", "50", "--force", "--out"]).arg(&out_dir).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let replaced: serde_json::Value = serde_json::from_slice(&fs::read(out_dir.join("demo.json")).unwrap()).unwrap();
    assert_eq!(replaced["households"], 50);
    // nothing is left behind beside it
    let leftovers: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "demo")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn json_format_prints_one_document_and_progress_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = mimamori()
        .args(["synth", "--households", "600", "--format", "json", "--out"])
        .arg(dir.path().join("c"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["config"]["households"], 600);
    let err = stderr_of(&out);
    let last = err.lines().last().unwrap();
    let progress: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(progress["done"], 600);
}
