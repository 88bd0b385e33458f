//! The `mimamori` binary: parses the command line, runs one verb, maps errors to exit codes.

use clap::Parser;
use engine::cli::Cli;
use engine::exit;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors; bad flags are user errors (exit 1), not clap's 2
            let code = if e.use_stderr() { exit::USER_ERROR } else { exit::OK };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    // a panic's message may quote a value: only where it happened is printed
    std::panic::set_hook(Box::new(|info| eprintln!("{}", engine::panic_report(info.location()))));
    init_logging(cli.verbose);
    let code = match engine::verbs::run(cli.command) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("mimamori: {e:#}");
            if e.downcast_ref::<engine::gateway::Denied>().is_some() { exit::DENIED } else { exit::USER_ERROR }
        }
    };
    std::process::exit(code);
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // colours only on a terminal: a log redirected to a file stays plain text
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi)
        .init();
}
