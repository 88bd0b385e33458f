//! Cedar policies: the schema (`policies/schema.cedarschema`) and the default policy set
//! (`policies/default/*.cedar`) are compiled in and validated strictly against each other when
//! loaded; a workspace may replace the defaults with its own files, validated the same way.
//!
//! A query is authorised column by column: one request per scanned table and one per
//! (column, usage) pair the plan analysis found. Every request must be allowed; a denial names
//! the column, its usage and the reason annotated on the forbid policy that matched (or that no
//! policy permits it).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
    RestrictedExpression, Schema, ValidationMode, Validator,
};

use crate::analyse::{Analysis, BaseColumn, Use};
use crate::catalog::Catalog;

/// The schema, as shipped.
pub const SCHEMA: &str = include_str!("../schema.cedarschema");

/// The default policy files, as shipped: (file name, text).
pub const DEFAULT_POLICIES: &[(&str, &str)] = &[
    ("base.cedar", include_str!("../default/base.cedar")),
    ("officer.cedar", include_str!("../default/officer.cedar")),
    ("caseworker.cedar", include_str!("../default/caseworker.cedar")),
    ("reviewer.cedar", include_str!("../default/reviewer.cedar")),
    ("custodian.cedar", include_str!("../default/custodian.cedar")),
];

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the Cedar schema does not parse: {0}")]
    Schema(String),
    #[error("{file}: the policies do not parse: {message}")]
    Parse { file: String, message: String },
    #[error("the policies do not validate against the schema: {0}")]
    Invalid(String),
    #[error("a Cedar request could not be built: {0}")]
    Request(String),
}

/// Who asks.
#[derive(Clone, Debug)]
pub struct Principal {
    pub name: String,
    /// `data_linkage_officer`, `caseworker`, `reviewer` or `custodian`.
    pub role: String,
    pub districts: Vec<String>,
    pub department: Option<String>,
}

/// The purpose named with the request.
#[derive(Clone, Debug)]
pub struct PurposeContext {
    pub id: String,
    pub legal_basis: String,
    pub roles: Vec<String>,
}

/// The outcome of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Every reason, one per denied request.
    Deny(Vec<String>),
}

/// The loaded, validated policy set.
pub struct Policies {
    schema: Schema,
    set: PolicySet,
    authorizer: Authorizer,
}

fn uid(kind: &str, id: &str) -> Result<EntityUid, PolicyError> {
    let t = EntityTypeName::from_str(&format!("Mimamori::{kind}")).map_err(|e| PolicyError::Request(e.to_string()))?;
    Ok(EntityUid::from_type_name_and_id(t, EntityId::new(id)))
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_string())
}

fn strings<'a>(items: impl IntoIterator<Item = &'a String>) -> RestrictedExpression {
    RestrictedExpression::new_set(items.into_iter().map(|s| string(s)))
}

impl Policies {
    /// The schema and default policies shipped with mimamori.
    pub fn defaults() -> Result<Policies, PolicyError> {
        Policies::load(DEFAULT_POLICIES.iter().map(|(f, t)| (f.to_string(), t.to_string())))
    }

    /// The shipped schema with the given policy files (file name, text), validated strictly.
    pub fn load(files: impl IntoIterator<Item = (String, String)>) -> Result<Policies, PolicyError> {
        let (schema, _) = Schema::from_cedarschema_str(SCHEMA).map_err(|e| PolicyError::Schema(e.to_string()))?;
        let mut text = String::new();
        for (file, t) in files {
            // parse each file alone first, so that an error names its file
            PolicySet::from_str(&t).map_err(|e| PolicyError::Parse { file: file.clone(), message: e.to_string() })?;
            text.push_str(&t);
            text.push('\n');
        }
        let set = PolicySet::from_str(&text)
            .map_err(|e| PolicyError::Parse { file: "(all)".into(), message: e.to_string() })?;
        let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
        if !result.validation_passed() {
            let errors: Vec<String> = result.validation_errors().map(|e| e.to_string()).collect();
            return Err(PolicyError::Invalid(errors.join("; ")));
        }
        Ok(Policies { schema, set, authorizer: Authorizer::new() })
    }

