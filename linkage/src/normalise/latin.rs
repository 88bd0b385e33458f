//! Generic (non-Japanese) identity fields, as in the FEBRL benchmarks: names, street,
//! locality, postcode, national id.

use unicode_normalization::UnicodeNormalization;

use super::width;

/// Lower case, letters and digits only, single spaces; None when empty.
pub fn text(s: &str) -> Option<String> {
    let folded = width::fold(&width::fold(s).to_lowercase());
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c.is_alphanumeric() || c == super::WILDCARD {
            out.push(c);
        } else if (c == ' ' || c == '-' || c == '\'' || c == ',' || c == '.') && !out.ends_with(' ') && !out.is_empty()
        {
            out.push(' ');
        }
    }
    // dropping characters can leave combining marks out of canonical order
    let t: String = out.trim_end().nfc().collect();
    (!t.is_empty()).then_some(t)
}

/// Digits (and letters, for alphanumeric codes) only; None when empty.
pub fn code(s: &str) -> Option<String> {
    let upper = width::fold(&width::fold(s).to_uppercase());
    let t: String = upper.chars().filter(|c| c.is_alphanumeric() || *c == super::WILDCARD).nfc().collect();
    (!t.is_empty()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        assert_eq!(text("  O'Brien-Smith ").as_deref(), Some("o brien smith"));
        assert_eq!(code("999-0101").as_deref(), Some("9990101"));
        assert_eq!(code(" "), None);
    }

    proptest::proptest! {
        #[test]
        fn idempotent(s in "\\PC{0,16}") {
            if let Some(t) = text(&s) { proptest::prop_assert_eq!(text(&t), Some(t.clone())); }
            if let Some(c) = code(&s) { proptest::prop_assert_eq!(code(&c), Some(c.clone())); }
        }
    }
}
