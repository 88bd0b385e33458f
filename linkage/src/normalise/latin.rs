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

/// Whether a name is written in Latin letters (no kana, kanji or other East Asian script).
pub fn is_latin(s: &str) -> bool {
    s.chars().all(|c| (c as u32) < 0x2E80)
}

/// A Latin name as words: lower case, letters and digits only, so that O'Brien, O Brien,
/// O.Brien and OBRIEN give the same letters.
fn words(s: &str) -> Vec<String> {
    width::fold(&width::fold(s).to_lowercase())
        .split(|c: char| c.is_whitespace() || matches!(c, '.' | '-' | '\'' | '’' | ',' | '/' | '(' | ')'))
        .map(|w| w.chars().filter(|c| c.is_alphanumeric() || *c == super::WILDCARD).nfc().collect::<String>())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Abbreviations of forenames that English registers, censuses and parish books write
/// (Wm, Thos, Jas, Geo, …), each standing for one name only. Nicknames (Bill, Peggy) are
/// not folded: they are names of their own too.
const FORENAME_ABBREVIATIONS: &[(&str, &str)] = &[
    ("abm", "abraham"),
    ("abrm", "abraham"),
    ("alexr", "alexander"),
    ("andw", "andrew"),
    ("benj", "benjamin"),
    ("benjn", "benjamin"),
    ("chas", "charles"),
    ("chs", "charles"),
    ("danl", "daniel"),
    ("edwd", "edward"),
    ("eliz", "elizabeth"),
    ("elizth", "elizabeth"),
    ("elizh", "elizabeth"),
    ("fredk", "frederick"),
    ("geo", "george"),
    ("hy", "henry"),
    ("jas", "james"),
    ("jno", "john"),
    ("jos", "joseph"),
    ("margt", "margaret"),
    ("mgt", "margaret"),
    ("matw", "matthew"),
    ("nathl", "nathaniel"),
    ("patk", "patrick"),
    ("richd", "richard"),
    ("robt", "robert"),
    ("saml", "samuel"),
    ("thos", "thomas"),
    ("wm", "william"),
    ("willm", "william"),
    ("xpher", "christopher"),
    ("xtopher", "christopher"),
];

/// A Latin family name: its letters, lower case, words joined (McDonald, Mc Donald and
/// MCDONALD agree). None when empty.
pub fn family_name(s: &str) -> Option<String> {
    let w = words(s);
    // joining words can put combining marks side by side out of canonical order
    (!w.is_empty()).then(|| w.concat().nfc().collect())
}

/// A Latin given name: (the first forename, every forename joined), lower case, letters only,
/// with a written abbreviation of the first forename spelled out (Wm. → william, Thos →
/// thomas). Records of one person often share only the first forename (Mary Ann and Mary), or
/// only the joined letters (Maryann and Mary Ann; a space typed into a name). None when empty.
pub fn given_name(s: &str) -> Option<(String, String)> {
    let w = words(s);
    let first = w.first()?;
    let first = match FORENAME_ABBREVIATIONS.iter().find(|(a, _)| a == first) {
        Some((_, full)) => full.to_string(),
        None => first.clone(),
    };
    // the joined letters spell out a lone abbreviation, but not one that may be the start of a
    // name a space was typed into ("Geo rge")
    let all = if w.len() == 1 { first.clone() } else { w.concat().nfc().collect() };
    Some((first, all))
}

/// The Soundex code of a Latin name (Russell and Odell, 1918; the form of the U.S. National
/// Archives): its first letter and the codes of the next three consonant sounds, so that
/// misspellings that keep the sound agree (emily, emiily; charlotte, charlotye). Accents are
/// dropped first; None when the name holds no letter a–z.
pub fn soundex(s: &str) -> Option<String> {
    let letters: Vec<char> = s.nfkd().filter(char::is_ascii_alphabetic).map(|c| c.to_ascii_lowercase()).collect();
    let code = |c: char| match c {
        'b' | 'f' | 'p' | 'v' => Some(b'1'),
        'c' | 'g' | 'j' | 'k' | 'q' | 's' | 'x' | 'z' => Some(b'2'),
        'd' | 't' => Some(b'3'),
        'l' => Some(b'4'),
        'm' | 'n' => Some(b'5'),
        'r' => Some(b'6'),
        _ => None,
    };
    let (&first, rest) = letters.split_first()?;
    let mut out = vec![first.to_ascii_uppercase() as u8];
    let mut last = code(first);
    for &c in rest {
        if out.len() == 4 {
            break;
        }
        match code(c) {
            Some(d) if Some(d) != last => {
                out.push(d);
                last = Some(d);
            }
            Some(_) => {}
            // h and w do not separate letters of one code; vowels do
            None if c == 'h' || c == 'w' => {}
            None => last = None,
        }
    }
    out.resize(4, b'0');
    String::from_utf8(out).ok()
}

/// Digits (and letters, for alphanumeric codes) only; None when empty.
pub fn code(s: &str) -> Option<String> {
    // printable ASCII without '?' (a lost character): folding changes only its spaces, which
    // are dropped anyway
    if s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'?') {
        let t: String = s.bytes().filter(u8::is_ascii_alphanumeric).map(|b| b.to_ascii_uppercase() as char).collect();
        return (!t.is_empty()).then_some(t);
    }
    folded_code(s)
}

