//! Runs the indicators over the workspace catalog into one row of flags per child.
//!
//! The population is the union of the `population` queries of the departments present; a
//! household-level indicator flags every child of the household (siblings and parents share
//! it); households that an `exclude` indicator names (e.g. moved out) are dropped. An
//! indicator whose department is missing is reported unavailable, never silently scored as 0.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use arrow_array::{Array, UInt64Array};
use arrow_schema::DataType;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::indicator::{Indicator, Level, Use};

#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    #[error("indicator {name} ({file}) does not plan: {message}")]
    Plan { name: String, file: String, message: String },
    /// The query names a column no extract here has: the indicator is unavailable, not wrong.
    #[error("indicator {name}: {message}")]
    MissingColumn { name: String, message: String },
    #[error("indicator {name} failed while running (the message is withheld: it may quote data values)")]
    Run { name: String },
    #[error("indicator {name}: {message}")]
    Shape { name: String, message: String },
    #[error("no population query could run: the workspace has none of the departments {0}")]
    NoPopulation(String),
}

/// Whether an indicator could be computed here, and how many it flagged.
#[derive(Clone, Debug, Serialize)]
pub struct IndicatorStatus {
    pub name: String,
    pub label: String,
    pub uses: Vec<Use>,
    pub departments: Vec<String>,
    pub available: bool,
    /// Why not, when unavailable.
    pub missing: Option<String>,
    /// Persons or households flagged (before the population is applied).
    pub flagged: u64,
    pub level: Level,
    pub digest: String,
}

/// One scored child.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Child {
    pub person_id: u64,
    pub household_id: u64,
}

/// The flags of every child of the population.
#[derive(Clone, Debug)]
pub struct Features {
    pub children: Vec<Child>,
    /// District (小学校区) of each household, from the registry; absent for households outside it.
    pub district: HashMap<u64, String>,
    /// Names of the feature indicators available, in column order.
    pub names: Vec<String>,
    /// `children.len() × names.len()` flags, row by row.
    pub flags: Vec<bool>,
    /// The first `own` names are the indicators themselves; the rest are derived sibling flags.
    pub own: usize,
    /// The scorecard's points for each own flag (one each unless a scorecard says otherwise).
    pub points_per_flag: Vec<u32>,
    /// Households with a known case (e.g. 要対協).
    pub known: HashSet<u64>,
    /// Households per fairness group (indicator name → households).
    pub groups: BTreeMap<String, HashSet<u64>>,
    /// Households per eligibility condition and per feature (for the supports' rules).
    pub household_flags: BTreeMap<String, HashSet<u64>>,
    pub status: Vec<IndicatorStatus>,
    /// Households dropped by `exclude` indicators.
    pub excluded_households: usize,
}

impl Features {
    pub fn row(&self, i: usize) -> &[bool] {
        let p = self.names.len();
        &self.flags[i * p..(i + 1) * p]
    }

    /// The rule-based scorecard's points of child i: the points of its own indicator flags
    /// (sibling flags are the model's, not the scorecard's).
    pub fn points(&self, i: usize) -> u32 {
        self.row(i)[..self.own].iter().zip(&self.points_per_flag).filter(|(f, _)| **f).map(|(_, p)| p).sum()
    }

    /// Indices of the children of each household, households in ascending order.
    pub fn households(&self) -> BTreeMap<u64, Vec<usize>> {
        let mut h: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, c) in self.children.iter().enumerate() {
            h.entry(c.household_id).or_default().push(i);
        }
        h
    }

    /// The departments whose indicators could not run, for reports.
    pub fn unavailable(&self) -> Vec<&IndicatorStatus> {
        self.status.iter().filter(|s| !s.available).collect()
    }
}

/// The derived feature of a person-level indicator: a sibling has it.
pub fn sibling_name(indicator: &str) -> String {
    format!("sibling_{indicator}")
}

/// The reason shown for a feature (derived sibling features included).
pub fn reason_of(feature: &str, indicators: &[Indicator]) -> Option<String> {
    if let Some(i) = indicators.iter().find(|i| i.name == feature) {
        return i.reason.clone();
    }
    let base = feature.strip_prefix("sibling_")?;
    let i = indicators.iter().find(|i| i.name == base && i.level == Level::Person)?;
    i.reason.as_ref().map(|r| format!("きょうだいについて: {r}"))
}

/// What the workspace holds: department → its columns.
pub type Available = BTreeMap<String, BTreeSet<String>>;

fn missing(ind: &Indicator, available: &Available) -> Option<String> {
    let absent: Vec<&str> =
        ind.departments.iter().filter(|d| !available.contains_key(*d)).map(String::as_str).collect();
    // an indicator over several departments runs when one of them is present only if it says
    // so by `requires`; by default every department it reads must be there
    if !absent.is_empty() {
        return Some(format!("no extract of {}", absent.join(", ")));
    }
    for (d, c) in &ind.requires {
        if !available.get(d).is_some_and(|cols| cols.contains(c)) {
            return Some(format!("the {d} extract has no column {c}"));
        }
    }
    None
}

