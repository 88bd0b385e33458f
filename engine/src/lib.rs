//! The mimamori engine: workspace configuration, the verbs of the `mimamori` binary, and — as
//! later issues land — the catalog, policy gateway, audit log, keys and vaults, and the portal.

pub mod audit;
pub mod catalog;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod gate;
pub mod gateway;
pub mod keys;
pub mod portal;
mod progress;
pub mod released;
pub mod risk;
mod staging;
pub mod vault;
pub mod verbs;

use std::io::Write;

/// Exit codes (contract): 0 success, 1 user error, 2 denied by policy.
pub mod exit {
    pub const OK: i32 = 0;
    pub const USER_ERROR: i32 = 1;
    pub const DENIED: i32 = 2;
}

/// What the binary prints when it panics: where, never the panic's message, which may quote a
/// value it was handling (a slice of a name or an address).
pub fn panic_report(location: Option<&std::panic::Location<'_>>) -> String {
    let at = location.map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
    format!(
        "mimamori: internal error{at}. Its message is not shown, as it may quote a value of the extract. \
         Please report the command that was run and this line."
    )
}

/// Writes `text` to stdout; a closed pipe (`mimamori … | head`) is not an error.
pub fn print_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    /// A panic is reported by where it happened only: the report is built without the panic's
    /// message, so a value it quotes cannot reach stderr.
    #[test]
    fn a_panic_report_says_where_and_holds_no_message() {
        let here = std::panic::Location::caller();
        let report = super::panic_report(Some(here));
        assert!(report.contains(&format!("{}:{}", here.file(), here.line())), "{report}");
        assert!(report.starts_with("mimamori: internal error"), "{report}");
        assert!(super::panic_report(None).starts_with("mimamori: internal error. "));
    }
}
