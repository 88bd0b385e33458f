//! The policy layer: Cedar policies over users, purposes and column sensitivity, and the plan
//! analyser that decides whether a query is allowed, rewritten or denied.
//!
//! Its contents arrive with the policy-gateway issue; until then it exports nothing and the
//! engine exposes no query verb, so there is no unchecked way to the data.
