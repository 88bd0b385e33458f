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

/// Writes `text` to stdout; a closed pipe (`mimamori … | head`) is not an error.
pub fn print_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}
