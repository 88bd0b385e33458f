//! One record: normalised fields to tokens, Bloom encodings and typed attributes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::manifest::FieldCounts;
use super::output::Out;
use super::{Plan, Role};
use crate::encode::{BloomEncoder, SALTED_TOKENS, TokenSalt, Tokeniser, VaultKey};
use crate::extract::{Row, Value};
use crate::mapping::{AttributeType, Compare};
use crate::normalise::{address, age, era_date, kana, latin, name, sex, width};

#[derive(Clone)]
pub(crate) struct Encoders {
    pub name: BloomEncoder,
    pub kana: BloomEncoder,
    pub address: BloomEncoder,
    pub extras: Vec<(String, BloomEncoder)>,
}

/// What encoding a run of rows found besides the rows: counts per field and problems.
pub(crate) struct RowContext<'a> {
    pub plan: &'a Plan,
    pub counts: BTreeMap<String, FieldCounts>,
    /// (line, column, role, what was expected)
    pub problems: Vec<(u64, String, String, String)>,
    line: u64,
    /// Which cells of the current row hold a placeholder (kept to save an allocation a row).
    unknown: Vec<bool>,
    /// The cells of the row last encoded, in the plan's column order (kept likewise).
    pub row: Vec<Out>,
}

pub(crate) enum Encoded {
    /// A row left out: the reason counted in the manifest, what was expected (no value), and
    /// whether the fault is the whole row's (its number of fields) rather than its record id's.
    Rejected { reason: &'static str, why: String, whole_row: bool },
    /// A row encoded: its cells are [`RowContext::row`].
    Row { record_ref: [u8; 16], record_id: String },
}

impl<'a> RowContext<'a> {
    pub fn new(plan: &'a Plan) -> Self {
        RowContext {
            plan,
            counts: BTreeMap::new(),
            problems: Vec::new(),
            line: 0,
            unknown: Vec::new(),
            row: Vec::new(),
        }
    }

    fn count(&mut self, role: &str) -> &mut FieldCounts {
        self.counts.entry(role.to_string()).or_default()
    }

    /// Counts a blank or wildcard value of `role`; the value back when it is usable.
    fn usable<'v>(&mut self, role: &str, v: Option<Cow<'v, str>>) -> Option<Cow<'v, str>> {
        match v {
            None => {
                self.count(role).blank += 1;
                None
            }
            Some(s) if width::has_lost(&s) => {
                self.count(role).wildcard += 1;
                None
            }
            Some(s) => Some(s),
        }
    }

    fn invalid(&mut self, role: Role, expected: String) {
        let label = self.plan.role_label(role);
        let column = self.plan.column_of(role);
        self.count(&label).invalid += 1;
        self.problems.push((self.line, column, label, expected));
    }
}

/// A name part, lower-cased so that generic (Latin) names compare case-insensitively.
fn name_part(s: &str) -> Option<String> {
    name::part(s).map(width::lower)
}

fn date_of(v: &Value) -> Result<Option<NaiveDate>, String> {
    match v {
        Value::Empty => Ok(None),
        Value::Date(d) => Ok(Some(*d)),
        Value::Int(i) => era_date::from_excel_serial(*i as f64).map(Some).map_err(|e| e.to_string()),
        Value::Float(f) => era_date::from_excel_serial(*f).map(Some).map_err(|e| e.to_string()),
        Value::Text(s) => era_date::parse(s).map_err(|e| e.to_string()),
        Value::Bool(_) => Err("expected a date, found a true/false cell".into()),
    }
}

/// A birth date, perhaps partial (a year alone, a year and month).
fn birth_date_of(v: &Value, order: era_date::DayOrder) -> Result<Option<era_date::PartialDate>, String> {
    match v {
        Value::Empty => Ok(None),
        Value::Date(d) => Ok(Some(era_date::PartialDate::full(*d))),
        Value::Int(i) => era_date::from_number(*i as f64).map(Some).map_err(|e| e.to_string()),
        Value::Float(f) => era_date::from_number(*f).map(Some).map_err(|e| e.to_string()),
        Value::Text(s) => era_date::parse_partial(s, order).map_err(|e| e.to_string()),
        Value::Bool(_) => Err("expected a date, found a true/false cell".into()),
    }
}

