//! 児童相談 (child and family consultations): 相談記録 and 要対協 registration, one row per
//! consultation. Parquet with typed columns, as a case-management system exports it.

use std::path::Path;

use chrono::Days;
use rand::Rng;

use super::identity::{KanaScript, SexCoding, Style};
use super::{Context, DepartmentWriter, kana_separator};
use crate::SynthError;
use crate::latent::rates;
use crate::noise::address::AddressForm;
use crate::population::Household;
use crate::sink::parquet::ParquetSink;
use crate::sink::{Cell, Column, boolean, date, text};

pub const COLUMNS: &[Column] = &[
    text("相談番号"),
    text("宛名番号"),
    text("児童氏名"),
    text("児童カナ"),
    date("生年月日"),
    text("性別"),
    text("住所"),
    date("相談受付日"),
    text("相談種別"),
    boolean("要対協登録"),
];

pub const STYLE: Style = Style {
    date_form: None,
    kana: KanaScript::Katakana,
    name_separator: "　",
    sex: SexCoding::Kanji,
    address_form: AddressForm::Banchi,
    city_prefix: true,
    building: true,
    registry: false,
};

pub const MAPPING: &str = r#"# 児童相談 (child and family consultation) extract: 相談記録, 要対協 registration.
department = "consultation"

[source]
path = "consultation.parquet"

[identity]
record_id = "相談番号"
name = "児童氏名"
name_kana = "児童カナ"
birth_date = "生年月日"
sex = "性別"
address = "住所"
resident_id = "宛名番号"

[attributes]
received = { column = "相談受付日", type = "date", sensitivity = "special_care" }
category = { column = "相談種別", type = "string", sensitivity = "special_care" }
protection_council = { column = "要対協登録", type = "bool", sensitivity = "special_care" }
"#;

const OTHER_CATEGORIES: &[&str] = &["保健相談", "障害相談", "育成相談（性格行動）", "育成相談（しつけ）", "非行相談"];

pub struct Consultation {
    pub w: DepartmentWriter,
}

impl Consultation {
    pub fn create(out: &Path) -> Result<Self, SynthError> {
        let w = DepartmentWriter::create(out, "consultation", STYLE, MAPPING, |dir| {
            Ok(Box::new(ParquetSink::create(&dir.join("consultation.parquet"), COLUMNS)?))
        })?;
        Ok(Consultation { w })
    }

    pub fn household<R: Rng>(&mut self, ctx: &mut Context, rng: &mut R, h: &Household) -> Result<(), SynthError> {
        let as_of = ctx.as_of;
        for c in h.children() {
            let Some(l) = &c.child else { continue };
            let refusal = l.school_refusal.unwrap_or(false);
            let mut cases: Vec<&'static str> = Vec::new();
            if l.maltreatment_risk && rng.random_bool(rates::CONSULTATION_AT_RISK) {
                for _ in 0..rng.random_range(1..4) {
                    cases.push(if rng.random_bool(0.7) {
                        "養護相談（児童虐待）"
                    } else {
                        "養護相談（その他）"
                    });
                }
            }
            if refusal && rng.random_bool(0.15) {
                cases.push("育成相談（不登校）");
            }
            if rng.random_bool(rates::CONSULTATION_OTHER) {
                cases.push(OTHER_CATEGORIES[rng.random_range(0..OTHER_CATEGORIES.len())]);
            }
            let registered = l.maltreatment_risk
                && cases.iter().any(|k| k.starts_with("養護"))
                && rng.random_bool(rates::PROTECTION_COUNCIL_GIVEN_CONSULTATION);
            let age_days = (as_of - c.birth).num_days().max(1) as u64;
            for category in cases {
                let received = as_of - Days::new(rng.random_range(0..age_days.min(4 * 365)));
                let record_id = format!("C{:07}", self.w.next_seq());
                let rid = record_id.clone();
                self.w.write(ctx, rng, record_id, c, h, |id, sep, _n, _rng| {
                    vec![
                        Cell::text(rid),
                        Cell::Text(id.resident_id.clone()),
                        Cell::text(id.full_name(sep)),
                        Cell::Text(id.full_kana(kana_separator(&STYLE, sep))),
                        Cell::Date(id.birth_date),
                        Cell::Text(id.sex.clone()),
                        Cell::Text(id.address.clone()),
                        Cell::Date(Some(received)),
                        Cell::text(category),
                        Cell::Bool(Some(registered)),
                    ]
                })?;
            }
        }
        Ok(())
    }
}
