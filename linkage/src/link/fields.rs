//! Comparison fields: which tokens and encodings each compares, its levels, and the comparison
//! vector γ of a record pair packed into a u64 (4 bits per field, 15 = unknown). Everything here
//! runs per candidate pair, so it only reads slices and never allocates.

use serde::Serialize;

use super::records::{BloomColumn, Col, Records};
use crate::compare::dice::intersection_words;
use crate::encode::{SALTED_TOKENS, TokenSalt};

/// Unknown level in a packed γ.
pub const UNKNOWN: u64 = 15;
/// At most this many fields fit in a packed γ.
pub const MAX_FIELDS: usize = 16;

/// A Bloom column with its Dice cut points for levels 1, 2 and 3.
#[derive(Clone, Copy)]
struct Sim<'a> {
    col: &'a BloomColumn,
    cuts: [f32; 3],
}

/// Dice cut points of a Bloom column: where only 1 in 100, 1,000 and 10,000 random record pairs
/// are as similar. Hardening changes the Dice scale (balanced filters of unrelated records reach
/// Dice ≈ 0.8), so fixed cut points would mean different things under different encodings;
/// tail shares of random pairs mean the same under all. Too few records to sample: 0.7/0.8/0.9.
pub fn calibrate(col: &BloomColumn, n: u32, seed: u64) -> ([f32; 3], String) {
    use rand::{Rng, SeedableRng};
    const WANT: usize = 200_000;
    // tails of 1e-4 need many distinct pairs, not many draws of a few
    let distinct_pairs = n as u64 * (n as u64).saturating_sub(1) / 2;
    if distinct_pairs < 100_000 {
        return ([0.7, 0.8, 0.9], format!("fixed (only {distinct_pairs} record pairs)"));
    }
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let mut d: Vec<f32> = Vec::with_capacity(WANT);
    let mut tries = 0;
    while d.len() < WANT && tries < WANT * 10 && n > 1 {
        tries += 1;
        let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
        if a == b {
            continue;
        }
        if let Some(x) = dice(Some(col), a, b) {
            d.push(x);
        }
    }
    if d.len() < 20_000 {
        return ([0.7, 0.8, 0.9], format!("fixed (only {} random pairs to sample)", d.len()));
    }
    d.sort_unstable_by(|a, b| b.total_cmp(a));
    let at = |share: f64| d[((d.len() as f64 * share) as usize).min(d.len() - 1)];
    // strictly above the tail's edge, and strictly increasing; but never above 1: where more
    // random pairs than the tail share a value exactly (a guardian's name, common among
    // siblings), identical filters must still reach the top level
    let c1 = (at(1e-2) + 1e-6).min(1.0);
    let c2 = (at(1e-3).max(c1) + 1e-6).min(1.0);
    let c3 = (at(1e-4).max(c2) + 1e-6).min(1.0);
    ([c1, c2, c3], format!("random-pair tails 1e-2, 1e-3, 1e-4 of {} sampled pairs", d.len()))
}

