//! Risk indicators (SQL over the linked workspace), a transparent calibrated model with reasons,
//! a fairness audit, and outreach lists sized to caseworker capacity.
//!
//! Its contents arrive with the risk-model issue; until then it exports nothing and
//! `mimamori demo` stops before scoring.
