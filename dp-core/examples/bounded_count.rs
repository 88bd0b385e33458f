//! Releases a bounded-contribution count R times, for comparing dp-core's mechanism with a peer
//! on an identical query: `bounded_count EPSILON K R < persons.txt`, one person id per line of
//! stdin (a person's lines beyond the first K are dropped); prints R noisy counts, one a line.

use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;

use dp_core::Rational;
use dp_core::mechanism::{Noise, count};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bounded_count EPSILON K R < persons.txt";
    let [epsilon, k, r] = args.as_slice() else {
        eprintln!("{usage}");
        return ExitCode::from(1);
    };
    let (Ok(epsilon), Ok(k), Ok(r)) = (epsilon.parse::<Rational>(), k.parse::<u32>(), r.parse::<u64>()) else {
        eprintln!("{usage}");
        return ExitCode::from(1);
    };
    let persons: Vec<String> = std::io::stdin().lock().lines().map_while(Result::ok).collect();
    let Ok(mut rng) = dp_core::csprng::os_seeded() else {
        eprintln!("the operating system's random source failed");
        return ExitCode::from(1);
    };
    let noise = Noise::Laplace { epsilon };
    let mut out = BufWriter::new(std::io::stdout().lock());
    for _ in 0..r {
        match count(&mut rng, persons.iter(), k, &noise) {
            Ok(release) => {
                if writeln!(out, "{}", release.value).is_err() {
                    return ExitCode::SUCCESS;
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