#[derive(Clone, Copy)]
enum Kind<'a> {
    /// 4 exact; 3 loose token equal or Dice ≥ cut 3; 2 Dice ≥ cut 2; 1 Dice ≥ cut 1; 0 otherwise.
    /// When the name's parts are also fields (family, given), a pair with a part equal is left
    /// to those fields (unknown here): otherwise the shared surname of two members of one
    /// household, or the whole name of two namesakes, would count twice or three times.
    /// When the parts are bound to the birth year (`salted_parts`), an exact whole name is
    /// placed at level 3: it is then seen mostly where the parts cannot compare (birth years
    /// that differ or are missing), which EM's sessions, whose pairs share a birth date or a
    /// name part, hardly meet, so that they could not learn a level of its own for it.
    Fuzzy {
        exact: Option<Col<'a>>,
        loose: Option<Col<'a>>,
        bloom: Option<Sim<'a>>,
        parts: [Option<Col<'a>>; 2],
        salted_parts: bool,
    },
    /// A name part (given or family): 2 same (written or read, or a Latin given name's first
    /// forename); 1 same loose reading (kana) or sound (Latin); 0 otherwise.
    Given {
        written: Option<Col<'a>>,
        reading: Option<Col<'a>>,
        loose: Option<Col<'a>>,
        sound: Option<Col<'a>>,
        first: Option<Col<'a>>,
    },
    /// 3 equal; 2 day and month transposed; 1 one component off; 0 otherwise.
    Date { full: Col<'a>, swapped: Option<Col<'a>>, ym: Option<Col<'a>>, md: Option<Col<'a>>, yd: Option<Col<'a>> },
    /// Birth years and months of pairs where either birth date is known only in part (the
    /// date field compares pairs whose dates are both whole, so nothing counts twice). When some
    /// years are estimates (from an age, "abt 1850": `near`), a year one off from an estimate
    /// has a level of its own below the same year.
    Year { full: Option<Col<'a>>, year: Col<'a>, ym: Option<Col<'a>>, near: Option<[Col<'a>; 2]> },
    /// 4 same address (or street); 3 same block or Dice ≥ cut 3; 2 same 丁目 or Dice ≥ cut 2;
    /// 1 same town (or locality); 0 otherwise.
    Address {
        address: Option<Col<'a>>,
        block: Option<Col<'a>>,
        chome: Option<Col<'a>>,
        town: Option<Col<'a>>,
        street: Option<Col<'a>>,
        locality: Option<Col<'a>>,
        bloom: Option<Sim<'a>>,
    },
    /// 1 equal, 0 different.
    Exact(Col<'a>),
    /// 3 Dice ≥ cut 3; 2 ≥ cut 2; 1 ≥ cut 1; 0 otherwise.
    Bloom(Sim<'a>),
}

/// A field of the model, as model.json describes it.
#[derive(Clone, Debug, Serialize)]
pub struct FieldInfo {
    pub name: String,
    pub columns: Vec<String>,
    /// Token columns whose agreement constrains this field: a blocking rule on any of them
    /// makes the field agree by construction, so EM on that rule's pairs leaves it out.
    pub related: Vec<String>,
    /// Level labels, lowest (disagreement) first.
    pub levels: Vec<String>,
    /// Dice cut points of the field's Bloom column (levels 1–3) and how they were set.
    pub dice_cuts: Option<([f32; 3], String)>,
    /// Token column whose value frequencies adjust the top level's weight, if any.
    pub term_frequency: Option<String>,
}

pub struct Comparator<'a> {
    kinds: Vec<Kind<'a>>,
    /// Per field: whether it reads tokens bound to the birth year, so that its disagreement
    /// may only mean a different birth year.
    salted: Vec<bool>,
    /// Birth-year and whole birth-date tokens.
    year: Option<Col<'a>>,
    date: Option<Col<'a>>,
    pub fields: Vec<FieldInfo>,
}

#[inline]
fn eq(col: Option<Col>, a: usize, b: usize) -> Option<bool> {
    let c = col?;
    let (x, y) = (c.get(a), c.get(b));
    if x == 0 || y == 0 { None } else { Some(x == y) }
}

#[inline]
fn dice(col: Option<&BloomColumn>, a: u32, b: u32) -> Option<f32> {
    let c = col?;
    let (x, ox) = c.get(a)?;
    let (y, oy) = c.get(b)?;
    let both = match (<&[u64; 16]>::try_from(x), <&[u64; 16]>::try_from(y)) {
        (Ok(x), Ok(y)) => intersection_words(x, y),
        _ => x.iter().zip(y).map(|(p, q)| (p & q).count_ones()).sum(),
    };
    Some(2.0 * both as f32 / (ox + oy) as f32)
}

/// A stable per-column seed offset.
fn blake3_seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

#[inline]
fn sim_dice(s: Option<Sim>, a: u32, b: u32) -> Option<(f32, [f32; 3])> {
    let s = s?;
    dice(Some(s.col), a, b).map(|d| (d, s.cuts))
}

fn labels(l: &[&str]) -> Vec<String> {
    l.iter().map(|s| s.to_string()).collect()
}

impl<'a> Comparator<'a> {
    /// The fields the extracts support: a field is used when its columns exist in any extract.
    pub fn new(r: &'a Records, seed: u64, exclude: &[String]) -> Comparator<'a> {
        let n = r.len() as u32;
        let mut calibrated: Vec<(String, [f32; 3], String)> = Vec::new();
        for (name, col) in &r.blooms {
            let (cuts, basis) = calibrate(col, n, seed ^ blake3_seed(name));
            calibrated.push((name.clone(), cuts, basis));
        }
        let sim = |name: &str| -> Option<Sim<'a>> {
            let col = r.bloom(name)?;
            let cuts = calibrated.iter().find(|c| c.0 == name).map_or([0.7, 0.8, 0.9], |c| c.1);
            Some(Sim { col, cuts })
        };
        let mut kinds = Vec::new();
        let mut fields = Vec::new();
        let t = |n: &str| r.col(n);
        let mut push = |kind: Kind<'a>, name: &str, columns: &[&str], levels: &[&str], tf: Option<&str>| {
            let columns: Vec<String> = columns
                .iter()
                .filter(|c| r.tokens.contains_key(**c) || r.blooms.contains_key(**c))
                .map(|c| c.to_string())
                .collect();
            kinds.push(kind);
            fields.push(FieldInfo {
                name: name.to_string(),
                columns,
                levels: labels(levels),
                term_frequency: tf.map(str::to_string),
                related: Vec::new(),
                dice_cuts: None,
            });
        };
        let fuzzy = ["different", "Dice ≥ cut 1", "Dice ≥ cut 2", "Dice ≥ cut 3 or loose key equal", "exact"];
        if t("tok_name").is_some() || r.bloom("bf_name").is_some() {
            let kind = Kind::Fuzzy {
                exact: t("tok_name"),
                loose: None,
                bloom: sim("bf_name"),
                parts: [t("tok_family"), t("tok_given")],
                salted_parts: r.token_salt.salts("tok_family"),
            };
            push(kind, "name", &["tok_name", "bf_name", "key_bf_name"], &fuzzy, t("tok_name").map(|_| "tok_name"));
        }
        if t("tok_kana").is_some() || r.bloom("bf_kana").is_some() {
            let kind = Kind::Fuzzy {
                exact: t("tok_kana"),
                loose: t("tok_kana_loose"),
                bloom: sim("bf_kana"),
                parts: [t("tok_family_kana_loose"), t("tok_given_kana_loose")],
                salted_parts: r.token_salt.salts("tok_family_kana_loose"),
            };
            push(kind, "kana", &["tok_kana", "tok_kana_loose", "bf_kana"], &fuzzy, t("tok_kana").map(|_| "tok_kana"));
        }
        if t("tok_given").is_some() || t("tok_given_kana").is_some() {
            let kind = Kind::Given {
                written: t("tok_given"),
                reading: t("tok_given_kana"),
                loose: t("tok_given_kana_loose"),
                sound: t("tok_given_sound"),
                first: t("tok_given_first"),
            };
            push(
                kind,
                "given_name",
                &[
                    "tok_given",
                    "tok_given_first",
                    "tok_given_kana",
                    "tok_given_kana_loose",
                    "tok_given_sound",
                    "key_bf_name",
                ],
                &["different", "loose reading or sound equal", "equal"],
                Some(if t("tok_given").is_some() { "tok_given" } else { "tok_given_kana" }),
            );
        }
        if t("tok_family").is_some() || t("tok_family_kana").is_some() {
            let kind = Kind::Given {
                written: t("tok_family"),
                reading: t("tok_family_kana"),
                loose: t("tok_family_kana_loose"),
                sound: t("tok_family_sound"),
                first: None,
            };
            push(
                kind,
                "family_name",
                &["tok_family", "tok_family_kana", "tok_family_kana_loose", "tok_family_sound", "key_bf_name"],
                &["different", "loose reading or sound equal", "equal"],
                Some(if t("tok_family").is_some() { "tok_family" } else { "tok_family_kana" }),
            );
        }
        if let Some(full) = t("tok_birth_date") {
            let kind = Kind::Date {
                full,
                swapped: t("tok_birth_swapped"),
                ym: t("tok_birth_ym"),
                md: t("tok_birth_md"),
                yd: t("tok_birth_yd"),
            };
            push(
                kind,
                "birth_date",
                &["tok_birth_date", "tok_birth_swapped", "tok_birth_ym", "tok_birth_md", "tok_birth_yd"],
                &["different", "one component off", "day and month transposed", "equal"],
                None,
            );
        }
        // dates known only in part (a year alone, a year and month): their own field, present
        // only when some record has one
        if let Some(year) = t("tok_birth_year") {
            let full = t("tok_birth_date");
            let partial = (0..r.len()).any(|i| year.get(i) != 0 && full.is_none_or(|f| f.get(i) == 0));
            if partial {
                // estimated years, when some record has one
                let some = |c: Option<Col<'a>>| c.filter(|c| (0..r.len()).any(|i| c.get(i) != 0));
                let near = some(t("tok_birth_year_lo")).zip(t("tok_birth_year_hi")).map(|(lo, hi)| [lo, hi]);
                let levels: &[&str] = if near.is_some() {
                    &["different year", "a year apart, one an estimate", "same year", "same year and month"]
                } else {
                    &["different year", "same year", "same year and month"]
                };
                push(
                    Kind::Year { full, year, ym: t("tok_birth_ym"), near },
                    "birth_year",
                    &["tok_birth_year", "tok_birth_ym", "tok_birth_year_lo", "tok_birth_year_hi"],
                    levels,
                    None,
                );
            }
        }
        if let Some(sex) = t("tok_sex") {
            push(Kind::Exact(sex), "sex", &["tok_sex"], &["different", "equal"], None);
        }
        let address_cols =
            ["tok_address", "tok_town_block", "tok_town_chome", "tok_town", "tok_street", "tok_locality", "bf_address"];
        if address_cols.iter().any(|c| r.tokens.contains_key(*c) || r.blooms.contains_key(*c)) {
            let kind = Kind::Address {
                address: t("tok_address"),
                block: t("tok_town_block"),
                chome: t("tok_town_chome"),
                town: t("tok_town"),
                street: t("tok_street"),
                locality: t("tok_locality"),
                bloom: sim("bf_address"),
            };
            push(
                kind,
                "address",
                &address_cols,
                &[
                    "different town",
                    "same town",
                    "same 丁目 or Dice ≥ 0.75",
                    "same block or Dice ≥ 0.9",
                    "same address",
                ],
                None,
            );
        }
        for (col, name) in
            [("tok_postcode", "postcode"), ("tok_resident_id", "resident_id"), ("tok_national_id", "national_id")]
        {
            if let Some(c) = t(col) {
                push(Kind::Exact(c), name, &[col], &["different", "equal"], None);
            }
        }
        for name in r.tokens.keys() {
            if let (Some(extra), Some(col)) = (name.strip_prefix("tok_x_"), r.col(name)) {
                push(Kind::Exact(col), extra, &[name.as_str()], &["different", "equal"], None);
            }
        }
        for name in r.blooms.keys() {
            if let (Some(extra), Some(col)) = (name.strip_prefix("bf_x_"), sim(name)) {
                push(
                    Kind::Bloom(col),
                    extra,
                    &[name.as_str()],
                    &["different", "Dice ≥ 0.7", "Dice ≥ 0.8", "Dice ≥ 0.9"],
                    None,
                );
            }
        }
        for f in fields.iter_mut() {
            f.dice_cuts = calibrated.iter().find(|c| f.columns.contains(&c.0)).map(|c| (c.1, c.2.clone()));
            let extra: &[&str] = match f.name.as_str() {
                "name" => &["tok_family", "tok_given", "tok_family_kana", "tok_given_kana"],
                "kana" => &["tok_family_kana", "tok_given_kana", "tok_family_kana_loose", "tok_given_kana_loose"],
                "birth_date" => &["tok_birth_year"],
                "birth_year" => &["tok_birth_date"],
                "address" => &["tok_postcode"],
                _ => &[],
            };
            f.related = f.columns.iter().cloned().chain(extra.iter().map(|c| c.to_string())).collect();
        }
        let keep: Vec<bool> = fields.iter().map(|f| !exclude.contains(&f.name)).collect();
        let mut k = keep.iter();
        kinds.retain(|_| k.next().copied().unwrap_or(true));
        let mut k = keep.iter();
        fields.retain(|_| k.next().copied().unwrap_or(true));
        kinds.truncate(MAX_FIELDS);
        fields.truncate(MAX_FIELDS);
        let salt = r.token_salt;
        let salted: Vec<bool> = fields.iter().map(|f| f.columns.iter().any(|c| salt.salts(c))).collect();
        // a blocking rule on a salted token fixes the birth year too
        if salt != TokenSalt::None {
            for f in fields.iter_mut().filter(|f| f.name == "birth_date" || f.name == "birth_year") {
                f.related.extend(SALTED_TOKENS.iter().filter(|c| r.tokens.contains_key(**c)).map(|c| c.to_string()));
            }
        }
        Comparator { kinds, salted, year: t("tok_birth_year"), date: t("tok_birth_date"), fields }
    }

    /// Whether field `f` reads tokens bound to the birth year.
    pub fn is_salted(&self, f: usize) -> bool {
        self.salted.get(f).copied().unwrap_or(false)
    }

    /// Whether records `a` and `b` have the same whole birth date.
    pub fn same_birth_date(&self, a: usize, b: usize) -> bool {
        eq(self.date, a, b) == Some(true)
    }

    /// Whether records `a` and `b` have the same birth year.
    #[inline]
    fn same_year(&self, a: usize, b: usize) -> bool {
        eq(self.year, a, b) == Some(true)
    }

    pub fn levels(&self) -> Vec<usize> {
        self.fields.iter().map(|f| f.levels.len()).collect()
    }

    /// The packed comparison vector of records `a` and `b`.
    pub fn gamma(&self, a: u32, b: u32) -> u64 {
        let mut g = 0u64;
        let mut year = None;
        for (i, k) in self.kinds.iter().enumerate() {
            // a salted token differs when the value or the birth year does: such a field is
            // compared only where the years are seen to agree, whatever its level, so that
            // its u (from random pairs) and m mean the same thing
            let level = if self.salted[i] && !*year.get_or_insert_with(|| self.same_year(a as usize, b as usize)) {
                None
            } else {
                level(k, a, b)
            };
            g |= level.map_or(UNKNOWN, u64::from) << (4 * i);
        }
        g
    }

    pub fn len(&self) -> usize {
        self.kinds.len()
    }
}