async fn run(ctx: &SessionContext, ind: &Indicator, as_of: chrono::NaiveDate) -> Result<Vec<Vec<u64>>, FeatureError> {
    let df = ctx.sql(&ind.sql_for(as_of)).await.map_err(|e| {
        // planning reads no data: its messages name only the query's text and the schema
        let message = e.strip_backtrace();
        let field_not_found = match e.find_root() {
            datafusion::error::DataFusionError::SchemaError(s, _) => {
                matches!(**s, datafusion::common::SchemaError::FieldNotFound { .. })
            }
            _ => false,
        };
        if field_not_found {
            FeatureError::MissingColumn { name: ind.name.clone(), message }
        } else {
            FeatureError::Plan { name: ind.name.clone(), file: format!("{}.sql", ind.name), message }
        }
    })?;
    let want = if ind.has(Use::Population) { 2 } else { 1 };
    let fields = df.schema().fields().len();
    if fields != want {
        return Err(FeatureError::Shape {
            name: ind.name.clone(),
            message: format!(
                "returns {fields} columns; expected {}",
                if want == 2 {
                    "person_id, household_id"
                } else if ind.level == Level::Person {
                    "person_id"
                } else {
                    "household_id"
                }
            ),
        });
    }
    let batches = df.collect().await.map_err(|_| FeatureError::Run { name: ind.name.clone() })?;
    let mut cols: Vec<Vec<u64>> = vec![Vec::new(); want];
    for b in batches {
        let arrays: Vec<_> = (0..want)
            .map(|i| arrow_cast::cast(b.column(i), &DataType::UInt64))
            .collect::<Result<_, _>>()
            .map_err(|_| FeatureError::Shape { name: ind.name.clone(), message: "ids are not integers".into() })?;
        let arrays: Vec<&UInt64Array> =
            arrays.iter().filter_map(|a| a.as_any().downcast_ref::<UInt64Array>()).collect();
        for row in 0..b.num_rows() {
            if arrays.iter().any(|a| a.is_null(row)) {
                continue;
            }
            for (c, a) in arrays.iter().enumerate() {
                cols[c].push(a.value(row));
            }
        }
    }
    Ok(cols)
}

/// The district of each household: the most frequent value of the registry's `district`
/// column among its members (ties to the smaller name).
async fn districts(ctx: &SessionContext, available: &Available) -> Result<HashMap<u64, String>, FeatureError> {
    let mut out = HashMap::new();
    let Some(cols) = available.get("registry") else { return Ok(out) };
    if !cols.contains("district") {
        return Ok(out);
    }
    let sql = "SELECT household_id, district, count(*) AS n FROM extracts.registry \
               WHERE household_id IS NOT NULL AND district IS NOT NULL GROUP BY household_id, district";
    let plan_err = |e: datafusion::error::DataFusionError| FeatureError::Plan {
        name: "district".into(),
        file: "(built in)".into(),
        message: e.to_string(),
    };
    let batches = ctx
        .sql(sql)
        .await
        .map_err(plan_err)?
        .collect()
        .await
        .map_err(|_| FeatureError::Run { name: "district".into() })?;
    let mut best: HashMap<u64, (i64, String)> = HashMap::new();
    for b in batches {
        let h = arrow_cast::cast(b.column(0), &DataType::UInt64)
            .map_err(|_| FeatureError::Run { name: "district".into() })?;
        let d = arrow_cast::cast(b.column(1), &DataType::Utf8)
            .map_err(|_| FeatureError::Run { name: "district".into() })?;
        let n = arrow_cast::cast(b.column(2), &DataType::Int64)
            .map_err(|_| FeatureError::Run { name: "district".into() })?;
        let (Some(h), Some(d), Some(n)) = (
            h.as_any().downcast_ref::<UInt64Array>(),
            d.as_any().downcast_ref::<arrow_array::StringArray>(),
            n.as_any().downcast_ref::<arrow_array::Int64Array>(),
        ) else {
            continue;
        };
        for r in 0..b.num_rows() {
            let (hh, dd, nn) = (h.value(r), d.value(r).to_string(), n.value(r));
            let e = best.entry(hh).or_insert((0, String::new()));
            if nn > e.0 || (nn == e.0 && dd < e.1) {
                *e = (nn, dd);
            }
        }
    }
    out.extend(best.into_iter().map(|(h, (_, d))| (h, d)));
    Ok(out)
}

