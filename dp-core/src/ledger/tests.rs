use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::*;

fn budget(eps: &str, delta: &str) -> Budget {
    Budget { epsilon: eps.parse().unwrap(), delta: delta.parse().unwrap() }
}

fn pure(eps: &str) -> Cost {
    Cost::Pure { epsilon: eps.parse().unwrap() }
}

#[test]
fn charges_until_exhausted_then_refuses_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::new(&dir.path().join("dp/ledger.jsonl"));
    let b = budget("1", "0");
    for i in 0..4 {
        ledger.charge("stats", &b, &format!("r{i}"), &pure("0.25")).unwrap();
    }
    let err = ledger.charge("stats", &b, "r4", &pure("0.25")).unwrap_err();
    assert!(err.to_string().contains("exhausted") && err.to_string().contains("stats"), "{err}");
    assert_eq!(ledger.releases().unwrap().len(), 4, "a refused release is not charged");
    // other purposes have their own budget
    ledger.charge("outreach", &b, "o1", &pure("1")).unwrap();
    assert!((ledger.spent("stats").unwrap().epsilon - 1.0).abs() < 1e-12);
}

#[test]
fn a_release_runs_only_after_its_charge() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::new(&dir.path().join("ledger.jsonl"));
    let b = budget("0.5", "0");
    let mut rng = crate::csprng::seeded_for_tests(9);
    let noise = crate::mechanism::Noise::Laplace { epsilon: "0.5".parse().unwrap() };
    let first = ledger
        .release("stats", &b, "r1", &noise.cost(), || crate::mechanism::count(&mut rng, 0..40, 1, &noise))
        .unwrap()
        .unwrap();
    assert!(first.value.abs_diff(40) <= 40);
    let mut ran = false;
    let refused = ledger.release("stats", &b, "r2", &noise.cost(), || ran = true);
    assert!(matches!(refused, Err(LedgerError::Exhausted { .. })));
    assert!(!ran, "nothing is computed for a refused release");
}

#[test]
fn a_torn_last_line_is_cut_off_and_a_damaged_line_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let ledger = Ledger::new(&path);
    ledger.charge("p", &budget("10", "0"), "r1", &pure("1")).unwrap();
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b"{\"purpose\":\"p\",\"rel").unwrap();
    drop(f);
    ledger.charge("p", &budget("10", "0"), "r2", &pure("1")).unwrap();
    let releases: Vec<String> = ledger.releases().unwrap().into_iter().map(|r| r.1).collect();
    assert_eq!(releases, ["r1", "r2"]);
    // a cost that does not parse is damage, not a zero charge
    std::fs::write(
        &path,
        "{\"purpose\":\"p\",\"release\":\"r\",\"epsilon\":\"abc\",\"delta\":\"0\",\"rho\":\"0\",\"at\":0}\n",
    )
    .unwrap();
    assert!(matches!(ledger.spent("p"), Err(LedgerError::Corrupt { line: 1, .. })));
    std::fs::write(&path, "not json\n").unwrap();
    assert!(matches!(
        ledger.charge("p", &budget("10", "0"), "r3", &pure("1")),
        Err(LedgerError::Corrupt { line: 1, .. })
    ));
}

/// Run as a child by `kill_minus_nine_never_loses_or_doubles_a_charge`: charges in a loop and
/// prints each release id once its charge has returned.
#[test]
fn crash_child() {
    let (Ok(path), Ok(prefix)) = (std::env::var("DP_LEDGER_CHILD"), std::env::var("DP_LEDGER_PREFIX")) else {
        return;
    };
    let ledger = Ledger::new(Path::new(&path));
    let out = std::io::stdout();
    for i in 0.. {
        let id = format!("{prefix}-{i}");
        if ledger.charge("stress", &budget("1000000000", "0"), &id, &pure("0.001")).is_ok() {
            let mut lock = out.lock();
            let _ = writeln!(lock, "charged {id}");
            let _ = lock.flush();
        }
    }
}

#[test]
fn kill_minus_nine_never_loses_or_doubles_a_charge() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let exe = std::env::current_exe().unwrap();
    let mut acknowledged = Vec::new();
    // kill children at varied moments until enough charges were acknowledged (a loaded machine
    // starts children slowly, so the number of runs adapts rather than the assertion)
    let mut run = 0u64;
    while run < 25 || (acknowledged.len() <= 50 && run < 400) {
        let mut child = Command::new(&exe)
            .args(["ledger::tests::crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env("DP_LEDGER_CHILD", &path)
            .env("DP_LEDGER_PREFIX", format!("run{run}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(20 + (run * 37) % 90));
        child.kill().unwrap(); // SIGKILL
        let stdout = child.stdout.take().unwrap();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(id) = line.strip_prefix("charged ") {
                acknowledged.push(id.to_string());
            }
        }
        let _ = child.wait();
        run += 1;
    }
    assert!(acknowledged.len() > 50, "the children charged only {} times", acknowledged.len());
    // one more charge repairs any torn tail; then every line must parse
    let ledger = Ledger::new(&path);
    ledger.charge("stress", &budget("1000000000", "0"), "final", &pure("0.001")).unwrap();
    let releases: Vec<String> = ledger.releases().unwrap().into_iter().map(|r| r.1).collect();
    let unique: HashSet<&String> = releases.iter().collect();
    assert_eq!(unique.len(), releases.len(), "no charge is counted twice");
    for id in &acknowledged {
        assert!(unique.contains(id), "acknowledged charge {id} was lost");
    }
}
