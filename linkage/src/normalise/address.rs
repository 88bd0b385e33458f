//! Addresses into parts (town, 丁目, 番/番地, 号, building): full-width and kanji numerals to
//! digits, 丁目/番/番地/号/-/－/ー forms unified, prefecture and city prefixes dropped, the
//! building (方書) split off.

use super::{kanji, width};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressParts {
    pub town: Option<String>,
    pub chome: Option<u32>,
    /// 番 / 番地
    pub block: Option<u32>,
    /// 号 (or the number after 番地)
    pub lot: Option<u32>,
    pub building: Option<String>,
}

impl AddressParts {
    /// Town and numbers in one canonical form, e.g. `桜台2丁目14番3号` (building excluded).
    pub fn canonical(&self) -> Option<String> {
        let mut out = self.town.clone()?;
        for (n, unit) in [(self.chome, "丁目"), (self.block, "番"), (self.lot, "号")] {
            if let Some(n) = n {
                out.push_str(&format!("{n}{unit}"));
            }
        }
        Some(out)
    }
}

fn kansuji_value(c: char) -> Option<u32> {
    "〇一二三四五六七八九".chars().position(|k| k == c).map(|p| p as u32)
}

/// Kanji numerals followed by 丁目, 番, 番地 or 号 become digits (二丁目 → 2丁目, 十四番地 → 14番地);
/// kanji numerals inside town names (一宮, 三田) stay.
fn kansuji_to_digits(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && (kansuji_value(chars[i]).is_some() || matches!(chars[i], '十' | '百')) {
            i += 1;
        }
        if i > start {
            let run: String = chars[start..i].iter().collect();
            let next: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let followed = next.starts_with("丁目") || next.starts_with('番') || next.starts_with('号');
            match (followed, kansuji_number(&run)) {
                (true, Some(n)) => out.push_str(&n.to_string()),
                _ => out.push_str(&run),
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn kansuji_number(run: &str) -> Option<u32> {
    let mut total = 0;
    let mut digit: Option<u32> = None;
    for c in run.chars() {
        match c {
            '十' | '百' => {
                let unit = if c == '十' { 10 } else { 100 };
                total += digit.unwrap_or(1) * unit;
                digit = None;
            }
            c => {
                let v = kansuji_value(c)?;
                digit = Some(digit.map(|d| d * 10 + v).unwrap_or(v));
            }
        }
    }
    Some(total + digit.unwrap_or(0))
}

/// Drops a leading prefecture (…都/道/府/県) and city or ward (…市, …区, …郡…町/村).
fn strip_prefix_areas(s: &str) -> &str {
    let mut rest = s;
    for p in ["東京都", "北海道", "京都府", "大阪府"] {
        if let Some(r) = rest.strip_prefix(p) {
            rest = r;
        }
    }
    if let Some(i) = rest.find('県')
        && rest[..i].chars().count() <= 4
        && i > 0
    {
        rest = &rest[i + '県'.len_utf8()..];
    }
    for marker in ['市', '区'] {
        if let Some(i) = rest.find(marker) {
            let before = &rest[..i];
            let after = &rest[i + marker.len_utf8()..];
            // a city name has no digits and leaves a town name (not a number) behind; a town
            // name that itself holds 市 or 区 (四日市町) keeps the prefix, so that the canonical
            // form parses back to itself
            let town: String = after.chars().take_while(|c| !c.is_ascii_digit()).collect();
            let town_follows = !town.is_empty() && !town.contains(['市', '区']);
            if i > 0 && !before.chars().any(|c| c.is_ascii_digit()) && town_follows {
                rest = after;
            }
        }
    }
    if let Some(i) = rest.find('郡') {
        let after = &rest[i + '郡'.len_utf8()..];
        if let Some(j) = after.find(['町', '村']) {
            rest = &after[j + '町'.len_utf8()..];
        }
    }
    rest
}

/// The town part: 異体字 folded, spaces removed, and the 大字/字 prefix that some systems write
/// and others leave out dropped.
fn town_name(s: &str) -> String {
    let t = kanji::fold(s.trim()).replace(' ', "");
    t.strip_prefix("大字").or_else(|| t.strip_prefix('字')).map(str::to_string).unwrap_or(t)
}

/// Parses an address into parts. Unparseable numbers leave the parts None; the town alone
/// still compares.
pub fn parse(s: &str) -> AddressParts {
    let folded = width::fold(s);
    // dashes between digits: ー (long vowel, common in hand-keyed data), ‐ − – — to '-'
    let chars: Vec<char> = folded.chars().collect();
    let unified: String = chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let dash = matches!(c, 'ー' | '‐' | '−' | '–' | '—' | '―' | '-');
            let prev_digit = i > 0 && chars[i - 1].is_ascii_digit();
            if dash && prev_digit { '-' } else { c }
        })
        .collect();
    let numbered = kansuji_to_digits(&unified);
    let body = strip_prefix_areas(&numbered).trim();
    let Some(first_digit) = body.find(|c: char| c.is_ascii_digit()) else {
        let town = town_name(body);
        return AddressParts { town: (!town.is_empty()).then_some(town), ..Default::default() };
    };
    let town = town_name(&body[..first_digit]);
    let mut nums: Vec<u32> = Vec::new();
    let mut chome_marked = false;
    let mut banchi_marked = false;
    let mut rest = &body[first_digit..];
    loop {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            break;
        }
        nums.push(digits.parse().unwrap_or(0));
        rest = &rest[digits.len()..];
        let separators = ["丁目", "番地の", "番地", "番", "号", "の", "-"];
        let Some(sep) = separators.iter().find(|p| rest.starts_with(**p)) else { break };
        if *sep == "丁目" && nums.len() == 1 {
            chome_marked = true;
        }
        if sep.starts_with("番地") && nums.len() == 1 {
            banchi_marked = true;
        }
        rest = &rest[sep.len()..];
        if *sep == "号" {
            break;
        }
    }
    let building = rest.trim().trim_start_matches(['-', ' ']).trim();
    let (chome, block, lot) = match (nums.as_slice(), chome_marked, banchi_marked) {
        ([c, b, l, ..], _, false) => (Some(*c), Some(*b), Some(*l)),
        ([c, b], true, _) => (Some(*c), Some(*b), None),
        ([c], true, _) => (Some(*c), None, None),
        ([b, l, ..], _, _) => (None, Some(*b), Some(*l)),
        ([b], _, _) => (None, Some(*b), None),
        ([], _, _) => (None, None, None),
    };
    AddressParts {
        town: (!town.is_empty()).then_some(town),
        chome,
        block,
        lot,
        building: (!building.is_empty()).then(|| building.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(
        town: &str,
        c: Option<u32>,
        b: Option<u32>,
        l: Option<u32>,
    ) -> (Option<String>, Option<u32>, Option<u32>, Option<u32>) {
        (Some(town.to_string()), c, b, l)
    }

    fn parts(s: &str) -> (Option<String>, Option<u32>, Option<u32>, Option<u32>) {
        let a = parse(s);
        (a.town, a.chome, a.block, a.lot)
    }

    #[test]
    fn forms_agree() {
        let want = p("桜台", Some(2), Some(14), Some(3));
        for s in [
            "桜台2丁目14番3号",
            "桜台2-14-3",
            "桜台二丁目14番地3",
            "桜台2丁目14-3",
            "みまもり市桜台２丁目１４番３号",
            "架空県みまもり市桜台2ー14ー3",
            "桜台2-14-3 コーポ桜 101",
        ] {
            assert_eq!(parts(s), want, "{s}");
        }
        assert_eq!(parse("桜台2-14-3 コーポ桜 101").building.as_deref(), Some("コーポ桜 101"));
        assert_eq!(parse("みまもり市桜台2丁目14番3号 メゾン青葉 203").building.as_deref(), Some("メゾン青葉 203"));
    }

    #[test]
    fn towns_without_chome() {
        let want = p("高砂町", None, Some(14), Some(3));
        for s in ["高砂町14番地3", "高砂町14-3", "髙砂町14番地の3", "高砂町14番3"] {
            assert_eq!(parts(s), want, "{s}");
        }
    }

    #[test]
    fn kanji_numerals_in_town_names_stay() {
        assert_eq!(parse("一宮町3-2").town.as_deref(), Some("一宮町"));
        assert_eq!(parse("港町十二番地").block, Some(12));
        assert_eq!(parse("市場町1-2").town.as_deref(), Some("市場町"));
        assert_eq!(parse("大字高砂14番地3").town, parse("高砂14-3").town);
    }

    proptest::proptest! {
        #[test]
        fn canonical_form_is_a_fixed_point(s in "[桜台港町高砂みまもり市0-9０-９丁目番地号\\- ー]{0,20}") {
            if let Some(c) = parse(&s).canonical() {
                proptest::prop_assert_eq!(parse(&c).canonical(), Some(c.clone()));
            }
        }
    }
}
