//! Record linkage for mimamori: how a custodian describes an extract ([`mapping`]), and — as
//! the pseudonymise and link issues land — Japanese-aware normalisation, keyed tokens, Bloom
//! encodings, blocking, comparisons, Fellegi–Sunter estimation and clustering.

pub mod compare;
pub mod encode;
pub mod extract;
pub mod link;
pub mod mapping;
pub mod model;
pub mod normalise;
pub mod pseudonymise;
pub mod source_position;
