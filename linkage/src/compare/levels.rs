//! Comparison levels per field, from the tokens and encodings of two records (issue: linkage).
//! A level is `None` when either side is unknown (missing, or a lost character): unknown is
//! neither agreement nor disagreement. Higher levels mean closer agreement.

/// Whether two optional tokens are equal; None when either is missing.
pub fn token_eq(a: Option<&[u8]>, b: Option<&[u8]>) -> Option<bool> {
    Some(a? == b?)
}

/// Names and readings: 4 exact token, 3 Dice ≥ 0.9, 2 ≥ 0.8, 1 ≥ 0.7, 0 otherwise.
pub fn fuzzy_level(exact: Option<bool>, dice: Option<f32>) -> Option<u8> {
    match (exact, dice) {
        (Some(true), _) => Some(4),
        (_, Some(d)) if d >= 0.9 => Some(3),
        (_, Some(d)) if d >= 0.8 => Some(2),
        (_, Some(d)) if d >= 0.7 => Some(1),
        (Some(false), _) | (_, Some(_)) => Some(0),
        (None, None) => None,
    }
}

/// Tokens of a birth date on both sides (full date, the day/month-swapped date, and the
/// (year, month), (month, day), (year, day) pairs).
#[derive(Clone, Copy, Debug, Default)]
pub struct DateTokens<'a> {
    pub full: Option<&'a [u8]>,
    pub swapped: Option<&'a [u8]>,
    pub ym: Option<&'a [u8]>,
    pub md: Option<&'a [u8]>,
    pub yd: Option<&'a [u8]>,
}

/// Birth dates: 3 equal, 2 day and month transposed, 1 one component off (one of the pairs
/// still equal), 0 otherwise.
pub fn date_level(a: &DateTokens, b: &DateTokens) -> Option<u8> {
    let full = token_eq(a.full, b.full)?;
    if full {
        return Some(3);
    }
    if token_eq(a.full, b.swapped) == Some(true) || token_eq(a.swapped, b.full) == Some(true) {
        return Some(2);
    }
    let pair = [token_eq(a.ym, b.ym), token_eq(a.md, b.md), token_eq(a.yd, b.yd)];
    Some(u8::from(pair.contains(&Some(true))))
}

/// Addresses: 4 same lot (whole address), 3 same block (town+丁目+番), 2 same 丁目, 1 same
/// town, 0 otherwise.
pub fn address_level(
    address: Option<bool>,
    block: Option<bool>,
    chome: Option<bool>,
    town: Option<bool>,
) -> Option<u8> {
    let town = town?;
    Some(if address == Some(true) {
        4
    } else if block == Some(true) {
        3
    } else if chome == Some(true) {
        2
    } else {
        u8::from(town)
    })
}

/// Codes and other exact fields: 1 equal, 0 different.
pub fn exact_level(eq: Option<bool>) -> Option<u8> {
    eq.map(u8::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_levels_follow_the_thresholds_and_unknown_stays_unknown() {
        assert_eq!(fuzzy_level(Some(true), Some(0.1)), Some(4));
        assert_eq!(fuzzy_level(Some(false), Some(0.95)), Some(3));
        assert_eq!(fuzzy_level(Some(false), Some(0.85)), Some(2));
        assert_eq!(fuzzy_level(Some(false), Some(0.75)), Some(1));
        assert_eq!(fuzzy_level(Some(false), Some(0.5)), Some(0));
        assert_eq!(fuzzy_level(None, None), None);
    }

    #[test]
    fn date_levels() {
        let (d, s, ym, md, yd) = ([1u8], [2u8], [3u8], [4u8], [5u8]);
        let a = DateTokens { full: Some(&d), swapped: Some(&s), ym: Some(&ym), md: Some(&md), yd: Some(&yd) };
        assert_eq!(date_level(&a, &a), Some(3));
        let transposed = DateTokens { full: Some(&s), swapped: Some(&d), ..Default::default() };
        assert_eq!(date_level(&a, &transposed), Some(2));
        let (x, y) = ([9u8], [8u8]);
        let day_off = DateTokens { full: Some(&x), swapped: None, ym: Some(&ym), md: Some(&y), yd: Some(&y) };
        assert_eq!(date_level(&a, &day_off), Some(1));
        let other = DateTokens { full: Some(&x), swapped: None, ym: Some(&y), md: Some(&y), yd: Some(&y) };
        assert_eq!(date_level(&a, &other), Some(0));
        assert_eq!(date_level(&a, &DateTokens::default()), None);
    }

    #[test]
    fn address_levels() {
        assert_eq!(address_level(Some(true), Some(true), Some(true), Some(true)), Some(4));
        assert_eq!(address_level(Some(false), Some(true), Some(true), Some(true)), Some(3));
        assert_eq!(address_level(Some(false), Some(false), Some(true), Some(true)), Some(2));
        assert_eq!(address_level(None, None, Some(false), Some(true)), Some(1));
        assert_eq!(address_level(Some(false), Some(false), Some(false), Some(false)), Some(0));
        assert_eq!(address_level(None, None, None, None), None);
        assert_eq!(exact_level(Some(true)), Some(1));
    }
}
