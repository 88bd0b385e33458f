//! Indicators: one SQL file each, with a header that says what it measures.
//!
//! ```sql
//! -- indicator: checkup_3y_missed            (the file's name without .sql)
//! -- label: 3歳児健診の未受診                  (what reviewers read in tables)
//! -- reason: 3歳児健診が未受診                 (what a caseworker reads on a list; features only)
//! -- department: health                      (every department the query reads, comma separated)
//! -- requires: registry.nationality          (optional: columns that a workspace may lack)
//! -- level: person                           (person: returns person_id; household: household_id)
//! -- use: feature                            (feature, group, known_case, exclude, population, condition)
//! -- group: ひとり親世帯                      (with use group: the fairness audit's name of the group)
//! -- follows: 母子保健法 第12条 …             (the law, guideline or statistic it follows)
//! -- measures: …                             (one or more lines)
//! SELECT person_id FROM extracts.health WHERE …
//! ```
//!
//! `{as_of}` in the SQL is replaced by the scoring date (`YYYY-MM-DD`). The defaults ship in
//! `risk-model/indicators/`; a workspace may add or replace indicators in `<ws>/risk/indicators/`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

/// A malformed indicator file.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct IndicatorError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// What an indicator's query returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// `person_id` of each person who has it.
    Person,
    /// `household_id` of each household that has it; every child of the household has it.
    Household,
}

/// How an indicator is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Use {
    /// A flag of the model, shown as a reason when it raises the score.
    Feature,
    /// A group of the fairness audit.
    Group,
    /// A case already known and supported (e.g. 要対協): marked on lists, not rediscovered.
    KnownCase,
    /// Households not scored or listed (e.g. moved out).
    Exclude,
    /// Who is scored: each population query returns `person_id, household_id` of children.
    Population,
    /// A flag for the eligibility rules of supports only.
    Condition,
}

impl Use {
    fn parse(s: &str) -> Option<Use> {
        Some(match s {
            "feature" => Use::Feature,
            "group" => Use::Group,
            "known_case" => Use::KnownCase,
            "exclude" => Use::Exclude,
            "population" => Use::Population,
            "condition" => Use::Condition,
            _ => return None,
        })
    }
}

/// One indicator.
#[derive(Clone, Debug, Serialize)]
pub struct Indicator {
    pub name: String,
    pub label: String,
    /// Plain-Japanese reason for lists (features).
    pub reason: Option<String>,
    pub departments: Vec<String>,
    /// `department.column` pairs the query needs beyond the departments.
    pub requires: Vec<(String, String)>,
    pub level: Level,
    pub uses: Vec<Use>,
    /// The fairness audit's name of the group (use `group`).
    pub group: Option<String>,
    pub follows: String,
    pub measures: String,
    #[serde(skip)]
    pub sql: String,
    /// blake3 of the file, recorded in the audit log and in model.json.
    pub digest: String,
}

impl Indicator {
    pub fn has(&self, u: Use) -> bool {
        self.uses.contains(&u)
    }

    /// The query with `{as_of}` filled in.
    pub fn sql_for(&self, as_of: chrono::NaiveDate) -> String {
        self.sql.replace("{as_of}", &as_of.format("%Y-%m-%d").to_string())
    }

