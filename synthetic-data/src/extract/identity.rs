//! Renders a person's identity the way one department writes it, with noise.

use chrono::NaiveDate;
use rand::Rng;

use crate::municipality::{CITY, DISTRICTS};
use crate::noise::address::{self, Address, AddressForm};
use crate::noise::era_date::{self, DateForm};
use crate::noise::kana;
use crate::noise::kanji::{self, GAIJI, VARIANTS};
use crate::noise::{NoiseKind, Noiser};
use crate::population::names::{GIVEN_FEMALE, GIVEN_MALE, Name};
use crate::population::{Household, Person, Sex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KanaScript {
    Katakana,
    Halfwidth,
    Hiragana,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SexCoding {
    /// 1 男, 2 女
    Digit,
    /// 男 / 女
    Kanji,
}

/// How one department writes identities.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// None: the date is a typed date cell (Excel, Parquet), so it has no written form.
    pub date_form: Option<DateForm>,
    pub kana: KanaScript,
    /// Separator between family and given name in a one-column name.
    pub name_separator: &'static str,
    pub sex: SexCoding,
    pub address_form: AddressForm,
    pub city_prefix: bool,
    pub building: bool,
    /// The registry: the clean spine (rates scaled down, never stale).
    pub registry: bool,
}

/// One rendered identity; `None` fields are empty cells.
#[derive(Clone, Debug, Default)]
pub struct Identity {
    pub family: String,
    pub given: String,
    pub family_kana: Option<String>,
    pub given_kana: Option<String>,
    pub birth_text: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<String>,
    pub address: Option<String>,
    pub building: Option<String>,
    pub postcode: Option<String>,
    pub resident_id: Option<String>,
}

impl Identity {
    /// Family and given name in one column, joined by the department's separator (or another).
    pub fn full_name(&self, sep: &str) -> String {
        format!("{}{sep}{}", self.family, self.given)
    }

    pub fn full_kana(&self, sep: &str) -> Option<String> {
        match (&self.family_kana, &self.given_kana) {
            (Some(f), Some(g)) => Some(format!("{f}{sep}{g}")),
            _ => None,
        }
    }
}

fn script(s: &str, k: KanaScript) -> String {
    match k {
        KanaScript::Katakana => s.to_string(),
        KanaScript::Halfwidth => kana::to_halfwidth(s),
        KanaScript::Hiragana => kana::to_hiragana(s),
    }
}

fn postcode(town: &str) -> Option<&'static str> {
    DISTRICTS.iter().flat_map(|d| d.towns.iter()).find(|t| t.name == town).map(|t| t.postcode)
}

fn kanji_noise<R: Rng>(n: &mut Noiser, rng: &mut R, s: String, field: &'static str) -> String {
    let mut s = s;
    if kanji::eligible(&s, VARIANTS) && n.roll(rng, NoiseKind::KanjiVariant, field) {
        s = kanji::substitute(&s, VARIANTS, rng);
    }
    if kanji::eligible(&s, GAIJI) && n.roll(rng, NoiseKind::Gaiji, field) {
        s = kanji::substitute(&s, GAIJI, rng);
    }
    s
}

fn kana_noise<R: Rng>(n: &mut Noiser, rng: &mut R, s: &str, style: &Style, field: &'static str) -> String {
    let mut s = s.to_string();
    if n.roll(rng, NoiseKind::KanaTypo, field) {
        s = kana::typo(&s, rng);
    }
    if kana::has_small(&s) && n.roll(rng, NoiseKind::SmallKana, field) {
        s = kana::enlarge_small(&s);
    }
    if kana::has_voiced(&s) && n.roll(rng, NoiseKind::VoicedMark, field) {
        s = kana::vary_voiced(&s, rng);
    }
    let mut k = style.kana;
    if n.roll(rng, NoiseKind::KanaScript, field) {
        let others: Vec<KanaScript> = [KanaScript::Katakana, KanaScript::Halfwidth, KanaScript::Hiragana]
            .into_iter()
            .filter(|x| *x != style.kana)
            .collect();
        k = others[rng.random_range(0..others.len())];
    }
    script(&s, k)
}

