//! Risk indicators (SQL over the linked workspace), a transparent calibrated model with reasons,
//! a fairness audit, and outreach lists sized to caseworker capacity.
//!
//! The flow, as `mimamori score` and `mimamori outreach` drive it:
//! 1. [`indicator`]: each indicator is one SQL file with a header (what it measures, its source
//!    department, the guideline it follows, the reason shown to caseworkers);
//! 2. [`features`]: the indicators are run over the workspace catalog into one row per child,
//!    household-level indicators spread to every child of the household;
//! 3. [`model`]: an L2-regularised logistic model on the indicator flags, cross-fitted by
//!    household and Platt-calibrated, so that every score is a sum of per-indicator
//!    contributions; [`evaluate`] measures it beside a rule-based scorecard;
//! 4. [`fairness`]: selection rate, precision, false-positive and false-negative rates by group;
//! 5. [`outreach`]: households ranked per district, cut to caseworker capacity, each with its
//!    reasons and the supports ([`supports`]) it may be eligible for but does not receive.
//!
//! The data only assists: lists go to people who decide, and no list labels a family.

pub mod evaluate;
pub mod fairness;
pub mod features;
pub mod indicator;
pub mod model;
pub mod outreach;
pub mod scorecard;
pub mod supports;
