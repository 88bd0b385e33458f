//! Comparison of encoded fields between two records.

pub mod dice;
pub mod levels;
