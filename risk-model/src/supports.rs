//! The support-programme registry (`risk-model/supports.toml`, or `<ws>/risk/supports.toml`):
//! which supports a household may be eligible for but does not receive, from its flags.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The registry shipped with mimamori.
pub const DEFAULT: &str = include_str!("../supports.toml");

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Support {
    pub id: String,
    pub name: String,
    /// What the caseworker reads.
    pub offer: String,
    #[serde(default)]
    pub when_all: Vec<String>,
    #[serde(default)]
    pub when_any: Vec<String>,
    #[serde(default)]
    pub unless_any: Vec<String>,
    pub basis: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    support: Vec<Support>,
}

#[derive(Debug, thiserror::Error)]
pub enum SupportError {
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: support `{support}` names flag `{flag}`, which no indicator defines")]
    UnknownFlag { file: String, support: String, flag: String },
}

impl Support {
    /// Whether a household with these flags may be eligible and does not yet receive it.
    pub fn suggested(&self, flags: &BTreeSet<&str>) -> bool {
        self.when_all.iter().all(|f| flags.contains(f.as_str()))
            && (self.when_any.is_empty() || self.when_any.iter().any(|f| flags.contains(f.as_str())))
            && !self.unless_any.iter().any(|f| flags.contains(f.as_str()))
            && !(self.when_all.is_empty() && self.when_any.is_empty())
    }
}

/// Parses a registry; every flag it names must be one of `known` (indicator names).
pub fn parse(file: &str, text: &str, known: &BTreeSet<String>) -> Result<Vec<Support>, SupportError> {
    let f: File =
        toml::from_str(text).map_err(|e| SupportError::Parse { file: file.to_string(), message: e.to_string() })?;
    for s in &f.support {
        for flag in s.when_all.iter().chain(&s.when_any).chain(&s.unless_any) {
            if !known.contains(flag) {
                return Err(SupportError::UnknownFlag {
                    file: file.to_string(),
                    support: s.id.clone(),
                    flag: flag.clone(),
                });
            }
        }
    }
    Ok(f.support)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> BTreeSet<String> {
        crate::indicator::defaults().unwrap().into_iter().map(|i| i.name).collect()
    }

    #[test]
    fn default_registry_names_only_known_flags() {
        let s = parse("supports.toml", DEFAULT, &known()).unwrap();
        assert!(s.len() >= 8);
        for x in &s {
            assert!(!x.offer.contains("虐待"), "{}", x.id);
        }
    }

    #[test]
    fn eligibility_requires_all_any_and_not_received() {
        let s = parse("supports.toml", DEFAULT, &known()).unwrap();
        let aid = s.iter().find(|x| x.id == "school_expense_aid").unwrap();
        let flags = |v: &[&'static str]| v.iter().copied().collect::<BTreeSet<&str>>();
        assert!(aid.suggested(&flags(&["school_age", "resident_tax_exempt"])));
        assert!(!aid.suggested(&flags(&["resident_tax_exempt"])), "needs a pupil");
        assert!(!aid.suggested(&flags(&["school_age"])), "needs a sign of low income");
        assert!(
            !aid.suggested(&flags(&["school_age", "resident_tax_exempt", "school_expense_aid"])),
            "already receives it"
        );
    }

    #[test]
    fn an_unknown_flag_is_named() {
        let text =
            "[[support]]\nid = \"x\"\nname = \"X\"\noffer = \"o\"\nwhen_all = [\"no_such_flag\"]\nbasis = \"b\"\n";
        let e = parse("s.toml", text, &known()).unwrap_err();
        assert!(e.to_string().contains("no_such_flag"), "{e}");
    }
}