    /// Parses one indicator file; `file` names it in errors and gives the indicator its name.
    pub fn parse(file: &str, text: &str) -> Result<Indicator, IndicatorError> {
        let err = |line: usize, message: String| IndicatorError { file: file.to_string(), line, message };
        let stem = Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or(file).to_string();
        let mut fields: BTreeMap<String, (usize, String)> = BTreeMap::new();
        let mut last: Option<String> = None;
        let mut sql = String::new();
        let mut in_header = true;
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let trimmed = line.trim();
            if in_header {
                if let Some(rest) = trimmed.strip_prefix("--") {
                    let rest = rest.trim();
                    match rest.split_once(':') {
                        Some((k, v)) if !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_') => {
                            let k = k.to_string();
                            if fields.contains_key(&k) {
                                return Err(err(n, format!("`{k}` is given twice")));
                            }
                            fields.insert(k.clone(), (n, v.trim().to_string()));
                            last = Some(k);
                        }
                        // a continuation line of the previous field
                        _ => match &last {
                            Some(k) if !rest.is_empty() => {
                                if let Some((_, v)) = fields.get_mut(k) {
                                    v.push(' ');
                                    v.push_str(rest);
                                }
                            }
                            _ => {}
                        },
                    }
                    continue;
                }
                if trimmed.is_empty() {
                    continue;
                }
                in_header = false;
            }
            sql.push_str(line);
            sql.push('\n');
        }
        let get = |k: &str| fields.get(k).map(|(_, v)| v.clone());
        let need = |k: &str| {
            get(k).filter(|v| !v.is_empty()).ok_or_else(|| {
                err(1, format!("the header has no `-- {k}:` line (see risk-model/indicators/README.md)"))
            })
        };
        let name = need("indicator")?;
        if name != stem {
            let line = fields.get("indicator").map_or(1, |(l, _)| *l);
            return Err(err(line, format!("the indicator is named `{name}` but its file `{stem}.sql`")));
        }
        let level_line = fields.get("level").map_or(1, |(l, _)| *l);
        let level = match need("level")?.as_str() {
            "person" => Level::Person,
            "household" => Level::Household,
            other => return Err(err(level_line, format!("level `{other}`: expected person or household"))),
        };
        let use_line = fields.get("use").map_or(1, |(l, _)| *l);
        let mut uses = Vec::new();
        for u in need("use")?.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            uses.push(Use::parse(u).ok_or_else(|| {
                err(
                    use_line,
                    format!("use `{u}`: expected feature, group, known_case, exclude, population or condition"),
                )
            })?);
        }
        let departments: Vec<String> =
            need("department")?.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        let requires_line = fields.get("requires").map_or(1, |(l, _)| *l);
        let mut requires = Vec::new();
        for r in get("requires").unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (d, c) = r
                .split_once('.')
                .ok_or_else(|| err(requires_line, format!("requires `{r}`: expected department.column")))?;
            requires.push((d.to_string(), c.to_string()));
        }
        let reason = get("reason").filter(|r| !r.is_empty());
        if uses.contains(&Use::Feature) && reason.is_none() {
            return Err(err(1, "a feature needs a `-- reason:` line: what a caseworker reads on a list".into()));
        }
        let group = get("group").filter(|g| !g.is_empty());
        if uses.contains(&Use::Group) && group.is_none() {
            return Err(err(1, "use `group` needs a `-- group:` line naming the group".into()));
        }
        if uses.contains(&Use::Population) && level != Level::Person {
            return Err(err(level_line, "a population query is at person level (person_id, household_id)".into()));
        }
        if sql.trim().is_empty() {
            return Err(err(text.lines().count().max(1), "no SQL after the header".into()));
        }
        Ok(Indicator {
            name,
            label: need("label")?,
            reason,
            departments,
            requires,
            level,
            uses,
            group,
            follows: need("follows")?,
            measures: need("measures")?,
            sql,
            digest: blake3::hash(text.as_bytes()).to_hex().to_string(),
        })
    }
}

/// The indicators shipped with mimamori (`risk-model/indicators/*.sql`).
pub fn defaults() -> Result<Vec<Indicator>, IndicatorError> {
    DEFAULTS.iter().map(|(f, t)| Indicator::parse(&format!("risk-model/indicators/{f}"), t)).collect()
}

/// The defaults, with the workspace's own `*.sql` files in `dir` added or replacing defaults of
/// the same name. A missing `dir` means the defaults alone.
pub fn load(dir: &Path) -> Result<Vec<Indicator>, IndicatorError> {
    let mut all: BTreeMap<String, Indicator> = defaults()?.into_iter().map(|i| (i.name.clone(), i)).collect();
    if dir.is_dir() {
        let io =
            |e: std::io::Error| IndicatorError { file: dir.display().to_string(), line: 0, message: e.to_string() };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        for p in files {
            let text = std::fs::read_to_string(&p).map_err(|e| IndicatorError {
                file: p.display().to_string(),
                line: 0,
                message: e.to_string(),
            })?;
            let ind = Indicator::parse(&p.display().to_string(), &text)?;
            all.insert(ind.name.clone(), ind);
        }
    }
    Ok(all.into_values().collect())
}