/// The day a record's age was taken: the extract's day, or the record's own from its `age_on`
/// column (a year alone stands for its middle, a year and month for the month's). None, counted,
/// when the record's day is blank, holds a lost character or is unreadable.
fn age_day(ctx: &mut RowContext, column: Option<&Value>) -> Option<NaiveDate> {
    if let Some(day) = ctx.plan.age_on {
        return Some(day);
    }
    let order = ctx.plan.date_order;
    let p = typed(ctx, Role::AgeOn, "age_on", column?, |v| birth_date_of(v, order))?;
    match (p.month, p.date()) {
        (_, Some(d)) => Some(d),
        (Some(m), None) => NaiveDate::from_ymd_opt(p.year, m, 15),
        (None, None) => NaiveDate::from_ymd_opt(p.year, 7, 2),
    }
}

/// A typed identity cell read by `parse`; None, counted under `label`, when it holds a lost
/// character, is blank, or cannot be read (located by line and column, never quoted).
fn typed<T>(
    ctx: &mut RowContext,
    role: Role,
    label: &str,
    v: &Value,
    parse: impl FnOnce(&Value) -> Result<Option<T>, String>,
) -> Option<T> {
    if matches!(v, Value::Text(s) if width::has_lost(s)) {
        ctx.count(label).wildcard += 1;
        return None;
    }
    match parse(v) {
        Ok(Some(x)) => Some(x),
        Ok(None) => {
            ctx.count(label).blank += 1;
            None
        }
        Err(e) => {
            ctx.invalid(role, e);
            None
        }
    }
}

/// An age, from a number cell or a text.
fn age_of(v: &Value) -> Result<Option<age::Age>, String> {
    match v {
        Value::Empty => Ok(None),
        Value::Int(i) => age::from_number(*i as f64).map(Some).map_err(|e| e.to_string()),
        Value::Float(f) => age::from_number(*f).map(Some).map_err(|e| e.to_string()),
        Value::Text(s) => age::parse(s).map_err(|e| e.to_string()),
        Value::Date(_) | Value::Bool(_) => {
            Err("expected an age (34, 3 months, 3/12), found a date or yes/no cell".into())
        }
    }
}

fn bool_of(v: &Value) -> Result<Option<bool>, String> {
    match v {
        Value::Empty => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::Int(i) => Ok(Some(*i != 0)),
        Value::Float(f) => Ok(Some(*f != 0.0)),
        Value::Text(s) => match width::fold(s).to_lowercase().as_str() {
            "" => Ok(None),
            "1" | "true" | "yes" | "y" | "○" | "〇" | "有" | "あり" | "はい" | "済" => Ok(Some(true)),
            "0" | "false" | "no" | "n" | "×" | "無" | "なし" | "いいえ" | "未" => Ok(Some(false)),
            _ => Err("expected a yes/no value (1/0, true/false, ○/×, 有/無, はい/いいえ)".into()),
        },
        Value::Date(_) => Err("expected a yes/no value, found a date".into()),
    }
}

fn number_of(v: &Value) -> Result<Option<f64>, String> {
    match v {
        Value::Empty => Ok(None),
        Value::Int(i) => Ok(Some(*i as f64)),
        Value::Float(f) => Ok(Some(*f)),
        Value::Bool(_) | Value::Date(_) => Err("expected a number".into()),
        Value::Text(s) => {
            let t = width::fold(s).replace(',', "");
            if t.is_empty() {
                return Ok(None);
            }
            t.trim().parse::<f64>().ok().filter(|x| x.is_finite()).map(Some).ok_or_else(|| "expected a number".into())
        }
    }
}