/// Renders `p` of `h` as a department writing in `style` would.
pub fn render<R: Rng>(p: &Person, h: &Household, style: &Style, n: &mut Noiser, rng: &mut R) -> Identity {
    // surname: a department record may predate a marriage or divorce
    let mut family: Name = p.family;
    if let Some(former) = p.former_family
        && !style.registry
        && n.roll(rng, NoiseKind::StaleSurname, "family_name")
    {
        family = former;
    }
    let mut given = p.given;
    let table = if p.sex == Sex::Male { &*GIVEN_MALE } else { &*GIVEN_FEMALE };
    if table.has_homophone(given)
        && n.roll(rng, NoiseKind::HomophoneKanji, "given_name")
        && let Some(h) = table.homophone(given, rng)
    {
        given = Name { kanji: h.kanji, kana: given.kana };
    }
    let family_kanji = kanji_noise(n, rng, family.kanji.to_string(), "family_name");
    let given_kanji = kanji_noise(n, rng, given.kanji.to_string(), "given_name");

    let mut id = Identity { family: family_kanji, given: given_kanji, ..Identity::default() };

    if !n.roll(rng, NoiseKind::MissingValue, "kana") {
        id.family_kana = Some(kana_noise(n, rng, family.kana, style, "kana"));
        id.given_kana = Some(kana_noise(n, rng, given.kana, style, "kana"));
    }

    if !n.roll(rng, NoiseKind::MissingValue, "birth_date") {
        let mut birth = p.birth;
        if n.roll(rng, NoiseKind::DateTypo, "birth_date") {
            birth = era_date::typo(birth, rng);
        }
        id.birth_date = Some(birth);
        if let Some(form) = style.date_form {
            let form = if n.roll(rng, NoiseKind::EraDateForm, "birth_date") { form.other(rng) } else { form };
            let mut text = era_date::format(birth, form);
            if n.roll(rng, NoiseKind::FullwidthDigits, "birth_date") {
                text = address::fullwidth_digits(&text);
            }
            id.birth_text = Some(text);
        }
    }

    if !n.roll(rng, NoiseKind::MissingValue, "sex") {
        id.sex = Some(
            match (style.sex, p.sex) {
                (SexCoding::Digit, Sex::Male) => "1",
                (SexCoding::Digit, Sex::Female) => "2",
                (SexCoding::Kanji, Sex::Male) => "男",
                (SexCoding::Kanji, Sex::Female) => "女",
            }
            .to_string(),
        );
    }

    if !n.roll(rng, NoiseKind::MissingValue, "address") {
        let mut a: &Address = &h.address;
        if let Some(prev) = &h.previous_address
            && !style.registry
            && n.roll(rng, NoiseKind::StaleAddress, "address")
        {
            a = prev;
        }
        let form = if n.roll(rng, NoiseKind::AddressForm, "address") {
            style.address_form.other(rng)
        } else {
            style.address_form
        };
        let mut text = address::street(a, form);
        if style.city_prefix {
            text = format!("{CITY}{text}");
        }
        let mut building = a.building.clone();
        if building.is_some() && n.roll(rng, NoiseKind::BuildingDropped, "address") {
            building = None;
        }
        if style.building {
            if let Some(b) = &building {
                text = format!("{text} {b}");
            }
        } else {
            id.building = building;
        }
        if address::has_digit(&text) && n.roll(rng, NoiseKind::FullwidthDigits, "address") {
            text = address::fullwidth_digits(&text);
        }
        id.address = Some(text);
        id.postcode = postcode(a.town).map(str::to_string);
    }

    // the registry's 宛名番号 is its record key and never missing
    if let Some(r) = &p.resident_id
        && (style.registry || !n.roll(rng, NoiseKind::MissingValue, "resident_id"))
    {
        id.resident_id = Some(r.clone());
    }
    id
}

/// The separator a record uses between family and given name: the department's own, or
/// (name_spacing noise) another one.
pub fn name_separator<R: Rng>(style: &Style, n: &mut Noiser, rng: &mut R) -> &'static str {
    if n.roll(rng, NoiseKind::NameSpacing, "name") {
        let others: Vec<&'static str> = ["　", " ", ""].into_iter().filter(|s| *s != style.name_separator).collect();
        others[rng.random_range(0..others.len())]
    } else {
        style.name_separator
    }
}