const DEFAULTS: &[(&str, &str)] = &[
    ("address_differs.sql", include_str!("../indicators/address_differs.sql")),
    ("absence_10_29_days.sql", include_str!("../indicators/absence_10_29_days.sql")),
    ("absence_30_days.sql", include_str!("../indicators/absence_30_days.sql")),
    ("absence_rising.sql", include_str!("../indicators/absence_rising.sql")),
    ("checkup_18m_missed.sql", include_str!("../indicators/checkup_18m_missed.sql")),
    ("checkup_3y_missed.sql", include_str!("../indicators/checkup_3y_missed.sql")),
    ("checkup_4m_missed.sql", include_str!("../indicators/checkup_4m_missed.sql")),
    ("child_rearing_allowance.sql", include_str!("../indicators/child_rearing_allowance.sql")),
    ("children_consultation.sql", include_str!("../indicators/children_consultation.sql")),
    ("children_education.sql", include_str!("../indicators/children_education.sql")),
    ("children_health.sql", include_str!("../indicators/children_health.sql")),
    ("children_nursery.sql", include_str!("../indicators/children_nursery.sql")),
    ("children_registry.sql", include_str!("../indicators/children_registry.sql")),
    ("consultation_care.sql", include_str!("../indicators/consultation_care.sql")),
    ("consultation_other.sql", include_str!("../indicators/consultation_other.sql")),
    ("disability.sql", include_str!("../indicators/disability.sql")),
    ("foreign_nationality.sql", include_str!("../indicators/foreign_nationality.sql")),
    ("lunch_fee_arrears.sql", include_str!("../indicators/lunch_fee_arrears.sql")),
    ("moved_out.sql", include_str!("../indicators/moved_out.sql")),
    ("nurse_office_visits.sql", include_str!("../indicators/nurse_office_visits.sql")),
    ("nursery_fee_arrears.sql", include_str!("../indicators/nursery_fee_arrears.sql")),
    ("preschool.sql", include_str!("../indicators/preschool.sql")),
    ("protection_council.sql", include_str!("../indicators/protection_council.sql")),
    ("public_assistance.sql", include_str!("../indicators/public_assistance.sql")),
    ("recent_move.sql", include_str!("../indicators/recent_move.sql")),
    ("resident_tax_exempt.sql", include_str!("../indicators/resident_tax_exempt.sql")),
    ("school_age.sql", include_str!("../indicators/school_age.sql")),
    ("school_expense_aid.sql", include_str!("../indicators/school_expense_aid.sql")),
    ("single_parent.sql", include_str!("../indicators/single_parent.sql")),
    ("specified_expectant_mother.sql", include_str!("../indicators/specified_expectant_mother.sql")),
    ("vaccination_gap.sql", include_str!("../indicators/vaccination_gap.sql")),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_parses_and_features_have_reasons() {
        let all = defaults().unwrap();
        assert!(all.iter().filter(|i| i.has(Use::Feature)).count() >= 15);
        assert!(all.iter().any(|i| i.has(Use::KnownCase)));
        assert!(all.iter().filter(|i| i.has(Use::Population)).count() >= 2);
        for i in &all {
            assert!(!i.follows.is_empty(), "{}", i.name);
            if i.has(Use::Feature) {
                let r = i.reason.as_deref().unwrap();
                // reasons describe circumstances and supports, never label a family
                for word in ["虐待", "ネグレクト", "問題家庭", "リスク"] {
                    assert!(!r.contains(word), "{}: reason `{r}` labels the family", i.name);
                }
            }
        }
    }

    #[test]
    fn header_errors_name_the_line() {
        let e = Indicator::parse("x.sql", "-- indicator: x\n-- label: X\n-- level: street\nSELECT 1").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("person or household"), "{e}");
        let e = Indicator::parse("y.sql", "-- indicator: x\nSELECT 1").unwrap_err();
        assert!(e.message.contains("named `x`"), "{e}");
        let text = "-- indicator: z\n-- label: Z\n-- department: health\n-- level: person\n-- use: feature\n-- follows: f\n-- measures: m\nSELECT person_id FROM t";
        let e = Indicator::parse("z.sql", text).unwrap_err();
        assert!(e.message.contains("reason"), "{e}");
    }

    #[test]
    fn continuation_lines_join_the_field_and_as_of_is_filled() {
        let text = "-- indicator: z\n-- label: Z\n-- reason: R\n-- department: a, b\n-- level: household\n-- use: feature, group\n-- group: G\n-- follows: f\n-- measures: one\n--           two\nSELECT household_id FROM t WHERE d > DATE '{as_of}'\n";
        let i = Indicator::parse("z.sql", text).unwrap();
        assert_eq!(i.measures, "one two");
        assert_eq!(i.departments, vec!["a", "b"]);
        assert!(i.has(Use::Group) && i.has(Use::Feature));
        let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        assert!(i.sql_for(d).contains("DATE '2026-03-31'"));
    }
}