/// `year` in four digits and each of `rest` (months, days) in two, joined by `-`: what
/// `format!("{year:04}-{m:02}-{d:02}")` writes, without the formatting machinery.
fn date_text(year: i32, rest: &[u32]) -> String {
    match u32::try_from(year) {
        Ok(y) if y <= 9999 => {
            let mut s = String::with_capacity(4 + 3 * rest.len());
            push_digits(&mut s, y / 100);
            push_digits(&mut s, y % 100);
            for &n in rest {
                s.push('-');
                push_digits(&mut s, n);
            }
            s
        }
        _ => rest.iter().fold(format!("{year:04}"), |s, n| format!("{s}-{n:02}")),
    }
}

/// Each of `parts` in two digits, joined by `-`.
fn two_digits(parts: &[u32]) -> String {
    let mut s = String::with_capacity(3 * parts.len());
    for (i, &n) in parts.iter().enumerate() {
        if i > 0 {
            s.push('-');
        }
        push_digits(&mut s, n);
    }
    s
}

/// `n` in two digits at least (`{n:02}`).
fn push_digits(s: &mut String, n: u32) {
    if n < 100 {
        s.push(char::from(b'0' + (n / 10) as u8));
        s.push(char::from(b'0' + (n % 10) as u8));
    } else {
        s.push_str(&n.to_string());
    }
}

/// A name (or reading) as read from one column or two.
struct NameRead<'v> {
    family: Option<Cow<'v, str>>,
    given: Option<Cow<'v, str>>,
    /// Its parts make the whole name: no part lost a character.
    whole: bool,
    /// One column without a space (or comma) between the parts: `family` holds the whole text
    /// and the boundary is not known.
    unsplit: bool,
}

/// The parts of a name held in one column (split by `split_one`) or in two. None when the
/// roles are not mapped or the name is blank (counted under `label`). A part that lost a
/// character is unknown, and then so is the whole name (counted once as a wildcard); the other
/// part still compares.
fn name_parts<'v>(
    ctx: &mut RowContext,
    label: &str,
    text: &dyn Fn(Role) -> Option<Cow<'v, str>>,
    [one, family, given]: [Role; 3],
    split_one: impl Fn(&str) -> (Option<String>, Option<String>),
) -> Option<NameRead<'v>> {
    let mapped = ctx.plan.roles.iter().any(|r| *r == one || *r == family || *r == given);
    if !mapped {
        return None;
    }
    let (f, g, unsplit) = match text(one) {
        Some(v) => {
            let (f, g) = split_one(&v);
            (f.map(Cow::Owned), g.map(Cow::Owned), !width::fold(&v).trim().contains([' ', ',', '、']))
        }
        None => (text(family), text(given), false),
    };
    if f.is_none() && g.is_none() {
        ctx.count(label).blank += 1;
        return None;
    }
    let lost = |p: &Option<Cow<str>>| p.as_deref().is_some_and(width::has_lost);
    let whole = !lost(&f) && !lost(&g);
    if !whole {
        ctx.count(label).wildcard += 1;
    }
    let keep = |p: Option<Cow<'v, str>>| p.filter(|p| !width::has_lost(p));
    Some(NameRead { family: keep(f), given: keep(g), whole, unsplit })
}

/// One record's output cells, in the plan's column order; a column the plan does not write is
/// not set.
struct Cells<'p> {
    plan: &'p Plan,
    values: Vec<Out>,
}