    fn user(&self, p: &Principal) -> Result<Entity, PolicyError> {
        let attrs = HashMap::from([
            ("role".to_string(), string(&p.role)),
            ("districts".to_string(), strings(&p.districts)),
            ("department".to_string(), string(p.department.as_deref().unwrap_or(""))),
        ]);
        Entity::new(uid("User", &p.name)?, attrs, HashSet::from([uid("Role", &p.role)?]))
            .map_err(|e| PolicyError::Request(e.to_string()))
    }

    fn context(
        &self,
        purpose: &PurposeContext,
        usage: &str,
        aggregated: bool,
        external: bool,
        k: u32,
    ) -> Result<Context, PolicyError> {
        let p = RestrictedExpression::new_record([
            ("id".to_string(), string(&purpose.id)),
            ("legal_basis".to_string(), string(&purpose.legal_basis)),
            ("roles".to_string(), strings(&purpose.roles)),
        ])
        .map_err(|e| PolicyError::Request(e.to_string()))?;
        let pairs = [
            ("purpose".to_string(), p),
            ("usage".to_string(), string(usage)),
            ("aggregated".to_string(), RestrictedExpression::new_bool(aggregated)),
            ("external".to_string(), RestrictedExpression::new_bool(external)),
            ("min_group_size".to_string(), RestrictedExpression::new_long(i64::from(k))),
        ];
        // the request is validated against the schema (context included) when it is built
        Context::from_pairs(pairs).map_err(|e| PolicyError::Request(e.to_string()))
    }

