//! 母子保健 (maternal and child health): 乳幼児健診 at 4 months, 1.5 and 3 years, 予防接種,
//! 妊婦健診 and 特定妊婦. A legacy system: CP932 CSV, half-width katakana readings, H280401 dates,
//! hyphenated addresses.

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use rand::Rng;

use super::identity::{KanaScript, SexCoding, Style};
use super::{Context, DepartmentWriter, kana_separator};
use crate::SynthError;
use crate::latent::{bernoulli_or, rates};
use crate::noise::address::AddressForm;
use crate::noise::era_date::{self, DateForm};
use crate::noise::{NoiseKind, Noiser};
use crate::population::{Household, Person};
use crate::sink::csv::{CsvSink, Encoding};
use crate::sink::{Cell, Column, text};

pub const COLUMNS: &[Column] = &[
    text("管理番号"),
    text("宛名番号"),
    text("区分"),
    text("氏名"),
    text("カナ氏名"),
    text("生年月日"),
    text("性別"),
    text("住所"),
    text("電話番号"),
    text("4か月児健診"),
    text("1歳6か月児健診"),
    text("3歳児健診"),
    text("予防接種未接種数"),
    text("妊婦健診受診回数"),
    text("特定妊婦"),
    text("出産予定日"),
];

pub const STYLE: Style = Style {
    date_form: Some(DateForm::EraLetterCompact),
    kana: KanaScript::Halfwidth,
    name_separator: "　",
    sex: SexCoding::Digit,
    address_form: AddressForm::Hyphen,
    city_prefix: false,
    building: false,
    registry: false,
};

pub const MAPPING: &str = r#"# 母子保健 (maternal and child health) extract: 乳幼児健診, 予防接種, 妊婦健診.
department = "health"

[source]
path = "health.csv"
encoding = "cp932"

[identity]
record_id = "管理番号"
name = "氏名"
name_kana = "カナ氏名"
birth_date = "生年月日"
sex = "性別"
address = "住所"
resident_id = "宛名番号"

[identity.extra]
phone = { column = "電話番号", compare = "token" }

[attributes]
category = { column = "区分", type = "string", sensitivity = "special_care" }
checkup_4m = { column = "4か月児健診", type = "string", sensitivity = "special_care" }
checkup_18m = { column = "1歳6か月児健診", type = "string", sensitivity = "special_care" }
checkup_3y = { column = "3歳児健診", type = "string", sensitivity = "special_care" }
vaccination_missing = { column = "予防接種未接種数", type = "int", sensitivity = "special_care" }
prenatal_visits = { column = "妊婦健診受診回数", type = "int", sensitivity = "special_care" }
specified_expectant_mother = { column = "特定妊婦", type = "string", sensitivity = "special_care" }
due_date = { column = "出産予定日", type = "date", sensitivity = "special_care" }
"#;

/// Routine vaccinations due in the first years (定期接種, counted per dose group).
const VACCINATIONS: u32 = 10;

pub struct Health {
    pub w: DepartmentWriter,
}

fn months(birth: NaiveDate, on: NaiveDate) -> i32 {
    (on.year() - birth.year()) * 12 + on.month() as i32 - birth.month() as i32
}

fn phone<R: Rng>(rng: &mut R) -> String {
    let prefix = ["090", "080", "070"][rng.random_range(0..3)];
    format!("{prefix}-{:04}-{:04}", rng.random_range(0..10_000), rng.random_range(0..10_000))
}

impl Health {
    pub fn create(out: &Path) -> Result<Self, SynthError> {
        let w = DepartmentWriter::create(out, "health", STYLE, MAPPING, |dir| {
            Ok(Box::new(CsvSink::create(&dir.join("health.csv"), COLUMNS, Encoding::Cp932)?))
        })?;
        Ok(Health { w })
    }

    pub fn household<R: Rng>(&mut self, ctx: &mut Context, rng: &mut R, h: &Household) -> Result<(), SynthError> {
        let as_of = ctx.as_of;
        let household_phone = phone(rng);
        let infants: Vec<&Person> = h.children().filter(|c| c.age(as_of) < 6).collect();
        for c in infants {
            let risk = c.child.as_ref().is_some_and(|l| l.maltreatment_risk);
            let mut log_or = 0.0;
            if risk {
                log_or += rates::CHECKUP_LOG_OR_MALTREATMENT;
            }
            if h.latent.poverty {
                log_or += rates::CHECKUP_LOG_OR_POVERTY;
            }
            let age_m = months(c.birth, as_of);
            // a checkup is due a month after its age; households that moved in later had it elsewhere
            let checkup = |rng: &mut R, due_months: i32, i: usize| -> Option<String> {
                if age_m < due_months + 1 {
                    return None;
                }
                let missed = bernoulli_or(rng, rates::CHECKUP_MISSED[i], log_or);
                Some(if missed { "未受診" } else { "受診" }.to_string())
            };
            let c4 = checkup(rng, 4, 0);
            let c18 = checkup(rng, 18, 1);
            let c36 = checkup(rng, 36, 2);
            let due = (age_m.clamp(0, 36) as u32 * VACCINATIONS / 36).max(1);
            let missing = (0..due).filter(|_| bernoulli_or(rng, rates::VACCINATION_GAP, log_or)).count();
            let record_id = format!("K{:08}", self.w.next_seq());
            let rid = record_id.clone();
            let tel = household_phone.clone();
            self.w.write(ctx, rng, record_id, c, h, |id, sep, n, rng| {
                vec![
                    Cell::text(rid),
                    Cell::Text(id.resident_id.clone()),
                    Cell::text("乳幼児"),
                    Cell::text(id.full_name(sep)),
                    Cell::Text(id.full_kana(kana_separator(&STYLE, sep))),
                    Cell::Text(id.birth_text.clone()),
                    Cell::Text(id.sex.clone()),
                    Cell::Text(id.address.clone()),
                    Cell::Text(maybe_missing(n, rng, tel)),
                    Cell::Text(c4),
                    Cell::Text(c18),
                    Cell::Text(c36),
                    Cell::text(missing.to_string()),
                    Cell::Text(None),
                    Cell::Text(None),
                    Cell::Text(None),
                ]
            })?;
        }
        if let (Some(p), Some(mother)) = (&h.pregnancy, h.mother()) {
            let record_id = format!("K{:08}", self.w.next_seq());
            let rid = record_id.clone();
            let tel = household_phone.clone();
            self.w.write(ctx, rng, record_id, mother, h, |id, sep, n, rng| {
                vec![
                    Cell::text(rid),
                    Cell::Text(id.resident_id.clone()),
                    Cell::text("妊婦"),
                    Cell::text(id.full_name(sep)),
                    Cell::Text(id.full_kana(kana_separator(&STYLE, sep))),
                    Cell::Text(id.birth_text.clone()),
                    Cell::Text(id.sex.clone()),
                    Cell::Text(id.address.clone()),
                    Cell::Text(maybe_missing(n, rng, tel)),
                    Cell::Text(None),
                    Cell::Text(None),
                    Cell::Text(None),
                    Cell::Text(None),
                    Cell::text(p.prenatal_visits.to_string()),
                    Cell::Text(p.specified_expectant.then(|| "○".to_string())),
                    Cell::text(era_date::format(p.due, DateForm::EraLetterCompact)),
                ]
            })?;
        }
        Ok(())
    }
}

fn maybe_missing<R: Rng>(n: &mut Noiser, rng: &mut R, value: String) -> Option<String> {
    (!n.roll(rng, NoiseKind::MissingValue, "phone")).then_some(value)
}
