//! Identity noise: the kinds of error and variation real department extracts carry, each applied
//! at a configured rate and recorded in a ledger (`truth/noise.csv`) so evaluation can break
//! linkage errors down by cause.

pub mod address;
pub mod era_date;
pub mod kana;
pub mod kanji;

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// One kind of noise; `as_str` is its name in the ledger and in `synth.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseKind {
    /// A date written in another common form than the department's own (和暦 ⇄ 西暦, R3.4.5, H280401 …).
    EraDateForm,
    /// One date component off by one, or day and month transposed.
    DateTypo,
    /// A reading in another script than the department's own (hiragana, half-width, full-width katakana).
    KanaScript,
    /// Small kana written large (ショウ → シヨウ); eligible when the reading has small kana.
    SmallKana,
    /// A voiced kana written another way (ヅ/ズ, ヂ/ジ, separate ゛); eligible when the reading has one.
    VoicedMark,
    /// A kanji written as its 異体字 (高 → 髙); eligible when the name has such a kanji.
    KanjiVariant,
    /// A kanji written as a 外字 outside CP932 (吉 → 𠮷), which a CP932 export turns into `?`.
    Gaiji,
    /// A given name keyed with another kanji of the same reading (愛斗 → 愛翔).
    HomophoneKanji,
    /// One kana substituted, dropped or doubled in the reading.
    KanaTypo,
    /// Digits written full width (１２３).
    FullwidthDigits,
    /// An address written in another form (1丁目2番3号 / 1-2-3 / 一丁目2番地3).
    AddressForm,
    /// The building and room (方書) left out; eligible when the address has one.
    BuildingDropped,
    /// An identity field left empty.
    MissingValue,
    /// Family and given name separated differently (full-width space, half-width space, none).
    NameSpacing,
    /// A former surname (before marriage or divorce) in a department record; eligible for persons who changed surname.
    StaleSurname,
    /// The previous address in a department record; eligible for persons who moved within the city.
    StaleAddress,
}

impl NoiseKind {
    pub const ALL: [NoiseKind; 16] = [
        NoiseKind::EraDateForm,
        NoiseKind::DateTypo,
        NoiseKind::KanaScript,
        NoiseKind::SmallKana,
        NoiseKind::VoicedMark,
        NoiseKind::KanjiVariant,
        NoiseKind::Gaiji,
        NoiseKind::HomophoneKanji,
        NoiseKind::KanaTypo,
        NoiseKind::FullwidthDigits,
        NoiseKind::AddressForm,
        NoiseKind::BuildingDropped,
        NoiseKind::MissingValue,
        NoiseKind::NameSpacing,
        NoiseKind::StaleSurname,
        NoiseKind::StaleAddress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoiseKind::EraDateForm => "era_date_form",
            NoiseKind::DateTypo => "date_typo",
            NoiseKind::KanaScript => "kana_script",
            NoiseKind::SmallKana => "small_kana",
            NoiseKind::VoicedMark => "voiced_mark",
            NoiseKind::KanjiVariant => "kanji_variant",
            NoiseKind::Gaiji => "gaiji",
            NoiseKind::HomophoneKanji => "homophone_kanji",
            NoiseKind::KanaTypo => "kana_typo",
            NoiseKind::FullwidthDigits => "fullwidth_digits",
            NoiseKind::AddressForm => "address_form",
            NoiseKind::BuildingDropped => "building_dropped",
            NoiseKind::MissingValue => "missing_value",
            NoiseKind::NameSpacing => "name_spacing",
            NoiseKind::StaleSurname => "stale_surname",
            NoiseKind::StaleAddress => "stale_address",
        }
    }
}

/// The rate of each noise kind, per eligible field value of a non-registry record. The
/// registry (the clean spine) gets a tenth of each rate, and no stale values.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NoiseRates {
    pub rates: BTreeMap<NoiseKind, f64>,
}

impl Default for NoiseRates {
    /// Rates in the range data-quality studies of administrative name/date/address fields report
    /// (a few per cent per field for keying errors, more for form variation), so that linkage
    /// faces a realistic mix rather than a clean or a hopeless extract.
    fn default() -> Self {
        use NoiseKind::*;
        let rates = [
            (EraDateForm, 0.05),
            (DateTypo, 0.01),
            (KanaScript, 0.04),
            (SmallKana, 0.15),
            (VoicedMark, 0.05),
            (KanjiVariant, 0.10),
            (Gaiji, 0.05),
            (HomophoneKanji, 0.01),
            (KanaTypo, 0.02),
            (FullwidthDigits, 0.05),
            (AddressForm, 0.10),
            (BuildingDropped, 0.30),
            (MissingValue, 0.02),
            (NameSpacing, 0.05),
            (StaleSurname, 0.50),
            (StaleAddress, 0.50),
        ];
        NoiseRates { rates: rates.into_iter().collect() }
    }
}

impl NoiseRates {
    pub fn rate(&self, kind: NoiseKind) -> f64 {
        self.rates.get(&kind).copied().unwrap_or(0.0)
    }
}

/// How often one kind was eligible and applied.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct NoiseCount {
    pub eligible: u64,
    pub applied: u64,
}

/// Counts per kind and per stratum (`registry` or `departments`), for `synth.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NoiseStats {
    pub departments: BTreeMap<NoiseKind, NoiseCount>,
    pub registry: BTreeMap<NoiseKind, NoiseCount>,
}

/// One applied noise, for the ledger.
#[derive(Clone, Debug)]
pub struct NoiseEvent {
    pub kind: NoiseKind,
    pub field: &'static str,
}

/// Draws noise for one record and remembers what it applied.
pub struct Noiser<'a> {
    rates: &'a NoiseRates,
    stats: &'a mut BTreeMap<NoiseKind, NoiseCount>,
    scale: f64,
    pub events: Vec<NoiseEvent>,
}

impl<'a> Noiser<'a> {
    /// `registry` selects the clean-spine rates (a tenth of each).
    pub fn new(rates: &'a NoiseRates, stats: &'a mut NoiseStats, registry: bool) -> Self {
        let (stats, scale) = if registry { (&mut stats.registry, 0.1) } else { (&mut stats.departments, 1.0) };
        Noiser { rates, stats, scale, events: Vec::new() }
    }

    /// Decides whether `kind` hits `field`, which the caller has found eligible.
    pub fn roll<R: Rng>(&mut self, rng: &mut R, kind: NoiseKind, field: &'static str) -> bool {
        let count = self.stats.entry(kind).or_default();
        count.eligible += 1;
        let p = (self.rates.rate(kind) * self.scale).clamp(0.0, 1.0);
        let hit = rng.random_bool(p);
        if hit {
            count.applied += 1;
            self.events.push(NoiseEvent { kind, field });
        }
        hit
    }
}