/// Computes every indicator that the workspace's departments allow.
pub async fn compute(
    ctx: &SessionContext,
    indicators: &[Indicator],
    available: &Available,
    as_of: chrono::NaiveDate,
) -> Result<Features, FeatureError> {
    let mut status = Vec::new();
    let mut persons_of: BTreeMap<String, HashSet<u64>> = BTreeMap::new();
    let mut households_of: BTreeMap<String, HashSet<u64>> = BTreeMap::new();
    let mut population: BTreeSet<Child> = BTreeSet::new();
    let mut population_ran = false;
    for ind in indicators {
        let mut why = missing(ind, available);
        let mut flagged = 0;
        let ran = if why.is_none() {
            match run(ctx, ind, as_of).await {
                Ok(cols) => Some(cols),
                Err(FeatureError::MissingColumn { message, .. }) => {
                    why = Some(format!("an extract lacks a column it reads ({message})"));
                    None
                }
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        if let Some(cols) = ran {
            if ind.has(Use::Population) {
                population_ran = true;
                for (p, h) in cols[0].iter().zip(&cols[1]) {
                    population.insert(Child { person_id: *p, household_id: *h });
                }
                flagged = cols[0].len() as u64;
            } else {
                let set: HashSet<u64> = cols[0].iter().copied().collect();
                flagged = set.len() as u64;
                match ind.level {
                    Level::Person => persons_of.insert(ind.name.clone(), set),
                    Level::Household => households_of.insert(ind.name.clone(), set),
                };
            }
        }
        status.push(IndicatorStatus {
            name: ind.name.clone(),
            label: ind.label.clone(),
            uses: ind.uses.clone(),
            departments: ind.departments.clone(),
            available: why.is_none(),
            missing: why,
            flagged,
            level: ind.level,
            digest: ind.digest.clone(),
        });
    }
    if !population_ran {
        let depts: BTreeSet<&str> = indicators
            .iter()
            .filter(|i| i.has(Use::Population))
            .flat_map(|i| i.departments.iter().map(String::as_str))
            .collect();
        return Err(FeatureError::NoPopulation(depts.into_iter().collect::<Vec<_>>().join(", ")));
    }
    // a person found in two departments under two households (a linkage disagreement) is
    // scored once, in the household of its smallest id
    let mut seen = HashSet::new();
    let mut children: Vec<Child> = population.into_iter().filter(|c| seen.insert(c.person_id)).collect();

    // household membership of each person (for person-level indicators of groups and known cases)
    let household_of: HashMap<u64, u64> = children.iter().map(|c| (c.person_id, c.household_id)).collect();
    let households_flagged = |ind: &Indicator| -> HashSet<u64> {
        match ind.level {
            Level::Household => households_of.get(&ind.name).cloned().unwrap_or_default(),
            Level::Person => persons_of
                .get(&ind.name)
                .map(|s| s.iter().filter_map(|p| household_of.get(p).copied()).collect())
                .unwrap_or_default(),
        }
    };
    let available_inds: Vec<&Indicator> =
        indicators.iter().filter(|i| status.iter().any(|s| s.name == i.name && s.available)).collect();

    let mut excluded: HashSet<u64> = HashSet::new();
    for ind in available_inds.iter().filter(|i| i.has(Use::Exclude)) {
        excluded.extend(households_flagged(ind));
    }
    let before: HashSet<u64> = children.iter().map(|c| c.household_id).collect();
    children.retain(|c| !excluded.contains(&c.household_id));
    let after: HashSet<u64> = children.iter().map(|c| c.household_id).collect();

    let features: Vec<&Indicator> = available_inds.iter().copied().filter(|i| i.has(Use::Feature)).collect();
    // a person-level feature also gives every child a sibling flag: another child of the
    // household has it (siblings share a household's circumstances)
    let person_level: Vec<&Indicator> = features.iter().copied().filter(|i| i.level == Level::Person).collect();
    let mut names: Vec<String> = features.iter().map(|i| i.name.clone()).collect();
    let own = names.len();
    names.extend(person_level.iter().map(|i| sibling_name(&i.name)));
    let mut holders: HashMap<(&str, u64), usize> = HashMap::new();
    for f in &person_level {
        if let Some(set) = persons_of.get(&f.name) {
            for c in children.iter().filter(|c| set.contains(&c.person_id)) {
                *holders.entry((f.name.as_str(), c.household_id)).or_default() += 1;
            }
        }
    }
    let mut flags = Vec::with_capacity(children.len() * names.len());
    for c in &children {
        for f in &features {
            flags.push(match f.level {
                Level::Person => persons_of.get(&f.name).is_some_and(|s| s.contains(&c.person_id)),
                Level::Household => households_of.get(&f.name).is_some_and(|s| s.contains(&c.household_id)),
            });
        }
        for f in &person_level {
            let own = persons_of.get(&f.name).is_some_and(|s| s.contains(&c.person_id));
            let n = holders.get(&(f.name.as_str(), c.household_id)).copied().unwrap_or(0);
            flags.push(n > usize::from(own));
        }
    }
    let mut known = HashSet::new();
    for ind in available_inds.iter().filter(|i| i.has(Use::KnownCase)) {
        known.extend(households_flagged(ind));
    }
    let mut groups = BTreeMap::new();
    for ind in available_inds.iter().filter(|i| i.has(Use::Group)) {
        groups.insert(ind.name.clone(), households_flagged(ind));
    }
    let mut household_flags = BTreeMap::new();
    for ind in available_inds.iter().filter(|i| i.has(Use::Condition) || i.has(Use::Feature)) {
        household_flags.insert(ind.name.clone(), households_flagged(ind));
    }
    let district = districts(ctx, available).await?;
    Ok(Features {
        children,
        district,
        names,
        flags,
        own,
        points_per_flag: vec![1; own],
        known,
        groups,
        household_flags,
        status,
        excluded_households: before.len() - after.len(),
    })
}
