//! The portal (`mimamori serve`) and its users (`mimamori user add`): the CLI side here; the
//! pages in a real browser through `e2e/run` (Debian's chromium driven by playwright-core).

use std::process::Command as Process;

use super::mimamori;

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    mimamori().args(["init", "--workspace"]).arg(dir.path()).assert().success();
    dir
}

#[test]
fn user_add_sets_an_argon2id_hash_and_keeps_the_file_as_written() {
    let ws = workspace();
    let toml = ws.path().join("mimamori.toml");
    let before = std::fs::read_to_string(&toml).unwrap();
    mimamori()
        .args(["user", "add", "--workspace"])
        .arg(ws.path())
        .args(["--name", "reviewer1", "--password-stdin"])
        .write_stdin("a long enough passphrase\n")
        .assert()
        .success();
    let after = std::fs::read_to_string(&toml).unwrap();
    assert!(after.contains("password_hash = \"$argon2id$"), "the hash is written");
    assert!(!after.contains("a long enough passphrase"), "the password itself is not");
    // comments and every other line are kept
    let removed: Vec<&str> = before.lines().filter(|l| !after.lines().any(|a| a == *l)).collect();
    assert!(removed.is_empty(), "lines lost: {removed:?}");
    assert_eq!(after.lines().count(), before.lines().count() + 1);

    // setting it again replaces the hash in place
    mimamori()
        .args(["user", "add", "--workspace"])
        .arg(ws.path())
        .args(["--name", "reviewer1", "--password-stdin"])
        .write_stdin("another long passphrase\n")
        .assert()
        .success();
    let again = std::fs::read_to_string(&toml).unwrap();
    assert_eq!(again.matches("password_hash").count(), 1);
    assert_ne!(again, after);

    // a new caseworker with districts; the result is a valid configuration
    mimamori()
        .args(["user", "add", "--workspace"])
        .arg(ws.path())
        .args([
            "--name",
            "cw_new",
            "--role",
            "caseworker",
            "--district",
            "kita",
            "--display-name",
            "北地区担当2",
            "--password-stdin",
        ])
        .write_stdin("a third long passphrase\n")
        .assert()
        .success();
    let out = mimamori().args(["config", "--workspace"]).arg(ws.path()).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cw_new"));
    assert!(!text.contains("argon2"), "config never prints a hash");
    // the change is in the audit log, without the password
    let log = std::fs::read_to_string(ws.path().join("audit").join("log.jsonl")).unwrap();
    assert_eq!(log.matches("\"user_add\"").count(), 3);
    assert!(!log.contains("passphrase"));
}

#[test]
fn user_add_refuses_bad_input_and_leaves_the_file_alone() {
    let ws = workspace();
    let toml = ws.path().join("mimamori.toml");
    let before = std::fs::read(&toml).unwrap();
    let cases: [(&[&str], &str, &str); 5] = [
        (&["--name", "reviewer1", "--password-stdin"], "short\n", "at least 12"),
        (&["--name", "nobody", "--password-stdin"], "a long enough passphrase\n", "give --role"),
        (
            &["--name", "cw_x", "--role", "caseworker", "--password-stdin"],
            "a long enough passphrase\n",
            "needs districts",
        ),
        (
            &["--name", "cw_x", "--role", "caseworker", "--district", "atlantis", "--password-stdin"],
            "a long enough passphrase\n",
            "unknown district",
        ),
        (
            &["--name", "reviewer1", "--role", "caseworker", "--password-stdin"],
            "a long enough passphrase\n",
            "exists with role reviewer",
        ),
    ];
    for (args, input, expected) in cases {
        let out = mimamori()
            .args(["user", "add", "--workspace"])
            .arg(ws.path())
            .args(args)
            .write_stdin(input)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("passphrase"), "the password is never echoed");
        assert_eq!(std::fs::read(&toml).unwrap(), before, "{args:?} changed mimamori.toml");
    }
}

#[test]
fn serve_refuses_plain_http_beyond_loopback() {
    let ws = workspace();
    let out = mimamori()
        .args(["serve", "--workspace"])
        .arg(ws.path())
        .args(["--listen", "0.0.0.0:0", "--insecure-http"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    let out = mimamori().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--listen", "--tls-cert", "--tls-key", "--insecure-http", "--idle-timeout"] {
        assert!(help.contains(flag), "serve --help explains {flag}");
    }
}

/// Every role in headless Chromium: what it may see, district isolation by URL, CSRF, two
/// reviewers, the audit log of every page. Installs chromium (as root) and playwright-core.
#[test]
fn portal_in_a_real_browser() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("e2e").join("run");
    let out = Process::new("bash").arg(&script).env("MIMAMORI_BIN", env!("CARGO_BIN_EXE_mimamori")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the browser tests failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("# fail 0"), "{stdout}");
    assert!(!stdout.contains("# pass 0"), "no browser test ran: {stdout}");
}
