//! 教育 (education): 学齢簿 with monthly absence days (出欠), 保健室 visits and 給食費 arrears.
//! An Excel workbook from a school system: hiragana readings, birth dates as date cells, no
//! 宛名番号 (school systems rarely hold it), the guardian's name beside the pupil's.

use std::path::Path;

use rand::Rng;

use super::identity::{KanaScript, SexCoding, Style};
use super::{Context, DepartmentWriter, kana_separator};
use crate::SynthError;
use crate::latent::normal;
use crate::municipality::schools;
use crate::noise::address::AddressForm;
use crate::population::{Household, Person};
use crate::sink::xlsx::XlsxSink;
use crate::sink::{Cell, Column, date, int, text};

pub const COLUMNS: &[Column] = &[
    text("児童生徒番号"),
    text("学校名"),
    int("学年"),
    text("児童生徒氏名"),
    text("ふりがな"),
    date("生年月日"),
    text("性別"),
    text("保護者氏名"),
    text("住所"),
    int("4月"),
    int("5月"),
    int("6月"),
    int("7月"),
    int("8月"),
    int("9月"),
    int("10月"),
    int("11月"),
    int("12月"),
    int("1月"),
    int("2月"),
    int("3月"),
    int("保健室来室回数"),
    int("給食費滞納月数"),
];

pub const STYLE: Style = Style {
    date_form: None,
    kana: KanaScript::Hiragana,
    name_separator: " ",
    sex: SexCoding::Kanji,
    address_form: AddressForm::Mixed,
    city_prefix: false,
    building: true,
    registry: false,
};

pub const MAPPING: &str = r#"# 教育 (education) extract: 学齢簿, 出欠 (monthly absence days), 保健室, 給食費.
department = "education"

[source]
path = "education.xlsx"
sheet = "学齢簿"

[identity]
record_id = "児童生徒番号"
name = "児童生徒氏名"
name_kana = "ふりがな"
birth_date = "生年月日"
sex = "性別"
address = "住所"

[identity.extra]
guardian_name = { column = "保護者氏名", compare = "bloom" }

[attributes]
school = { column = "学校名", type = "string", sensitivity = "quasi_identifier" }
grade = { column = "学年", type = "int", sensitivity = "quasi_identifier" }
absence_apr = { column = "4月", type = "int", sensitivity = "special_care" }
absence_may = { column = "5月", type = "int", sensitivity = "special_care" }
absence_jun = { column = "6月", type = "int", sensitivity = "special_care" }
absence_jul = { column = "7月", type = "int", sensitivity = "special_care" }
absence_aug = { column = "8月", type = "int", sensitivity = "special_care" }
absence_sep = { column = "9月", type = "int", sensitivity = "special_care" }
absence_oct = { column = "10月", type = "int", sensitivity = "special_care" }
absence_nov = { column = "11月", type = "int", sensitivity = "special_care" }
absence_dec = { column = "12月", type = "int", sensitivity = "special_care" }
absence_jan = { column = "1月", type = "int", sensitivity = "special_care" }
absence_feb = { column = "2月", type = "int", sensitivity = "special_care" }
absence_mar = { column = "3月", type = "int", sensitivity = "special_care" }
nurse_office_visits = { column = "保健室来室回数", type = "int", sensitivity = "special_care" }
lunch_fee_arrears = { column = "給食費滞納月数", type = "int", sensitivity = "special_care" }
"#;

/// School days per month, April to March (August is the summer break).
const SCHOOL_DAYS: [i64; 12] = [18, 18, 21, 14, 2, 19, 20, 19, 15, 16, 19, 15];

pub struct Education {
    pub w: DepartmentWriter,
}

fn poisson<R: Rng>(rng: &mut R, mean: f64) -> i64 {
    // Knuth's method; means here are small
    let l = (-mean).exp();
    let (mut k, mut p) = (0, 1.0);
    loop {
        p *= rng.random_range(0.0..1.0);
        if p <= l {
            return k;
        }
        k += 1;
    }
}

/// Monthly absence days: occasional illness for everyone; for school refusal, a rise from an
/// onset month to most school days; a few children with long illness (absence for reasons the
/// MEXT definition excludes).
fn absences<R: Rng>(rng: &mut R, refusal: bool) -> [i64; 12] {
    let mut days = [0i64; 12];
    let chronic_illness = !refusal && rng.random_bool(0.01);
    let onset = rng.random_range(0..9);
    for (m, d) in days.iter_mut().enumerate() {
        let mut x = poisson(rng, 0.5);
        if refusal && m >= onset {
            let ramp = ((m - onset + 1) as f64 / 3.0).min(1.0);
            x += (SCHOOL_DAYS[m] as f64 * ramp * (0.55 + 0.1 * normal(rng))).round().max(0.0) as i64;
        }
        if chronic_illness && (3..7).contains(&m) {
            x += (SCHOOL_DAYS[m] as f64 * 0.6) as i64;
        }
        *d = x.min(SCHOOL_DAYS[m]);
    }
    days
}

impl Education {
    pub fn create(out: &Path, as_of: chrono::NaiveDate) -> Result<Self, SynthError> {
        let w = DepartmentWriter::create(out, "education", STYLE, MAPPING, |dir| {
            Ok(Box::new(XlsxSink::create(&dir.join("education.xlsx"), "学齢簿", COLUMNS, as_of)?))
        })?;
        Ok(Education { w })
    }

    pub fn household<R: Rng>(&mut self, ctx: &mut Context, rng: &mut R, h: &Household) -> Result<(), SynthError> {
        let pupils: Vec<&Person> = h.children().filter(|c| c.grade.is_some()).collect();
        let guardian = h.guardian();
        for c in pupils {
            let grade = c.grade.unwrap_or(1);
            let (elementary, junior) = schools(h.district);
            let school = if grade <= 6 { elementary } else { junior };
            let refusal = c.child.as_ref().and_then(|l| l.school_refusal).unwrap_or(false);
            let risk = c.child.as_ref().is_some_and(|l| l.maltreatment_risk);
            let days = absences(rng, refusal);
            let nurse = poisson(rng, 1.5 + if risk { 5.0 } else { 0.0 } + if refusal { 4.0 } else { 0.0 });
            let arrears_p = if h.latent.poverty && !h.latent.school_expense_aid { 0.25 } else { 0.01 };
            let arrears = if rng.random_bool(arrears_p) { rng.random_range(1..7) } else { 0 };
            let guardian_name = guardian.map(|g| format!("{} {}", g.family.kanji, g.given.kanji));
            let record_id = format!("S{:08}", self.w.next_seq());
            let rid = record_id.clone();
            self.w.write(ctx, rng, record_id, c, h, |id, sep, _n, _rng| {
                let mut row = vec![
                    Cell::text(rid),
                    Cell::text(school),
                    Cell::Int(Some(if grade > 6 { grade - 6 } else { grade } as i64)),
                    Cell::text(id.full_name(sep)),
                    Cell::Text(id.full_kana(kana_separator(&STYLE, sep))),
                    Cell::Date(id.birth_date),
                    Cell::Text(id.sex.clone()),
                    Cell::Text(guardian_name),
                    Cell::Text(id.address.clone()),
                ];
                row.extend(days.iter().map(|d| Cell::Int(Some(*d))));
                row.push(Cell::Int(Some(nurse)));
                row.push(Cell::Int(Some(arrears)));
                row
            })?;
        }
        Ok(())
    }
}
