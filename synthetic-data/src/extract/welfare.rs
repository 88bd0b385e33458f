//! 福祉 (welfare): 生活保護, 児童扶養手当, 就学援助 and 住民税非課税, one row per person and
//! programme. CP932 CSV with CRLF, one-column names, readings in katakana, R3.4.5 dates.

use std::path::Path;

use rand::Rng;

use super::identity::{KanaScript, SexCoding, Style};
use super::{Context, DepartmentWriter, kana_separator};
use crate::SynthError;
use crate::latent::rates;
use crate::noise::address::AddressForm;
use crate::noise::era_date::{self, DateForm};
use crate::population::{Household, Person, Relation};
use crate::sink::csv::{CsvSink, Encoding};
use crate::sink::{Cell, Column, text};

pub const COLUMNS: &[Column] = &[
    text("受給者番号"),
    text("制度"),
    text("区分"),
    text("宛名番号"),
    text("氏名"),
    text("フリガナ"),
    text("生年月日"),
    text("性別"),
    text("住所"),
    text("開始日"),
];

pub const STYLE: Style = Style {
    date_form: Some(DateForm::EraLetterDots),
    kana: KanaScript::Katakana,
    name_separator: "　",
    sex: SexCoding::Digit,
    address_form: AddressForm::Banchi,
    city_prefix: true,
    building: true,
    registry: false,
};

pub const MAPPING: &str = r#"# 福祉 (welfare) extract: 生活保護, 児童扶養手当, 就学援助, 住民税非課税.
department = "welfare"

[source]
path = "welfare.csv"
encoding = "cp932"

[identity]
record_id = "受給者番号"
name = "氏名"
name_kana = "フリガナ"
birth_date = "生年月日"
sex = "性別"
address = "住所"
resident_id = "宛名番号"

[attributes]
programme = { column = "制度", type = "string", sensitivity = "special_care" }
role = { column = "区分", type = "string", sensitivity = "special_care" }
started = { column = "開始日", type = "date", sensitivity = "special_care" }
"#;

pub struct Welfare {
    pub w: DepartmentWriter,
}

impl Welfare {
    pub fn create(out: &Path) -> Result<Self, SynthError> {
        let w = DepartmentWriter::create(out, "welfare", STYLE, MAPPING, |dir| {
            Ok(Box::new(CsvSink::create(&dir.join("welfare.csv"), COLUMNS, Encoding::Cp932)?))
        })?;
        Ok(Welfare { w })
    }

    fn row<R: Rng>(
        &mut self,
        ctx: &mut Context,
        rng: &mut R,
        h: &Household,
        p: &Person,
        programme: (&'static str, &'static str),
        role: &'static str,
    ) -> Result<(), SynthError> {
        let record_id = format!("{}{:07}", programme.1, self.w.next_seq());
        let started = ctx.as_of - chrono::Days::new(rng.random_range(30..6 * 365));
        let rid = record_id.clone();
        self.w.write(ctx, rng, record_id, p, h, |id, sep, _n, _rng| {
            vec![
                Cell::text(rid),
                Cell::text(programme.0),
                Cell::text(role),
                Cell::Text(id.resident_id.clone()),
                Cell::text(id.full_name(sep)),
                Cell::Text(id.full_kana(kana_separator(&STYLE, sep))),
                Cell::Text(id.birth_text.clone()),
                Cell::Text(id.sex.clone()),
                Cell::Text(id.address.clone()),
                Cell::text(era_date::format(started, DateForm::EraKanji)),
            ]
        })
    }

    pub fn household<R: Rng>(&mut self, ctx: &mut Context, rng: &mut R, h: &Household) -> Result<(), SynthError> {
        let l = &h.latent;
        let Some(head) = h.guardian() else { return Ok(()) };
        if l.public_assistance {
            for p in &h.members {
                let role = if p.relation == Relation::Head { "世帯主" } else { "世帯員" };
                self.row(ctx, rng, h, p, ("生活保護", "SH"), role)?;
            }
        }
        if l.child_rearing_allowance {
            self.row(ctx, rng, h, head, ("児童扶養手当", "JF"), "受給者")?;
            for c in h.children() {
                self.row(ctx, rng, h, c, ("児童扶養手当", "JF"), "対象児童")?;
            }
        }
        let pupils: Vec<&Person> = h.children().filter(|c| c.grade.is_some()).collect();
        if l.school_expense_aid && !pupils.is_empty() {
            self.row(ctx, rng, h, head, ("就学援助", "SE"), "申請者")?;
            for c in pupils {
                self.row(ctx, rng, h, c, ("就学援助", "SE"), "対象児童")?;
            }
        }
        // 特別児童扶養手当 for a child with a disability, claimed by the guardian
        for c in h.children().filter(|c| c.disability) {
            let take_up = rates::SPECIAL_CHILD_ALLOWANCE_TAKE_UP
                * if h.nationality.is_some() { rates::FOREIGN_TAKE_UP } else { 1.0 };
            if rng.random_bool(take_up) {
                self.row(ctx, rng, h, c, ("特別児童扶養手当", "TJ"), "対象児童")?;
            }
        }
        if l.resident_tax_exempt && !h.outside_registry {
            self.row(ctx, rng, h, head, ("住民税非課税", "TX"), "納税義務者")?;
        }
        Ok(())
    }
}
