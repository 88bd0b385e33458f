//! Differential privacy for aggregates released outside the municipality.
//!
//! This crate depends on nothing else in the workspace and uses integer and rational arithmetic
//! only where privacy depends on it, so that no floating-point artefact can leak the true value
//! (Mironov 2012). What is here:
//!
//! - [`rational`]: exact non-negative rationals parsed from decimal or fraction strings;
//! - [`csprng`]: the random source (ChaCha20 seeded by the operating system; a fixed seed only
//!   for tests);
//! - [`sample`]: exact samplers of Bernoulli(exp(−γ)), the discrete Laplace and the discrete
//!   Gaussian distributions (Canonne, Kamath and Steinke 2020).
//!
//! - [`accountant`]: pure ε and ρ-zCDP composition, with ρ converted to (ε, δ);
//! - [`ledger`]: the per-purpose budget ledger, charged (fsynced) before a result is returned.
//!
//! - [`mechanism`]: count, sum, mean and histogram with bounded contribution, and partition
//!   selection, each stating its cost and its 95 % error bound.
//!
//! Releases outside the municipality go through the policy gateway (`mimamori query --external`),
//! which charges this crate's ledger before computing anything.

pub mod accountant;
pub mod csprng;
pub mod ledger;
pub mod mechanism;
pub mod rational;
pub mod sample;

pub use rational::Rational;
