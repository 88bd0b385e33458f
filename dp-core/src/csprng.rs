//! The random source of every privacy mechanism: ChaCha20, a cryptographically secure
//! generator, seeded from the operating system. Tests may fix a seed; releases never do.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct EntropyError(String);

/// A generator seeded with 256 bits from the operating system.
pub fn os_seeded() -> Result<ChaCha20Rng, EntropyError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| EntropyError(e.to_string()))?;
    Ok(ChaCha20Rng::from_seed(seed))
}

/// A generator with a fixed seed, for reproducible tests of the samplers only.
pub fn seeded_for_tests(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}