/// [`code`] by its definition: folded, upper-cased, folded again, letters and digits kept.
fn folded_code(s: &str) -> Option<String> {
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

    #[test]
    fn latin_names() {
        assert_eq!(family_name("O'Brien").as_deref(), Some("obrien"));
        assert_eq!(family_name("O Brien"), family_name("OBRIEN"));
        assert_eq!(family_name("Smith-Jones").as_deref(), Some("smithjones"));
        assert_eq!(family_name(" .- "), None);
        assert_eq!(given_name("Wm."), Some(("william".into(), "william".into())));
        assert_eq!(given_name("THOS"), Some(("thomas".into(), "thomas".into())));
        assert_eq!(given_name("Mary Ann"), Some(("mary".into(), "maryann".into())));
        assert_eq!(given_name("Mary-Ann"), given_name("mary ann"));
        // only the first forename, and only abbreviations: a nickname stays itself
        assert_eq!(given_name("John Wm"), Some(("john".into(), "johnwm".into())));
        assert_eq!(given_name("Geo rge"), Some(("george".into(), "george".into())));
        assert_eq!(given_name("Wm Henry"), Some(("william".into(), "wmhenry".into())));
        assert_eq!(given_name("Bill"), Some(("bill".into(), "bill".into())));
        assert!(is_latin("Zoë O'Brien") && !is_latin("山田") && !is_latin("ヤマダ"));
        // the National Archives' examples
        for (name, code) in [
            ("Robert", "R163"),
            ("Rupert", "R163"),
            ("Rubin", "R150"),
            ("Ashcraft", "A261"),
            ("Ashcroft", "A261"),
            ("Tymczak", "T522"),
            ("Pfister", "P236"),
            ("Honeyman", "H555"),
        ] {
            assert_eq!(soundex(name).as_deref(), Some(code), "{name}");
        }
        assert_eq!(soundex("emiily"), soundex("emily"));
        assert_eq!(soundex("Zoë"), soundex("zoe"));
        assert_eq!(soundex("山田"), None);
    }

    proptest::proptest! {
        #[test]
        fn latin_names_are_idempotent(s in "\\PC{0,16}") {
            if let Some(f) = family_name(&s) { proptest::prop_assert_eq!(family_name(&f), Some(f.clone())); }
            if let Some((first, all)) = given_name(&s) {
                proptest::prop_assert_eq!(given_name(&first).map(|g| g.0), Some(first.clone()));
                proptest::prop_assert_eq!(family_name(&all), Some(all.clone()));
            }
        }

        #[test]
        fn idempotent(s in "\\PC{0,16}") {
            if let Some(t) = text(&s) { proptest::prop_assert_eq!(text(&t), Some(t.clone())); }
            if let Some(c) = code(&s) { proptest::prop_assert_eq!(code(&c), Some(c.clone())); }
        }

        /// The ASCII shortcut gives what folding does.
        #[test]
        fn ascii_codes_as_folded(s in "[ -~]{0,16}") {
            proptest::prop_assert_eq!(code(&s), folded_code(&s));
        }
    }
}