    fn decide(
        &self,
        principal: &EntityUid,
        action: &EntityUid,
        resource: EntityUid,
        context: Context,
        entities: &Entities,
    ) -> Result<Option<String>, PolicyError> {
        let request = Request::new(principal.clone(), action.clone(), resource, context, Some(&self.schema))
            .map_err(|e| PolicyError::Request(e.to_string()))?;
        let response = self.authorizer.is_authorized(&request, &self.set, entities);
        if response.decision() == Decision::Allow {
            return Ok(None);
        }
        let reasons: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| {
                let name = self.set.annotation(id, "id").unwrap_or(id.as_ref());
                match self.set.annotation(id, "reason") {
                    Some(r) => format!("{r} (policy {name})"),
                    None => format!("policy {name}"),
                }
            })
            .collect();
        let errors: Vec<String> = response.diagnostics().errors().map(|e| e.to_string()).collect();
        Ok(Some(if !reasons.is_empty() {
            reasons.join("; ")
        } else if !errors.is_empty() {
            format!("a policy could not be evaluated: {}", errors.join("; "))
        } else {
            "no policy permits it".to_string()
        }))
    }

    /// Whether a column a query shows row by row, which the policies do not let this user see,
    /// may stand in the output masked instead (policy usage `output_masked`): the query then
    /// runs with NULL in the column's place.
    pub fn check_masking(
        &self,
        principal: &Principal,
        purpose: &PurposeContext,
        catalog: &Catalog,
        column: &BaseColumn,
        external: bool,
        k: u32,
    ) -> Result<bool, PolicyError> {
        let Some(meta) = catalog.table(&column.table) else { return Ok(false) };
        let Some(col) = meta.column(&column.column) else { return Ok(false) };
        let action = uid("Action", "query")?;
        let user = self.user(principal)?;
        let user_uid = user.uid();
        let cuid = uid("Column", &column.to_string())?;
        let table = Entity::new(
            uid("Table", &column.table)?,
            HashMap::from([
                ("department".to_string(), string(meta.department.as_deref().unwrap_or(""))),
                ("district_scoped".to_string(), RestrictedExpression::new_bool(meta.district_column.is_some())),
            ]),
            HashSet::new(),
        )
        .map_err(|e| PolicyError::Request(e.to_string()))?;
        let entity = Entity::new(
            cuid.clone(),
            HashMap::from([
                ("sensitivity".to_string(), string(col.sensitivity.as_str())),
                ("department".to_string(), string(meta.department.as_deref().unwrap_or(""))),
                ("district_scoped".to_string(), RestrictedExpression::new_bool(meta.district_column.is_some())),
            ]),
            HashSet::from([uid("Table", &column.table)?]),
        )
        .map_err(|e| PolicyError::Request(e.to_string()))?;
        let entities = Entities::from_entities(
            [user, Entity::new_no_attrs(uid("Role", &principal.role)?, HashSet::new()), table, entity],
            Some(&self.schema),
        )
        .map_err(|e| PolicyError::Request(e.to_string()))?;
        let ask = |usage: &str| -> Result<bool, PolicyError> {
            let context = self.context(purpose, usage, false, external, k)?;
            Ok(self.decide(&user_uid, &action, cuid.clone(), context, &entities)?.is_none())
        };
        Ok(!ask(Use::OutputRow.as_str())? && ask("output_masked")?)
    }

    /// Checks a query: the tables it scans and every (column, usage) pair.
    pub fn check_query(
        &self,
        principal: &Principal,
        purpose: &PurposeContext,
        analysis: &Analysis,
        catalog: &Catalog,
        external: bool,
        k: u32,
    ) -> Result<Verdict, PolicyError> {
        let action = uid("Action", "query")?;
        let user = self.user(principal)?;
        let user_uid = user.uid();
        let mut entities = vec![user, Entity::new_no_attrs(uid("Role", &principal.role)?, HashSet::new())];
        let mut requests: Vec<(EntityUid, String, String)> = Vec::new();
        let mut seen_tables = BTreeSet::new();
        for t in &analysis.tables {
            let Some(meta) = catalog.table(t) else { continue };
            let department = meta.department.clone().unwrap_or_default();
            let scoped = meta.district_column.is_some();
            let tuid = uid("Table", t)?;
            if seen_tables.insert(t.clone()) {
                let attrs = HashMap::from([
                    ("department".to_string(), string(&department)),
                    ("district_scoped".to_string(), RestrictedExpression::new_bool(scoped)),
                ]);
                entities.push(
                    Entity::new(tuid.clone(), attrs, HashSet::new())
                        .map_err(|e| PolicyError::Request(e.to_string()))?,
                );
                requests.push((tuid.clone(), format!("table {t}"), "scan".into()));
            }
        }
        let mut seen_columns = BTreeSet::new();
        for (c, u) in &analysis.uses {
            let Some(meta) = catalog.table(&c.table) else { continue };
            let Some(col) = meta.column(&c.column) else { continue };
            let cuid = uid("Column", &c.to_string())?;
            if seen_columns.insert(c.clone()) {
                let attrs = HashMap::from([
                    ("sensitivity".to_string(), string(col.sensitivity.as_str())),
                    ("department".to_string(), string(meta.department.as_deref().unwrap_or(""))),
                    ("district_scoped".to_string(), RestrictedExpression::new_bool(meta.district_column.is_some())),
                ]);
                entities.push(
                    Entity::new(cuid.clone(), attrs, HashSet::from([uid("Table", &c.table)?]))
                        .map_err(|e| PolicyError::Request(e.to_string()))?,
                );
            }
            requests.push((cuid, format!("{c} ({}) as {}", col.sensitivity, describe(*u)), u.as_str().into()));
        }
        let entities =
            Entities::from_entities(entities, Some(&self.schema)).map_err(|e| PolicyError::Request(e.to_string()))?;
        let mut denied = Vec::new();
        for (resource, what, usage) in requests {
            let context = self.context(purpose, &usage, analysis.aggregated, external, k)?;
            if let Some(reason) = self.decide(&user_uid, &action, resource, context, &entities)? {
                denied.push(format!("{what}: {reason}"));
            }
        }
        Ok(if denied.is_empty() { Verdict::Allow } else { Verdict::Deny(denied) })
    }

    /// Checks a verb other than query (`export`, `reidentify`, `approve`, `release`, `link`,
    /// `review_audit`) on the workspace as a whole.
    pub fn check_action(
        &self,
        principal: &Principal,
        purpose: &PurposeContext,
        action: &str,
        external: bool,
        k: u32,
    ) -> Result<Verdict, PolicyError> {
        let action_uid = uid("Action", action)?;
        let user = self.user(principal)?;
        let user_uid = user.uid();
        let ws = uid("Workspace", "workspace")?;
        let entities = Entities::from_entities(
            [
                user,
                Entity::new_no_attrs(uid("Role", &principal.role)?, HashSet::new()),
                Entity::new_no_attrs(ws.clone(), HashSet::new()),
            ],
            Some(&self.schema),
        )
        .map_err(|e| PolicyError::Request(e.to_string()))?;
        let context = self.context(purpose, action, false, external, k)?;
        Ok(match self.decide(&user_uid, &action_uid, ws, context, &entities)? {
            None => Verdict::Allow,
            Some(r) => Verdict::Deny(vec![format!("{action}: {r}")]),
        })
    }
}

