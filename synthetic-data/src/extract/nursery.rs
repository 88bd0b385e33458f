//! 保育 (nursery): children in 保育所等 with fee arrears. UTF-8 CSV with a BOM (saved from
//! Excel), Western dates, half-width spaces in names.

use std::path::Path;

use rand::Rng;

use super::identity::{KanaScript, SexCoding, Style};
use super::{Context, DepartmentWriter, kana_separator};
use crate::SynthError;
use crate::latent::{bernoulli_or, rates};
use crate::noise::address::AddressForm;
use crate::noise::era_date::DateForm;
use crate::population::{Household, Person};
use crate::sink::csv::{CsvSink, Encoding};
use crate::sink::{Cell, Column, text};

pub const COLUMNS: &[Column] = &[
    text("園児番号"),
    text("宛名番号"),
    text("施設名"),
    text("氏名"),
    text("カナ"),
    text("生年月日"),
    text("性別"),
    text("保護者名"),
    text("住所"),
    text("保育料滞納月数"),
];

pub const STYLE: Style = Style {
    date_form: Some(DateForm::WesternSlash),
    kana: KanaScript::Katakana,
    name_separator: " ",
    sex: SexCoding::Kanji,
    address_form: AddressForm::Banchi,
    city_prefix: true,
    building: true,
    registry: false,
};

pub const MAPPING: &str = r#"# 保育 (nursery) extract: 保育所等 enrolment and fee arrears.
department = "nursery"

[source]
path = "nursery.csv"
encoding = "auto"

[identity]
record_id = "園児番号"
name = "氏名"
name_kana = "カナ"
birth_date = "生年月日"
sex = "性別"
address = "住所"
resident_id = "宛名番号"

[identity.extra]
guardian_name = { column = "保護者名", compare = "bloom" }

[attributes]
facility = { column = "施設名", type = "string", sensitivity = "quasi_identifier" }
nursery_fee_arrears = { column = "保育料滞納月数", type = "int", sensitivity = "special_care" }
"#;

const FACILITIES: &[&str] =
    &["みまもり保育園", "さくら保育園", "港こども園", "青葉保育所", "わかば認定こども園", "ひかり保育園"];

pub struct Nursery {
    pub w: DepartmentWriter,
}

impl Nursery {
    pub fn create(out: &Path) -> Result<Self, SynthError> {
        let w = DepartmentWriter::create(out, "nursery", STYLE, MAPPING, |dir| {
            Ok(Box::new(CsvSink::create(&dir.join("nursery.csv"), COLUMNS, Encoding::Utf8Bom)?))
        })?;
        Ok(Nursery { w })
    }

    pub fn household<R: Rng>(&mut self, ctx: &mut Context, rng: &mut R, h: &Household) -> Result<(), SynthError> {
        let as_of = ctx.as_of;
        let children: Vec<&Person> = h.children().filter(|c| c.age(as_of) < 6 && c.grade.is_none()).collect();
        let facility = FACILITIES[rng.random_range(0..FACILITIES.len())];
        let guardian = h.guardian().map(|g| format!("{} {}", g.family.kanji, g.given.kanji));
        for c in children {
            // single and working parents use nurseries more
            let use_p = if h.single_parent() { 0.8 } else { rates::NURSERY_USE };
            if !rng.random_bool(use_p) {
                continue;
            }
            let poor = h.latent.poverty && !h.latent.public_assistance;
            let arrears =
                if bernoulli_or(rng, rates::FEE_ARREARS, if poor { rates::FEE_ARREARS_LOG_OR_POVERTY } else { 0.0 }) {
                    rng.random_range(1..7)
                } else {
                    0
                };
            let record_id = format!("N{:07}", self.w.next_seq());
            let rid = record_id.clone();
            let guardian = guardian.clone();
            self.w.write(ctx, rng, record_id, c, h, |id, sep, _n, _rng| {
                vec![
                    Cell::text(rid),
                    Cell::Text(id.resident_id.clone()),
                    Cell::text(facility),
                    Cell::text(id.full_name(sep)),
                    Cell::Text(id.full_kana(kana_separator(&STYLE, sep))),
                    Cell::Text(id.birth_text.clone()),
                    Cell::Text(id.sex.clone()),
                    Cell::Text(guardian),
                    Cell::Text(id.address.clone()),
                    Cell::text(arrears.to_string()),
                ]
            })?;
        }
        Ok(())
    }
}
