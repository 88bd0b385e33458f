//! `mimamori.toml`: departments, districts with caseworker capacity, users with roles and
//! districts, purposes with their legal basis and DP budget. Validated at load; every error
//! points to the file, line and column and says what was expected.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use linkage::source_position::line_column;
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The commented configuration `mimamori init` writes.
pub const TEMPLATE: &str = include_str!("template.toml");

/// The file name inside a workspace.
pub const FILE_NAME: &str = "mimamori.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}; create it with `mimamori init --workspace DIR`")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid { path: PathBuf, line: usize, column: usize, message: String },
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    DataLinkageOfficer,
    Caseworker,
    Reviewer,
    Custodian,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::DataLinkageOfficer, Role::Caseworker, Role::Reviewer, Role::Custodian];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::DataLinkageOfficer => "data_linkage_officer",
            Role::Caseworker => "caseworker",
            Role::Reviewer => "reviewer",
            Role::Custodian => "custodian",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    municipality: Municipality,
    privacy: Privacy,
    #[serde(default)]
    outreach: Outreach,
    #[serde(rename = "department", default)]
    departments: Vec<RawDepartment>,
    #[serde(rename = "district", default)]
    districts: Vec<RawDistrict>,
    #[serde(rename = "user", default)]
    users: Vec<RawUser>,
    #[serde(rename = "purpose", default)]
    purposes: Vec<RawPurpose>,
    #[serde(default)]
    linkage: Option<Spanned<linkage::link::LinkConfig>>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Municipality {
    pub name: String,
    pub code: Spanned<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Privacy {
    pub min_group_size: Spanned<u32>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Cycle {
    Weekly,
    #[default]
    Monthly,
    Quarterly,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Outreach {
    #[serde(default)]
    pub cycle: Cycle,
    /// A household is listed only when its calibrated probability that a child needs support
    /// is at least this (the list may then be shorter than the capacity).
    #[serde(default = "default_min_probability")]
    pub min_probability: f64,
    /// Before outcomes are labelled (no model yet), households are ranked by the rule-based
    /// scorecard: listed only with at least this many indicator flags on one child.
    #[serde(default = "default_min_points")]
    pub min_points: u32,
    /// The fairness audit flags a group whose false-negative or false-positive rate differs
    /// from the rest's by more than this (and beyond the 95% intervals); such a list needs an
    /// explicit reviewer override.
    #[serde(default = "default_max_disparity")]
    pub max_disparity: f64,
    /// Cross-fitting folds and the seed of the fold assignment and tie-breaks.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_min_probability() -> f64 {
    0.3
}

fn default_min_points() -> u32 {
    2
}

fn default_max_disparity() -> f64 {
    0.10
}

fn default_seed() -> u64 {
    20_260_401
}

impl Default for Outreach {
    fn default() -> Self {
        Outreach {
            cycle: Cycle::default(),
            min_probability: default_min_probability(),
            min_points: default_min_points(),
            max_disparity: default_max_disparity(),
            seed: default_seed(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDepartment {
    name: Spanned<String>,
    label: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDistrict {
    id: Spanned<String>,
    name: Spanned<String>,
    caseworker_capacity: Spanned<u32>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    name: Spanned<String>,
    #[serde(default)]
    display_name: Option<String>,
    role: Spanned<String>,
    #[serde(default)]
    districts: Vec<Spanned<String>>,
    #[serde(default)]
    department: Option<Spanned<String>>,
    /// Argon2id PHC string set by `mimamori user add`; without it the user cannot log in to the
    /// portal (the CLI works as before).
    #[serde(default)]
    password_hash: Option<Spanned<String>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPurpose {
    id: Spanned<String>,
    label: String,
    legal_basis: Spanned<String>,
    approved_by: Spanned<String>,
    roles: Vec<Spanned<String>>,
    dp_epsilon: Spanned<String>,
    dp_delta: Spanned<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Department {
    pub name: String,
    pub label: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct District {
    pub id: String,
    pub name: String,
    pub caseworker_capacity: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct User {
    pub name: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub districts: Vec<String>,
    pub department: Option<String>,
    /// The portal password's Argon2id hash (never printed).
    #[serde(skip)]
    pub password_hash: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Purpose {
    pub id: String,
    pub label: String,
    pub legal_basis: String,
    pub approved_by: String,
    pub roles: Vec<Role>,
    /// Kept as written; dp-core parses it exactly.
    pub dp_epsilon: String,
    pub dp_delta: String,
}

/// A validated `mimamori.toml`.
#[derive(Clone, Debug, Serialize)]
pub struct Config {
    pub municipality_name: String,
    pub municipality_code: String,
    pub min_group_size: u32,
    pub outreach_cycle: Cycle,
    /// `[outreach]` as written (cycle, probability floor, fairness bound, seed).
    pub outreach: Outreach,
    pub departments: Vec<Department>,
    pub districts: Vec<District>,
    pub users: Vec<User>,
    pub purposes: Vec<Purpose>,
    /// `[linkage]`: blocking rules, limits, threshold (defaults when absent).
    pub linkage: linkage::link::LinkConfig,
}

fn is_code_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A decimal like "1.0", "0.5", "1e-6": digits, one optional point, optional exponent.
fn is_decimal(s: &str) -> bool {
    let (mantissa, exponent) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (s, None),
    };
    let mantissa_ok = !mantissa.is_empty()
        && mantissa.chars().filter(|c| *c == '.').count() <= 1
        && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
        && mantissa.chars().any(|c| c.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

fn is_zero(s: &str) -> bool {
    let mantissa = s.split(['e', 'E']).next().unwrap_or(s);
    mantissa.chars().all(|c| c == '0' || c == '.')
}

impl Config {
    /// Loads `<workspace>/mimamori.toml`.
    pub fn load_workspace(workspace: &Path) -> Result<Config, ConfigError> {
        Config::load(&workspace.join(FILE_NAME))
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        Config::parse(&text, path)
    }

    /// Parses and validates `text`; `path` is used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let err = |offset: usize, message: String| {
            let (line, column) = line_column(text, offset);
            ConfigError::Invalid { path: path.to_path_buf(), line, column, message }
        };
        let raw: RawConfig = toml::from_str(text)
            .map_err(|e| err(e.span().map(|s| s.start).unwrap_or(0), e.message().trim().to_string()))?;

        let code = raw.municipality.code.get_ref();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(
                raw.municipality.code.span().start,
                "municipality code must be the 6-digit 全国地方公共団体コード, as a string".into(),
            ));
        }
        if *raw.privacy.min_group_size.get_ref() < 2 {
            return Err(err(
                raw.privacy.min_group_size.span().start,
                "min_group_size must be at least 2 (10 or more is usual)".into(),
            ));
        }

        let mut departments = Vec::new();
        let mut seen = BTreeSet::new();
        for d in &raw.departments {
            let name = d.name.get_ref();
            if !is_code_name(name) {
                return Err(err(d.name.span().start, "department name must be lowercase letters, digits and _".into()));
            }
            if !seen.insert(name.clone()) {
                return Err(err(d.name.span().start, format!("department `{name}` is listed twice")));
            }
            departments.push(Department { name: name.clone(), label: d.label.clone() });
        }
        if departments.is_empty() {
            return Err(err(0, "at least one [[department]] is expected".into()));
        }

        let mut districts = Vec::new();
        let (mut ids, mut names) = (BTreeSet::new(), BTreeSet::new());
        for d in &raw.districts {
            let id = d.id.get_ref();
            if !is_code_name(id) {
                return Err(err(d.id.span().start, "district id must be lowercase letters, digits and _".into()));
            }
            if !ids.insert(id.clone()) {
                return Err(err(d.id.span().start, format!("district `{id}` is listed twice")));
            }
            if !names.insert(d.name.get_ref().clone()) {
                return Err(err(d.name.span().start, "two districts have the same name".into()));
            }
            if *d.caseworker_capacity.get_ref() == 0 {
                return Err(err(
                    d.caseworker_capacity.span().start,
                    "caseworker_capacity must be at least 1 household per cycle".into(),
                ));
            }
            districts.push(District {
                id: id.clone(),
                name: d.name.get_ref().clone(),
                caseworker_capacity: *d.caseworker_capacity.get_ref(),
            });
        }
        if districts.is_empty() {
            return Err(err(0, "at least one [[district]] is expected".into()));
        }

        let parse_role = |r: &Spanned<String>| -> Result<Role, ConfigError> {
            Role::ALL.into_iter().find(|x| x.as_str() == r.get_ref()).ok_or_else(|| {
                let expected: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                err(r.span().start, format!("unknown role `{}`; expected one of {}", r.get_ref(), expected.join(", ")))
            })
        };

        let mut users = Vec::new();
        let mut user_names = BTreeSet::new();
        for u in &raw.users {
            let name = u.name.get_ref();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)) {
                return Err(err(u.name.span().start, "user name must be ASCII letters, digits, _ . or -".into()));
            }
            if !user_names.insert(name.clone()) {
                return Err(err(u.name.span().start, format!("user `{name}` is listed twice")));
            }
            let role = parse_role(&u.role)?;
            for d in &u.districts {
                if !ids.contains(d.get_ref()) {
                    let known: Vec<&str> = districts.iter().map(|d| d.id.as_str()).collect();
                    return Err(err(
                        d.span().start,
                        format!("unknown district `{}`; expected one of {}", d.get_ref(), known.join(", ")),
                    ));
                }
            }
            if role == Role::Caseworker && u.districts.is_empty() {
                return Err(err(u.role.span().start, format!("caseworker `{name}` needs districts = [\"…\"]")));
            }
            if role != Role::Caseworker && !u.districts.is_empty() {
                return Err(err(u.districts[0].span().start, "only caseworkers are assigned districts".into()));
            }
            match (&u.department, role) {
                (None, Role::Custodian) => {
                    return Err(err(u.role.span().start, format!("custodian `{name}` needs department = \"…\"")));
                }
                (Some(d), Role::Custodian) if !seen.contains(d.get_ref()) => {
                    return Err(err(d.span().start, format!("unknown department `{}`", d.get_ref())));
                }
                (Some(d), r) if r != Role::Custodian => {
                    return Err(err(d.span().start, "only custodians belong to a department".into()));
                }
                _ => {}
            }
            if let Some(h) = &u.password_hash
                && !h.get_ref().starts_with("$argon2id$")
            {
                return Err(err(
                    h.span().start,
                    "password_hash must be an Argon2id hash; set it with `mimamori user add`".into(),
                ));
            }
            users.push(User {
                password_hash: u.password_hash.as_ref().map(|h| h.get_ref().clone()),
                name: name.clone(),
                display_name: u.display_name.clone(),
                role,
                districts: u.districts.iter().map(|d| d.get_ref().clone()).collect(),
                department: u.department.as_ref().map(|d| d.get_ref().clone()),
            });
        }

        let mut purposes = Vec::new();
        let mut purpose_ids = BTreeSet::new();
        for p in &raw.purposes {
            let id = p.id.get_ref();
            if !is_code_name(id) {
                return Err(err(p.id.span().start, "purpose id must be lowercase letters, digits and _".into()));
            }
            if !purpose_ids.insert(id.clone()) {
                return Err(err(p.id.span().start, format!("purpose `{id}` is listed twice")));
            }
            for field in [&p.legal_basis, &p.approved_by] {
                if field.get_ref().trim().is_empty() {
                    return Err(err(
                        field.span().start,
                        "a purpose needs its legal basis and who approved it (個人情報保護法 第69条)".into(),
                    ));
                }
            }
            let roles = p.roles.iter().map(parse_role).collect::<Result<Vec<_>, _>>()?;
            if roles.is_empty() {
                return Err(err(p.id.span().start, "a purpose needs roles = [\"…\"]".into()));
            }
            let eps = p.dp_epsilon.get_ref();
            if !is_decimal(eps) || is_zero(eps) {
                return Err(err(
                    p.dp_epsilon.span().start,
                    "dp_epsilon must be a positive decimal string such as \"1.0\"".into(),
                ));
            }
            let delta = p.dp_delta.get_ref();
            let delta_ok = is_decimal(delta) && delta.parse::<f64>().is_ok_and(|d| (0.0..1.0).contains(&d));
            if !delta_ok {
                return Err(err(
                    p.dp_delta.span().start,
                    "dp_delta must be a decimal string in [0, 1) such as \"0\" or \"1e-7\"".into(),
                ));
            }
            purposes.push(Purpose {
                id: id.clone(),
                label: p.label.clone(),
                legal_basis: p.legal_basis.get_ref().clone(),
                approved_by: p.approved_by.get_ref().clone(),
                roles,
                dp_epsilon: eps.clone(),
                dp_delta: delta.clone(),
            });
        }

        let linkage = match &raw.linkage {
            Some(l) => {
                l.get_ref().validate().map_err(|m| err(l.span().start, format!("[linkage]: {m}")))?;
                l.get_ref().clone()
            }
            None => linkage::link::LinkConfig::default(),
        };
        Ok(Config {
            linkage,
            municipality_name: raw.municipality.name,
            municipality_code: code.clone(),
            min_group_size: *raw.privacy.min_group_size.get_ref(),
            outreach_cycle: raw.outreach.cycle,
            outreach: raw.outreach.clone(),
            departments,
            districts,
            users,
            purposes,
        })
    }
}

#[cfg(test)]
mod tests;
