//! 住民記録 (registry): the clean spine. UTF-8 CSV, one row per resident, names and readings in
//! separate columns, 和暦 dates, 宛名番号 and 世帯番号.

use std::path::Path;

use rand::Rng;

use super::identity::{KanaScript, SexCoding, Style};
use super::{Context, DepartmentWriter};
use crate::SynthError;
use crate::municipality::DISTRICTS;
use crate::noise::address::AddressForm;
use crate::noise::era_date::{self, DateForm};
use crate::population::{Household, Relation};
use crate::sink::csv::{CsvSink, Encoding};
use crate::sink::{Cell, Column, text};

pub const COLUMNS: &[Column] = &[
    text("宛名番号"),
    text("世帯番号"),
    text("続柄"),
    text("氏"),
    text("名"),
    text("氏カナ"),
    text("名カナ"),
    text("生年月日"),
    text("性別"),
    text("郵便番号"),
    text("住所"),
    text("方書"),
    text("学区"),
    text("転入日"),
    text("転出日"),
    text("国籍"),
];

pub const STYLE: Style = Style {
    date_form: Some(DateForm::EraKanji),
    kana: KanaScript::Katakana,
    name_separator: "　",
    sex: SexCoding::Kanji,
    address_form: AddressForm::Banchi,
    city_prefix: false,
    building: false,
    registry: true,
};

pub const MAPPING: &str = r#"# 住民記録 (resident registry) extract: the linkage spine.
department = "registry"

[source]
path = "registry.csv"
encoding = "utf-8"

[identity]
record_id = "宛名番号"
family_name = "氏"
given_name = "名"
family_kana = "氏カナ"
given_kana = "名カナ"
birth_date = "生年月日"
sex = "性別"
address = "住所"
postcode = "郵便番号"
resident_id = "宛名番号"
household_id = "世帯番号"

[attributes]
relation = { column = "続柄", type = "string", sensitivity = "quasi_identifier" }
district = { column = "学区", type = "string", sensitivity = "aggregate_safe" }
moved_in = { column = "転入日", type = "date", sensitivity = "quasi_identifier" }
moved_out = { column = "転出日", type = "date", sensitivity = "quasi_identifier" }
nationality = { column = "国籍", type = "string", sensitivity = "quasi_identifier" }
"#;

pub struct Registry {
    pub w: DepartmentWriter,
}

impl Registry {
    pub fn create(out: &Path) -> Result<Self, SynthError> {
        let w = DepartmentWriter::create(out, "registry", STYLE, MAPPING, |dir| {
            Ok(Box::new(CsvSink::create(&dir.join("registry.csv"), COLUMNS, Encoding::Utf8)?))
        })?;
        Ok(Registry { w })
    }

    pub fn household<R: Rng>(&mut self, ctx: &mut Context, rng: &mut R, h: &Household) -> Result<(), SynthError> {
        if h.outside_registry {
            return Ok(());
        }
        let district_name = DISTRICTS.iter().find(|d| d.id == h.district.id).map(|d| d.name).unwrap_or_default();
        let date = |d: Option<chrono::NaiveDate>| Cell::Text(d.map(|d| era_date::format(d, DateForm::EraKanji)));
        for p in &h.members {
            let Some(resident_id) = p.resident_id.clone() else { continue };
            let relation = match (p.relation, p.sex) {
                (Relation::Head, _) => "世帯主",
                (Relation::Spouse, crate::population::Sex::Female) => "妻",
                (Relation::Spouse, _) => "夫",
                (Relation::Child, _) => "子",
                (Relation::Grandparent, _) => "母",
            };
            let household_no = h.registry_household_no.clone();
            let moved_in = h.moved_in;
            let moved_out = h.moved_out;
            let nationality = h.nationality.unwrap_or("日本");
            // the record id (宛名番号) is never blanked, even where the identity has it missing
            let record_id = resident_id.clone();
            self.w.write(ctx, rng, record_id, p, h, |id, _sep, _n, _rng| {
                vec![
                    Cell::text(resident_id),
                    Cell::Text(household_no),
                    Cell::text(relation),
                    Cell::text(&id.family),
                    Cell::text(&id.given),
                    Cell::Text(id.family_kana.clone()),
                    Cell::Text(id.given_kana.clone()),
                    Cell::Text(id.birth_text.clone()),
                    Cell::Text(id.sex.clone()),
                    Cell::Text(id.postcode.clone()),
                    Cell::Text(id.address.clone()),
                    Cell::Text(id.building.clone()),
                    Cell::text(district_name),
                    date(moved_in),
                    date(moved_out),
                    Cell::text(nationality),
                ]
            })?;
        }
        Ok(())
    }
}
