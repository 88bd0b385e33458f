//! Probabilistic record linkage models.

pub mod fellegi_sunter;