/// Level of field `i` in a packed γ (None when unknown).
#[inline]
pub fn level_of(g: u64, i: usize) -> Option<u8> {
    let l = (g >> (4 * i)) & 0xF;
    if l == UNKNOWN { None } else { Some(l as u8) }
}

fn fuzzy_cut((d, cuts): (f32, [f32; 3])) -> u8 {
    if d >= cuts[2] {
        3
    } else if d >= cuts[1] {
        2
    } else {
        u8::from(d >= cuts[0])
    }
}

#[inline]
fn level(k: &Kind, a: u32, b: u32) -> Option<u8> {
    let (x, y) = (a as usize, b as usize);
    match *k {
        Kind::Fuzzy { exact, loose, bloom, parts, salted_parts } => {
            if parts.iter().any(|p| eq(*p, x, y) == Some(true)) {
                return None;
            }
            let e = eq(exact, x, y);
            if e == Some(true) {
                return Some(if salted_parts { 3 } else { 4 });
            }
            if eq(loose, x, y) == Some(true) {
                return Some(3);
            }
            match sim_dice(bloom, a, b) {
                Some(d) => Some(fuzzy_cut(d)),
                None => e.map(|_| 0),
            }
        }
        Kind::Given { written, reading, loose, sound, first } => {
            let (w, r, l, s) = (eq(written, x, y), eq(reading, x, y), eq(loose, x, y), eq(sound, x, y));
            if w == Some(true) || r == Some(true) || eq(first, x, y) == Some(true) {
                Some(2)
            } else if l == Some(true) || s == Some(true) {
                Some(1)
            } else if w.is_some() || r.is_some() || l.is_some() || s.is_some() {
                Some(0)
            } else {
                None
            }
        }
        Kind::Date { full, swapped, ym, md, yd } => {
            let f = eq(Some(full), x, y)?;
            if f {
                return Some(3);
            }
            let s = |p: Option<Col>, q: Option<Col>| match (p, q) {
                (Some(p), Some(q)) => p.get(x) != 0 && p.get(x) == q.get(y),
                _ => false,
            };
            if s(Some(full), swapped) || s(swapped, Some(full)) {
                return Some(2);
            }
            Some(u8::from([eq(ym, x, y), eq(md, x, y), eq(yd, x, y)].contains(&Some(true))))
        }
        Kind::Year { full, year, ym, near } => {
            if full.is_some_and(|f| f.get(x) != 0 && f.get(y) != 0) {
                return None;
            }
            let same = u8::from(near.is_some());
            if !eq(Some(year), x, y)? {
                // one year an estimate, and the other's year one of its neighbours
                let one_off = near.is_some_and(|[lo, hi]| {
                    let (yx, yy) = (year.get(x), year.get(y));
                    [lo.get(y), hi.get(y)].contains(&yx) || [lo.get(x), hi.get(x)].contains(&yy)
                });
                return Some(u8::from(one_off));
            }
            Some(same + if eq(ym, x, y) == Some(true) { 2 } else { 1 })
        }
        Kind::Address { address, block, chome, town, street, locality, bloom } => {
            let (ad, st) = (eq(address, x, y), eq(street, x, y));
            if ad == Some(true) || st == Some(true) {
                return Some(4);
            }
            let bl = eq(block, x, y);
            let d = sim_dice(bloom, a, b);
            if bl == Some(true) || d.is_some_and(|(d, c)| d >= c[2]) {
                return Some(3);
            }
            let ch = eq(chome, x, y);
            if ch == Some(true) || d.is_some_and(|(d, c)| d >= c[1]) {
                return Some(2);
            }
            let (tw, lo) = (eq(town, x, y), eq(locality, x, y));
            if tw == Some(true) || lo == Some(true) {
                return Some(1);
            }
            if [ad, st, bl, ch, tw, lo].iter().any(Option::is_some) || d.is_some() { Some(0) } else { None }
        }
        Kind::Exact(c) => eq(Some(c), x, y).map(u8::from),
        Kind::Bloom(c) => sim_dice(Some(c), a, b).map(fuzzy_cut),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random_column(n: usize, density: f64, seed: u64) -> BloomColumn {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let data = (0..n * 16)
            .map(|_| (0..64).fold(0u64, |w, b| if rng.random_bool(density) { w | (1 << b) } else { w }))
            .collect();
        BloomColumn::new(16, data)
    }

    #[test]
    fn dice_cuts_sit_at_the_random_pair_tails_whatever_the_density() {
        for density in [0.05, 0.5] {
            let col = random_column(2_000, density, 7);
            let (cuts, basis) = calibrate(&col, 2_000, 11);
            assert!(basis.contains("random-pair tails"), "{basis}");
            assert!(cuts[0] < cuts[1] && cuts[1] < cuts[2], "{cuts:?}");
            // the share of fresh random pairs at or above each cut is near its tail share
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(99);
            let (mut above1, mut above2, mut total) = (0u32, 0u32, 0u32);
            while total < 200_000 {
                let (a, b) = (rng.random_range(0..2_000u32), rng.random_range(0..2_000u32));
                if a == b {
                    continue;
                }
                let d = dice(Some(&col), a, b).unwrap_or(0.0);
                total += 1;
                above1 += u32::from(d >= cuts[0]);
                above2 += u32::from(d >= cuts[1]);
            }
            let (s1, s2) = (above1 as f64 / total as f64, above2 as f64 / total as f64);
            assert!(s1 > 0.005 && s1 < 0.02, "density {density}: {s1} of random pairs above cut 1");
            assert!(s2 > 0.0003 && s2 < 0.003, "density {density}: {s2} above cut 2");
        }
        // dense (balanced-like) filters put the cuts far higher than sparse ones
        let sparse = calibrate(&random_column(2_000, 0.05, 7), 2_000, 11).0;
        let dense = calibrate(&random_column(2_000, 0.5, 7), 2_000, 11).0;
        assert!(dense[0] > sparse[2], "{dense:?} vs {sparse:?}");
    }

    /// Records with a surname, given name and birth year token each, and a whole date.
    fn people(salt: TokenSalt) -> Records {
        // (family, given, year, date) per record; 0 = no token
        let people: [(u64, u64, u64, u64); 5] = [
            (7, 1, 2015, 20150401),
            (7, 1, 2015, 20150401),
            (7, 2, 2016, 20160101),
            (8, 3, 2015, 20150930),
            (7, 1, 0, 0),
        ];
        let col = |f: fn(&(u64, u64, u64, u64)) -> u64| people.iter().map(f).collect::<Vec<u64>>();
        let tokens = [
            ("tok_family", col(|p| p.0)),
            ("tok_given", col(|p| p.1)),
            ("tok_birth_year", col(|p| p.2)),
            ("tok_birth_date", col(|p| p.3)),
        ];
        Records::from_tokens(tokens.into_iter().map(|(k, v)| (k.to_string(), v)).collect(), salt)
    }

    #[test]
    fn salted_name_parts_compare_only_within_a_birth_year() {
        let r = people(TokenSalt::BirthYear);
        let c = Comparator::new(&r, 1, &[]);
        let f = |name: &str| c.fields.iter().position(|x| x.name == name).unwrap();
        let (family, given, date) = (f("family_name"), f("given_name"), f("birth_date"));
        assert!(c.is_salted(family) && c.is_salted(given) && !c.is_salted(date));
        // same year: compared as usual, disagreement included
        assert_eq!(level_of(c.gamma(0, 1), family), Some(2));
        assert_eq!(level_of(c.gamma(0, 3), family), Some(0));
        assert_eq!(level_of(c.gamma(0, 3), given), Some(0));
        // another year (a sibling, or a mistyped year): the salted tokens differ whatever the
        // names, so the fields are unknown, not different; the date still compares
        assert_eq!(level_of(c.gamma(0, 2), family), None);
        assert_eq!(level_of(c.gamma(0, 2), given), None);
        assert_eq!(level_of(c.gamma(0, 2), date), Some(0));
        // no birth year: unknown
        assert_eq!(level_of(c.gamma(0, 4), family), None);
        // the same tokens unsalted: a different given name is evidence
        let r = people(TokenSalt::None);
        let c = Comparator::new(&r, 1, &[]);
        assert!(!c.is_salted(family));
        assert_eq!(level_of(c.gamma(0, 2), given), Some(0));
        assert_eq!(level_of(c.gamma(0, 4), family), Some(2));
    }

    #[test]
    fn a_year_one_off_an_estimate_has_a_level_between_different_and_same() {
        // years as tokens (the year itself stands for its keyed hash); 0 = no token.
        // 0: born 1816 exactly (a date); 1: aged, estimated 1817 (1816–1818); 2: aged, estimated
        // 1816; 3: aged, estimated 1814; 4: a year alone, 1817, not an estimate
        let year = vec![1816, 1817, 1816, 1814, 1817];
        let lo = vec![0, 1816, 1815, 1813, 0];
        let hi = vec![0, 1818, 1817, 1815, 0];
        let date = vec![18160401, 0, 0, 0, 0];
        let tokens =
            [("tok_birth_year", year), ("tok_birth_year_lo", lo), ("tok_birth_year_hi", hi), ("tok_birth_date", date)];
        let r = Records::from_tokens(tokens.into_iter().map(|(k, v)| (k.to_string(), v)).collect(), TokenSalt::None);
        let c = Comparator::new(&r, 1, &[]);
        let f = c.fields.iter().position(|x| x.name == "birth_year").unwrap();
        assert_eq!(c.fields[f].levels.len(), 4);
        assert_eq!(level_of(c.gamma(0, 2), f), Some(2), "same year");
        assert_eq!(level_of(c.gamma(0, 1), f), Some(1), "an exact year one below an estimate");
        assert_eq!(level_of(c.gamma(1, 0), f), Some(1), "either way round");
        assert_eq!(level_of(c.gamma(1, 2), f), Some(1), "two estimates a year apart");
        assert_eq!(level_of(c.gamma(0, 3), f), Some(0), "two years off an estimate");
        assert_eq!(level_of(c.gamma(1, 3), f), Some(0), "estimates three years apart");
        // two years that are not estimates agree only when equal
        assert_eq!(level_of(c.gamma(0, 4), f), Some(0));

        // without estimates the field keeps its three levels
        let tokens = [("tok_birth_year", vec![1816, 1817, 1816]), ("tok_birth_date", vec![18160401, 0, 0])];
        let r = Records::from_tokens(tokens.into_iter().map(|(k, v)| (k.to_string(), v)).collect(), TokenSalt::None);
        let c = Comparator::new(&r, 1, &[]);
        let f = c.fields.iter().position(|x| x.name == "birth_year").unwrap();
        assert_eq!(c.fields[f].levels.len(), 3);
        assert_eq!(level_of(c.gamma(0, 2), f), Some(1));
        assert_eq!(level_of(c.gamma(0, 1), f), Some(0));
    }

    #[test]
    fn identical_filters_reach_the_top_cut_even_when_many_random_pairs_are_identical() {
        // 2,000 records sharing 20 values: one random pair in 20 is identical, far more than
        // the tails the cuts sit at
        let distinct = random_column(20, 0.2, 5);
        let data: Vec<u64> = (0..2_000).flat_map(|i| distinct.get((i % 20) as u32).unwrap().0.to_vec()).collect();
        let col = BloomColumn::new(16, data);
        let (cuts, _) = calibrate(&col, 2_000, 3);
        assert!(cuts.iter().all(|c| *c <= 1.0), "{cuts:?}");
        assert!(dice(Some(&col), 0, 20).unwrap() >= cuts[2], "identical filters: {cuts:?}");
    }

    #[test]
    fn too_few_records_fall_back_to_fixed_cuts() {
        let col = random_column(50, 0.1, 3);
        let (cuts, basis) = calibrate(&col, 50, 1);
        assert_eq!(cuts, [0.7, 0.8, 0.9]);
        assert!(basis.starts_with("fixed"), "{basis}");
    }
}
