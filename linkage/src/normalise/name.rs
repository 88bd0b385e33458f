//! Personal names in kanji: width and variant folding, and the family/given split of a
//! one-column name on a full- or half-width space.

use super::{kanji, width};

/// A normalised name; parts are None when unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Name {
    pub family: Option<String>,
    pub given: Option<String>,
}

impl Name {
    /// Family and given name without separator (the form compared when a source does not
    /// split names).
    pub fn full(&self) -> Option<String> {
        match (&self.family, &self.given) {
            (Some(f), Some(g)) => Some(format!("{f}{g}")),
            (Some(f), None) => Some(f.clone()),
            (None, Some(g)) => Some(g.clone()),
            (None, None) => None,
        }
    }
}

/// One name part: NFKC, 異体字 folded, inner spaces and middle dots removed; None when empty.
pub fn part(s: &str) -> Option<String> {
    let kept: String = kanji::fold(&width::fold(s)).chars().filter(|c| !matches!(c, ' ' | '・' | '･')).collect();
    // removing a space can leave a combining mark next to a letter it now composes with
    let folded = width::nfc(kept);
    (!folded.is_empty()).then_some(folded)
}

/// Splits a one-column name on its first space (full or half width, after folding). A name
/// without a space is kept whole as the family part, with the given part unknown: without a
/// separator the boundary cannot be known.
pub fn split(s: &str) -> Name {
    let folded = width::fold(s);
    match folded.split_once(' ') {
        Some((f, g)) => Name { family: part(f), given: part(g) },
        None => Name { family: part(&folded), given: None },
    }
}

/// Order of the parts of a name held in one column: family name first (as Japanese registers
/// write names, also in Latin letters: "SMITH JOHN"), or given names first ("John Smith": the
/// last word is the family name). A comma always ends the family name ("Smith, John").
#[derive(Clone, Copy, Debug, Default, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NameOrder {
    #[default]
    FamilyFirst,
    GivenFirst,
}

/// Splits a one-column name by `order`; "family, given" whatever the order.
pub fn split_ordered(s: &str, order: NameOrder) -> Name {
    let folded = width::fold(s);
    if let Some((f, g)) = folded.split_once([',', '、']) {
        return Name { family: part(f), given: part(g) };
    }
    match (order, folded.trim().rsplit_once(' ')) {
        (NameOrder::GivenFirst, Some((g, f))) => Name { family: part(f), given: part(g) },
        _ => split(&folded),
    }
}

/// Family and given name from two columns.
pub fn from_parts(family: &str, given: &str) -> Name {
    Name { family: part(family), given: part(given) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_either_space_and_folds_variants() {
        let n = split("髙橋　太郎");
        assert_eq!(n.family.as_deref(), Some("高橋"));
        assert_eq!(n.given.as_deref(), Some("太郎"));
        assert_eq!(split("高橋 太郎"), n);
        assert_eq!(from_parts("高橋", "太郎"), n);
        assert_eq!(split("高橋太郎").full(), n.full());
        assert_eq!(split("高橋太郎").given, None);
        assert_eq!(split("  ").full(), None);
    }

    #[test]
    fn one_column_names_in_either_order() {
        let smith = |s: &str, o: NameOrder| {
            let n = split_ordered(s, o);
            (n.family, n.given)
        };
        let expected = (Some("Smith".to_string()), Some("Johnhenry".to_string()));
        assert_eq!(smith("Johnhenry Smith", NameOrder::GivenFirst), expected);
        assert_eq!(smith("Smith Johnhenry", NameOrder::FamilyFirst), expected);
        assert_eq!(smith("Smith, Johnhenry", NameOrder::GivenFirst), expected);
        assert_eq!(smith("Smith，Johnhenry", NameOrder::FamilyFirst), expected);
        // every given name before the family name
        assert_eq!(smith("Mary Ann Smith", NameOrder::GivenFirst), (Some("Smith".into()), Some("MaryAnn".into())));
        assert_eq!(split_ordered("高橋　太郎", NameOrder::FamilyFirst), split("高橋 太郎"));
        assert_eq!(smith("Smith", NameOrder::GivenFirst), (Some("Smith".into()), None));
    }

    proptest::proptest! {
        #[test]
        fn part_is_idempotent(s in "\\PC{0,12}") {
            if let Some(p) = part(&s) {
                proptest::prop_assert_eq!(part(&p), Some(p.clone()));
            }
        }
    }
}
