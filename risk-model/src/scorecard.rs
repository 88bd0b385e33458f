//! The rule-based scorecard (`risk-model/scorecard.toml`, or `<ws>/risk/scorecard.toml`): points
//! per indicator flag, the transparent baseline the model is measured against.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::features::Features;

/// The scorecard shipped with mimamori: one point per flag.
pub const DEFAULT: &str = include_str!("../scorecard.toml");

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scorecard {
    pub default_points: u32,
    #[serde(default)]
    pub points: BTreeMap<String, u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScorecardError {
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: [points] names `{indicator}`, which is no feature indicator")]
    Unknown { file: String, indicator: String },
}

impl Scorecard {
    /// Parses a scorecard; every indicator it names must be a feature indicator in `known`.
    pub fn parse(file: &str, text: &str, known: &BTreeSet<String>) -> Result<Scorecard, ScorecardError> {
        let s: Scorecard = toml::from_str(text)
            .map_err(|e| ScorecardError::Parse { file: file.to_string(), message: e.to_string() })?;
        if let Some(unknown) = s.points.keys().find(|k| !known.contains(*k)) {
            return Err(ScorecardError::Unknown { file: file.to_string(), indicator: unknown.clone() });
        }
        Ok(s)
    }

    /// Sets the points of each of the features' own flags.
    pub fn apply(&self, f: &mut Features) {
        f.points_per_flag =
            f.names[..f.own].iter().map(|n| self.points.get(n).copied().unwrap_or(self.default_points)).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_indicators() {
        let known: BTreeSet<String> = ["absence_30_days".to_string()].into();
        assert!(Scorecard::parse("s.toml", DEFAULT, &known).is_ok());
        let e = Scorecard::parse("s.toml", "default_points = 1\n[points]\nabsense_30_days = 2\n", &known).unwrap_err();
        assert!(e.to_string().contains("absense_30_days"), "{e}");
        let s = Scorecard::parse("s.toml", "default_points = 0\n[points]\nabsence_30_days = 3\n", &known).unwrap();
        assert_eq!(s.points["absence_30_days"], 3);
    }
}