/// A resource that belongs to one district: a household, or a district's list as a whole.
#[derive(Clone, Copy, Debug)]
pub enum DistrictResource<'a> {
    Household(u64),
    District(&'a str),
}

impl Policies {
    /// Checks `record_outcome` (or another household action) on one household of `district`.
    pub fn check_household_action(
        &self,
        principal: &Principal,
        purpose: &PurposeContext,
        action: &str,
        household: u64,
        district: &str,
        k: u32,
    ) -> Result<Verdict, PolicyError> {
        self.check_district_action(principal, purpose, action, DistrictResource::Household(household), district, k)
    }

    /// Checks `action` on a resource of `district` (a household of it, or the district itself).
    pub fn check_district_action(
        &self,
        principal: &Principal,
        purpose: &PurposeContext,
        action: &str,
        resource: DistrictResource,
        district: &str,
        k: u32,
    ) -> Result<Verdict, PolicyError> {
        let action_uid = uid("Action", action)?;
        let user = self.user(principal)?;
        let user_uid = user.uid();
        let (r, what) = match resource {
            DistrictResource::Household(h) => {
                (uid("Household", &h.to_string())?, format!("household {h} of district {district}"))
            }
            DistrictResource::District(d) => (uid("District", d)?, format!("district {d}")),
        };
        let attrs = HashMap::from([("district".to_string(), string(district))]);
        let entities = Entities::from_entities(
            [
                user,
                Entity::new_no_attrs(uid("Role", &principal.role)?, HashSet::new()),
                Entity::new(r.clone(), attrs, HashSet::new()).map_err(|e| PolicyError::Request(e.to_string()))?,
            ],
            Some(&self.schema),
        )
        .map_err(|e| PolicyError::Request(e.to_string()))?;
        let context = self.context(purpose, action, false, false, k)?;
        Ok(match self.decide(&user_uid, &action_uid, r, context, &entities)? {
            None => Verdict::Allow,
            Some(reason) => Verdict::Deny(vec![format!("{action} on {what}: {reason}")]),
        })
    }
}

fn describe(u: Use) -> &'static str {
    match u {
        Use::OutputRow => "output row by row",
        Use::OutputAggregate => "output in aggregates",
        Use::Group => "a grouping key",
        Use::Filter => "a filter",
        Use::Join => "a join key",
        Use::Presence => "a NULL test",
        Use::Count => "a counted column",
        Use::Order => "a sort key",
    }
}
