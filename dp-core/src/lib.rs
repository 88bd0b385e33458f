//! Differential privacy for aggregates released outside the municipality: exact discrete
//! Laplace and Gaussian samplers on a CSPRNG, bounded-contribution mechanisms, partition
//! selection, pure-ε and zCDP accountants, and a crash-safe budget ledger.
//!
//! This crate depends on nothing else in the workspace. Its contents arrive with the dp-core
//! issue; until then it exports nothing, and no verb releases aggregates.
