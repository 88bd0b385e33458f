//! The policy layer of the mimamori gateway: what the workspace's tables hold (`catalog`), what
//! a query does with each column (`analyse`, a walk over DataFusion's logical plan), whether the
//! user may do it for the purpose named (`authorize`, Cedar policies), structural rules no
//! policy can relax (`rules`), and the rewrites an allowed query gets (`rewrite`: row filters,
//! minimum group size).

pub mod analyse;
pub mod authorize;
pub mod catalog;
pub mod rewrite;
pub mod rules;

pub use analyse::{Analysis, BaseColumn, Resolver, Use, analyse};
pub use authorize::{DistrictResource, Policies, PolicyError, Principal, PurposeContext, Verdict};
pub use catalog::{Catalog, ColumnMeta, KeyKind, Sensitivity, TableMeta};

#[cfg(test)]
mod tests;
