//! Prints N samples of a dp-core sampler, one per line, for checking the samplers independently
//! (contract): `cargo run --release -p dp-core --example sample -- MECH SCALE N`
//!
//! MECH is `discrete-laplace` (P(x) ∝ exp(−|x|/SCALE)) or `discrete-gaussian`
//! (P(x) ∝ exp(−x²/(2·SCALE²))); SCALE is a decimal or a fraction (2.5, 1e-1, 5/2). Samples come
//! from the operating system's entropy through ChaCha20, as in every release.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use dp_core::Rational;
use dp_core::sample::{discrete_gaussian, discrete_laplace};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: sample discrete-laplace|discrete-gaussian SCALE N";
    let [mech, scale, n] = args.as_slice() else {
        eprintln!("{usage}");
        return ExitCode::from(1);
    };
    let Ok(scale) = scale.parse::<Rational>() else {
        eprintln!("SCALE must be a positive decimal or fraction, e.g. 2.5 or 5/2\n{usage}");
        return ExitCode::from(1);
    };
    let Ok(n) = n.parse::<u64>() else {
        eprintln!("N must be a whole number\n{usage}");
        return ExitCode::from(1);
    };
    let sampler = match mech.as_str() {
        "discrete-laplace" => discrete_laplace::<rand_chacha::ChaCha20Rng>,
        "discrete-gaussian" => discrete_gaussian::<rand_chacha::ChaCha20Rng>,
        _ => {
            eprintln!("unknown MECH `{mech}`\n{usage}");
            return ExitCode::from(1);
        }
    };
    let mut rng = match dp_core::csprng::os_seeded() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    for _ in 0..n {
        match sampler(&mut rng, &scale) {
            Ok(x) => {
                if writeln!(out, "{x}").is_err() {
                    return ExitCode::SUCCESS; // a closed pipe is not an error
                }
            }
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(1);
            }
        }
    }
    let _ = out.flush();
    ExitCode::SUCCESS
}