impl Cells<'_> {
    fn set(&mut self, column: &str, value: Out) {
        if let Some(&i) = self.plan.slots.get(column) {
            self.values[i] = value;
        }
    }

    fn token(&mut self, column: &str, t: [u8; 16]) {
        self.set(column, Out::Token(Some(t)));
    }

    fn bloom(&mut self, column: &str, filter: Vec<u8>) {
        self.set(column, Out::Bin(Some(filter)));
    }

    /// The token of `column`, taken out (the column becomes missing).
    fn take_token(&mut self, column: &str) -> Option<[u8; 16]> {
        let &i = self.plan.slots.get(column)?;
        match std::mem::replace(&mut self.values[i], Out::Token(None)) {
            Out::Token(t) => t,
            other => {
                self.values[i] = other;
                None
            }
        }
    }
}

/// Encodes one row, or says why it is rejected.
pub(crate) fn encode(
    ctx: &mut RowContext,
    row: &Row,
    tok: &mut Tokeniser,
    enc: &mut Encoders,
    vault_key: &VaultKey,
    department: &str,
) -> Encoded {
    ctx.line = row.line;
    let plan = ctx.plan;
    if let Some((fields, header)) = row.ragged {
        return Encoded::Rejected {
            reason: super::WRONG_FIELD_COUNT,
            why: format!(
                "{fields} field{} where the header has {header}, so its values may stand in the wrong columns \
                 (a comma or line break inside an unquoted value?): row left out",
                if fields == 1 { "" } else { "s" }
            ),
            whole_row: true,
        };
    }
    let record_id = plan.roles.iter().position(|r| *r == Role::RecordId).and_then(|i| row.values[i].text());
    let Some(record_id) = record_id.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) else {
        return Encoded::Rejected {
            reason: "missing_record_id",
            why: "a record id (the cell is blank): row left out".into(),
            whole_row: false,
        };
    };
    // identity cells holding a placeholder for "not known" (不明, 1900-01-01) are blank
    ctx.unknown.clear();
    for (role, v) in plan.roles.iter().zip(&row.values) {
        let unknown = !matches!(role, Role::RecordId | Role::Attribute(_))
            && match v {
                // a listed dummy ("0") may be a real code or age
                Value::Text(s) if matches!(role, Role::Sex | Role::Age) => plan.unknown.built_in_text(s),
                Value::Text(s) => plan.unknown.text(s),
                Value::Date(d) => plan.unknown.date(*d),
                _ => false,
            };
        ctx.unknown.push(unknown);
        if unknown {
            let field = plan.field_of(*role);
            ctx.count(&field).placeholder += 1;
        }
    }
    let unknown = std::mem::take(&mut ctx.unknown);
    let value = |r: Role| {
        plan.roles.iter().position(|x| *x == r).map(|i| if unknown[i] { &Value::Empty } else { &row.values[i] })
    };
    let text = |r: Role| value(r).and_then(Value::text);

    let record_ref = vault_key.record_ref(department, &record_id);
    let mut out = Cells { plan, values: std::mem::take(&mut ctx.row) };
    out.values.clone_from(&plan.empty_row);
    out.token("record_ref", record_ref);

    // names and readings: one column split on its space, or two columns as they are
    if let Some(read) = name_parts(ctx, "name", &text, [Role::Name, Role::FamilyName, Role::GivenName], |s| {
        let n = name::split_ordered(s, plan.name_order);
        (n.family, n.given)
    }) {
        let NameRead { family, given, whole, unsplit } = read;
        let latin = [&family, &given].into_iter().flatten().all(|s| latin::is_latin(s));
        // a Japanese name written without a space: where the family name ends is not known,
        // so neither part is; the whole name still compares (a lone Latin word is a surname)
        let unsplit = unsplit && !latin;
        if unsplit && whole {
            ctx.count("name").partial += 1;
        }
        let (family, given, first_given) = if latin {
            let (first, all) = given.as_deref().and_then(latin::given_name).unzip();
            (family.as_deref().and_then(latin::family_name), all, first)
        } else {
            (family.as_deref().and_then(name_part), given.as_deref().and_then(name_part), None)
        };
        let parts: Vec<&str> = [family.as_deref(), given.as_deref()].into_iter().flatten().collect();
        if whole && !parts.is_empty() {
            out.token("tok_name", tok.token("name", &parts.concat()));
            out.bloom("bf_name", enc.name.encode_parts(&parts, true));
        }
        let (family, given) = if unsplit { (None, None) } else { (family, given) };
        if let Some(f) = &family {
            out.token("tok_family", tok.token("family", f));
        }
        if let Some(g) = &given {
            out.token("tok_given", tok.token("given", g));
        }
        // the first forename of a Latin name (Mary Ann and Mary agree), under the same field
        // key as the whole: a one-forename name's two tokens are equal
        // (only a Latin name has a first forename apart)
        if let Some(g) = &first_given {
            out.token("tok_given_first", tok.token("given", g));
        }
        // how a Latin name sounds (Soundex), for misspellings: the loose key of Latin names
        if latin && let Some(code) = family.as_deref().and_then(latin::soundex) {
            out.token("tok_family_sound", tok.token("family_sound", &code));
        }
        if let Some(code) = first_given.as_deref().and_then(latin::soundex) {
            out.token("tok_given_sound", tok.token("given_sound", &code));
        }
    }
    if let Some(read) = name_parts(ctx, "name_kana", &text, [Role::NameKana, Role::FamilyKana, Role::GivenKana], |s| {
        let k = kana::katakana(s);
        match k.split_once([' ', ',', '、']) {
            Some((f, g)) => (Some(f.to_string()), Some(g.to_string())),
            None => (Some(k), None),
        }
    }) {
        let NameRead { family, given, whole, unsplit } = read;
        if unsplit && whole {
            ctx.count("name_kana").partial += 1;
        }
        let katakana = |s: Option<Cow<str>>| {
            s.map(|s| {
                let k = kana::katakana(&s);
                if k.contains(' ') { k.replace(' ', "") } else { k }
            })
            .filter(|s| !s.is_empty())
        };
        let (f, g) = (katakana(family), katakana(given));
        // the loose key of each part, once
        let lf = f.as_deref().map(kana::loose);
        let lg = g.as_deref().map(kana::loose);
        let joined: String = [f.as_deref(), g.as_deref()].into_iter().flatten().collect();
        if whole && !joined.is_empty() {
            out.token("tok_kana", tok.token("kana", &joined));
            // the whole reading's loose key, whether written with a space or not (the long-vowel
            // rule may join across the parts: ヤマダ アキラ, ヤマダアキラ)
            let loose: Vec<&str> = [lf.as_deref(), lg.as_deref()].into_iter().flatten().collect();
            out.token("tok_kana_loose", tok.token("kana_loose", &kana::loose(&joined)));
            out.bloom("bf_kana", enc.kana.encode_parts(&loose, false));
        }
        // a reading without a space: its parts are not known, the whole still compares
        if !unsplit {
            if let (Some(f), Some(l)) = (&f, &lf) {
                out.token("tok_family_kana", tok.token("family_kana", f));
                out.token("tok_family_kana_loose", tok.token("family_kana_loose", l));
            }
            if let (Some(g), Some(l)) = (&g, &lg) {
                out.token("tok_given_kana", tok.token("given_kana", g));
                out.token("tok_given_kana_loose", tok.token("given_kana_loose", l));
            }
        }
    }

    // birth date, or else an age on the day it was taken (a birth year, approximate); a
    // partial date is counted under the birth date, a year read from an age under the age
    let mut birth = value(Role::BirthDate)
        .and_then(|v| typed(ctx, Role::BirthDate, "birth_date", v, |v| birth_date_of(v, plan.date_order)));
    // a placeholder birthday in any form (明治33年1月1日, an Excel serial)
    if birth.and_then(|p| p.date()).is_some_and(|d| plan.unknown.date(d)) {
        let c = ctx.count("birth_date");
        c.blank += 1;
        c.placeholder += 1;
        birth = None;
    }
    if let Some(p) = birth
        && p.date().is_none()
    {
        ctx.count("birth_date").partial += 1;
    }
    if birth.is_none()
        && let Some(a) = value(Role::Age).and_then(|v| typed(ctx, Role::Age, "age", v, age_of))
        && let Some(on) = age_day(ctx, value(Role::AgeOn))
    {
        ctx.count("age").partial += 1;
        birth = Some(a.birth_year(on));
    }
    let birth_year = birth.map(|p| p.year);
    if let Some(p) = birth {
        let y = p.year;
        out.token("tok_birth_year", tok.token("birth_year", &date_text(y, &[])));
        // an estimated year also carries the years either side, under the same field key, so
        // that a year one off still agrees in part
        if p.approximate {
            out.token("tok_birth_year_lo", tok.token("birth_year", &date_text(y - 1, &[])));
            out.token("tok_birth_year_hi", tok.token("birth_year", &date_text(y + 1, &[])));
        }
        if let Some(m) = p.month {
            out.token("tok_birth_ym", tok.token("birth_ym", &date_text(y, &[m])));
        }
        if let (Some(m), Some(dd), Some(_)) = (p.month, p.day, p.date()) {
            out.token("tok_birth_date", tok.token("birth_date", &date_text(y, &[m, dd])));
            if m != dd && NaiveDate::from_ymd_opt(y, dd, m).is_some() {
                out.token("tok_birth_swapped", tok.token("birth_date", &date_text(y, &[dd, m])));
            }
            out.token("tok_birth_md", tok.token("birth_md", &two_digits(&[m, dd])));
            out.token("tok_birth_yd", tok.token("birth_yd", &date_text(y, &[dd])));
        }
    }

    // sex
    if let Some(v) = text(Role::Sex) {
        match sex::parse(&v) {
            // a code beside a lost character ("男?") is not known to be that code
            _ if width::has_lost(&v) && !sex::is_unknown(&v) => ctx.count("sex").wildcard += 1,
            Some(s) => out.token("tok_sex", tok.token("sex", s.code())),
            None if sex::is_unknown(&v) => ctx.count("sex").blank += 1,
            None => ctx.invalid(Role::Sex, "expected a sex code (1/2, 男/女, M/F)".into()),
        }
    } else if plan.roles.contains(&Role::Sex) {
        ctx.count("sex").blank += 1;
    }

    // address
    if plan.roles.contains(&Role::Address)
        && let Some(a) = ctx.usable("address", text(Role::Address))
    {
        let parts = address::parse(&a);
        if let Some(town) = &parts.town {
            let chome = parts.chome.unwrap_or(0);
            out.token("tok_town", tok.token("town", town));
            out.token("tok_town_chome", tok.token("town_chome", &format!("{town}|{chome}")));
            if let Some(b) = parts.block {
                out.token("tok_town_block", tok.token("town_block", &format!("{town}|{chome}|{b}")));
            }
            if let Some(c) = parts.canonical() {
                out.token("tok_address", tok.token("address", &c));
                out.bloom("bf_address", enc.address.encode_parts(&[c.as_str()], false));
            }
        }
    }
    let street = if plan.roles.contains(&Role::Street) {
        ctx.usable("street", text(Role::Street)).and_then(|s| latin::text(&s))
    } else {
        None
    };
    let locality = if plan.roles.contains(&Role::Locality) {
        ctx.usable("locality", text(Role::Locality)).and_then(|s| latin::text(&s))
    } else {
        None
    };
    if let Some(s) = &street {
        out.token("tok_street", tok.token("street", s));
    }
    if let Some(l) = &locality {
        out.token("tok_locality", tok.token("locality", l));
    }
    if !plan.roles.contains(&Role::Address) && (street.is_some() || locality.is_some()) {
        let parts: Vec<&str> = [street.as_deref(), locality.as_deref()].into_iter().flatten().collect();
        out.bloom("bf_address", enc.address.encode_parts(&parts, false));
    }

    // codes
    for (role, label, col, field) in [
        (Role::Postcode, "postcode", "tok_postcode", "postcode"),
        (Role::ResidentId, "resident_id", "tok_resident_id", "resident_id"),
        (Role::HouseholdId, "household_id", "tok_household_id", "household_id"),
        (Role::NationalId, "national_id", "tok_national_id", "national_id"),
    ] {
        if plan.roles.contains(&role)
            && let Some(v) = ctx.usable(label, text(role)).and_then(|s| latin::code(&s))
        {
            out.token(col, tok.token(field, &v));
        }
    }

    // extra quasi-identifiers
    for (i, e) in plan.extras.iter().enumerate() {
        let Some(v) = ctx.usable(&e.name, text(Role::Extra(i))) else { continue };
        match e.compare {
            Compare::Token => {
                if let Some(c) = latin::code(&v) {
                    out.token(&format!("tok_x_{}", e.name), tok.token(&format!("x_{}", e.name), &c));
                }
            }
            Compare::Bloom => {
                let parts: Vec<String> = width::fold(&v).split(' ').filter_map(name_part).collect();
                let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
                if let Some((_, encoder)) = enc.extras.iter_mut().find(|(n, _)| *n == e.name) {
                    out.bloom(&format!("bf_x_{}", e.name), encoder.encode_parts(&refs, true));
                }
            }
        }
    }

    // attributes
    for (i, a) in plan.attributes.iter().enumerate() {
        let v = value(Role::Attribute(i)).unwrap_or(&Value::Empty);
        let cell = match a.ty {
            AttributeType::String => Ok(Out::Text(v.text().map(|s| s.trim().to_string()))),
            AttributeType::Int => number_of(v).and_then(|n| match n {
                // beyond 2^53 a float no longer holds every whole number: too large to be a count
                Some(x) if x.fract() == 0.0 && x.abs() <= 9_007_199_254_740_992.0 => Ok(Out::Int(Some(x as i64))),
                Some(x) if x.fract() == 0.0 => Err("expected a whole number below 2^53".to_string()),
                Some(_) => Err("expected a whole number".to_string()),
                None => Ok(Out::Int(None)),
            }),
            AttributeType::Float => number_of(v).map(Out::Float),
            AttributeType::Date => date_of(v).map(Out::Date),
            AttributeType::Bool => bool_of(v).map(Out::Bool),
        };
        let cell = cell.unwrap_or_else(|expected| {
            ctx.invalid(Role::Attribute(i), expected);
            match a.ty {
                AttributeType::String => Out::Text(None),
                AttributeType::Int => Out::Int(None),
                AttributeType::Float => Out::Float(None),
                AttributeType::Date => Out::Date(None),
                AttributeType::Bool => Out::Bool(None),
            }
        });
        out.set(&a.name, cell);
    }

    // widely shared values: bound to the birth year, or left out when there is none
    if plan.token_salt == TokenSalt::BirthYear {
        for column in SALTED_TOKENS {
            if let (Some(t), Some(y)) = (out.take_token(column), birth_year) {
                out.token(column, tok.salted(column, &t, y));
            }
        }
    }

    ctx.row = out.values;
    ctx.unknown = unknown;
    Encoded::Row { record_ref, record_id }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Dates in tokens are written exactly as `format!` writes them.
        #[test]
        fn date_text_is_formatted_text(y in -20i32..12_000, m in 0u32..130, d in 0u32..130) {
            proptest::prop_assert_eq!(date_text(y, &[]), format!("{y:04}"));
            proptest::prop_assert_eq!(date_text(y, &[m]), format!("{y:04}-{m:02}"));
            proptest::prop_assert_eq!(date_text(y, &[m, d]), format!("{y:04}-{m:02}-{d:02}"));
            proptest::prop_assert_eq!(two_digits(&[m, d]), format!("{m:02}-{d:02}"));
        }
    }
}
