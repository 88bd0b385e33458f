//! The generative model of latent needs and of what departments observe.
//!
//! Latent outcomes (a household's poverty, a child's maltreatment risk and school refusal) are
//! drawn first from base rates and odds ratios taken from public statistics (see `MODEL.md` for
//! the sources); department records are then drawn *conditionally* on the latents, with
//! non-take-up and noise, so that a risk model sees evidence of a need but never the need itself.

use rand::Rng;
use serde::Serialize;

/// Converts a probability to log-odds.
fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Draws a Bernoulli with base probability `p` shifted by `log_or` on the log-odds scale.
pub fn bernoulli_or<R: Rng>(rng: &mut R, p: f64, log_or: f64) -> bool {
    rng.random_bool(sigmoid(logit(p) + log_or).clamp(0.0, 1.0))
}

/// A standard normal draw (Box–Muller), for household random effects.
pub fn normal<R: Rng>(rng: &mut R) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Base rates and effect sizes. Values are rounded from the sources in `MODEL.md`.
pub mod rates {
    /// 子どもの貧困率, all households with children.
    pub const CHILD_POVERTY: f64 = 0.115;
    /// 貧困率 of single-adult households with children.
    pub const SINGLE_PARENT_POVERTY: f64 = 0.445;
    /// Share of households with children headed by a single mother / father.
    pub const SINGLE_MOTHER_SHARE: f64 = 0.111;
    pub const SINGLE_FATHER_SHARE: f64 = 0.014;
    /// Three-generation households among households with children.
    pub const THREE_GENERATION_SHARE: f64 = 0.08;
    /// Number of children: P(1), P(2), P(3), P(4).
    pub const CHILDREN: [f64; 4] = [0.42, 0.43, 0.13, 0.02];
    /// Share of births that are twins.
    pub const TWIN_BIRTHS: f64 = 0.01;
    /// Households with a current pregnancy (births per year / households with children).
    pub const PREGNANCY: f64 = 0.06;
    /// 特定妊婦 among pregnancies, before the poverty and young-mother effects.
    pub const SPECIFIED_EXPECTANT: f64 = 0.008;

    /// Take-up among poor households / among the rest.
    pub const PUBLIC_ASSISTANCE_POOR: f64 = 0.12;
    pub const CHILD_REARING_ALLOWANCE_SINGLE_POOR: f64 = 0.90;
    pub const CHILD_REARING_ALLOWANCE_SINGLE_OTHER: f64 = 0.40;
    pub const SCHOOL_EXPENSE_AID_POOR: f64 = 0.75;
    pub const SCHOOL_EXPENSE_AID_OTHER: f64 = 0.06;
    pub const RESIDENT_TAX_EXEMPT_POOR: f64 = 0.70;
    pub const RESIDENT_TAX_EXEMPT_OTHER: f64 = 0.03;

    /// Maltreatment risk among children, before effects (about twice the yearly rate of
    /// 児童虐待相談対応件数 per child, since risk outlasts one year's consultations).
    pub const MALTREATMENT_BASE: f64 = 0.015;
    pub const MALTREATMENT_LOG_OR_POVERTY: f64 = 0.92; // OR 2.5
    pub const MALTREATMENT_LOG_OR_SINGLE: f64 = 0.59; // OR 1.8
    pub const MALTREATMENT_LOG_OR_YOUNG_MOTHER: f64 = 0.92; // OR 2.5, mother under 20 at birth
    /// Standard deviation of the household random effect (siblings share risk).
    pub const MALTREATMENT_HOUSEHOLD_SD: f64 = 1.0;

    /// 不登校 rates: elementary, junior high.
    pub const SCHOOL_REFUSAL_ELEMENTARY: f64 = 0.021;
    pub const SCHOOL_REFUSAL_JUNIOR_HIGH: f64 = 0.067;
    pub const SCHOOL_REFUSAL_LOG_OR_POVERTY: f64 = 0.59; // OR 1.8
    pub const SCHOOL_REFUSAL_LOG_OR_MALTREATMENT: f64 = 0.92; // OR 2.5

    /// 乳幼児健診 non-attendance at 4 months, 1.5 years, 3 years.
    pub const CHECKUP_MISSED: [f64; 3] = [0.045, 0.045, 0.055];
    pub const CHECKUP_LOG_OR_MALTREATMENT: f64 = 1.39; // OR 4
    pub const CHECKUP_LOG_OR_POVERTY: f64 = 0.47; // OR 1.6
    /// Share of routine vaccinations missed.
    pub const VACCINATION_GAP: f64 = 0.05;

    /// 保育所等 use among 0–5 year olds.
    pub const NURSERY_USE: f64 = 0.52;
    /// Fee arrears among users / poor users not aided.
    pub const FEE_ARREARS: f64 = 0.02;
    pub const FEE_ARREARS_LOG_OR_POVERTY: f64 = 1.6;

    /// A consultation record for a child at risk / for any other child.
    pub const CONSULTATION_AT_RISK: f64 = 0.35;
    pub const CONSULTATION_OTHER: f64 = 0.012;
    /// 要対協 registration among at-risk children with a consultation.
    pub const PROTECTION_COUNCIL_GIVEN_CONSULTATION: f64 = 0.45;

    /// Households that moved within the city in the last years / moved in / moved out.
    pub const MOVED_WITHIN: f64 = 0.08;
    pub const MOVED_IN: f64 = 0.15;
    pub const MOVED_OUT: f64 = 0.02;
    /// Households living in the city without residence registration (住登外者).
    pub const OUTSIDE_REGISTRY: f64 = 0.02;
    /// Mothers in two-parent households whose older records carry their maiden name.
    pub const SURNAME_CHANGED_MARRIED: f64 = 0.04;
    /// Divorced mothers who returned to their maiden name (the rest keep the married name, 婚氏続称).
    pub const SURNAME_REVERTED_DIVORCED: f64 = 0.5;

    /// Households with children of foreign nationality (about 3% of residents are foreign
    /// nationals, 在留外国人統計 2024), with higher poverty and lower take-up of benefits
    /// (language and information barriers).
    pub const FOREIGN_HOUSEHOLDS: f64 = 0.03;
    pub const FOREIGN_POVERTY_ODDS: f64 = 2.0;
    pub const FOREIGN_TAKE_UP: f64 = 0.6;
    /// Nationalities of foreign households, by their share among foreign residents.
    pub const NATIONALITIES: [(&str, f64); 6] = [
        ("中国", 0.25),
        ("ベトナム", 0.19),
        ("韓国", 0.12),
        ("フィリピン", 0.10),
        ("ブラジル", 0.07),
        ("ネパール", 0.27),
    ];
    /// Children with a disability (障害児, about 2%); maltreatment risk OR 1.5; 特別児童扶養手当
    /// take-up among them.
    pub const CHILD_DISABILITY: f64 = 0.02;
    pub const MALTREATMENT_LOG_OR_DISABILITY: f64 = 0.41;
    pub const SPECIAL_CHILD_ALLOWANCE_TAKE_UP: f64 = 0.6;
}

/// A household's latent state.
#[derive(Clone, Debug, Serialize)]
pub struct HouseholdLatent {
    pub poverty: bool,
    /// Household random effect on maltreatment risk (parental stress, isolation).
    pub stress: f64,
    pub public_assistance: bool,
    pub child_rearing_allowance: bool,
    pub school_expense_aid: bool,
    pub resident_tax_exempt: bool,
}

impl HouseholdLatent {
    /// `take_up` scales the take-up of every benefit (1 for most households).
    pub fn draw<R: Rng>(rng: &mut R, single_parent: bool, district_poverty_odds: f64, take_up: f64) -> Self {
        use rates::*;
        // two-parent rate so that the mixture matches CHILD_POVERTY overall
        let single_share = SINGLE_MOTHER_SHARE + SINGLE_FATHER_SHARE;
        let two_parent = (CHILD_POVERTY - single_share * SINGLE_PARENT_POVERTY) / (1.0 - single_share);
        let base = if single_parent { SINGLE_PARENT_POVERTY } else { two_parent };
        let poverty = bernoulli_or(rng, base, district_poverty_odds.ln());
        let stress = normal(rng) * MALTREATMENT_HOUSEHOLD_SD;
        let pick = |rng: &mut R, poor: f64, other: f64| rng.random_bool(take_up * if poverty { poor } else { other });
        let public_assistance =
            poverty && rng.random_bool(take_up * PUBLIC_ASSISTANCE_POOR * if single_parent { 1.8 } else { 1.0 });
        let child_rearing_allowance =
            single_parent && pick(rng, CHILD_REARING_ALLOWANCE_SINGLE_POOR, CHILD_REARING_ALLOWANCE_SINGLE_OTHER);
        let school_expense_aid = public_assistance || pick(rng, SCHOOL_EXPENSE_AID_POOR, SCHOOL_EXPENSE_AID_OTHER);
        let resident_tax_exempt = public_assistance || pick(rng, RESIDENT_TAX_EXEMPT_POOR, RESIDENT_TAX_EXEMPT_OTHER);
        HouseholdLatent {
            poverty,
            stress,
            public_assistance,
            child_rearing_allowance,
            school_expense_aid,
            resident_tax_exempt,
        }
    }
}

/// A child's latent needs.
#[derive(Clone, Debug, Serialize)]
pub struct ChildLatent {
    pub maltreatment_risk: bool,
    /// None when the child is not of compulsory-school age.
    pub school_refusal: Option<bool>,
}

/// School stage of a child by 学年 (1–6 elementary, 7–9 junior high).
pub fn draw_child<R: Rng>(
    rng: &mut R,
    household: &HouseholdLatent,
    single_parent: bool,
    young_mother: bool,
    disability: bool,
    grade: Option<u32>,
) -> ChildLatent {
    use rates::*;
    let mut log_or = household.stress;
    if disability {
        log_or += MALTREATMENT_LOG_OR_DISABILITY;
    }
    if household.poverty {
        log_or += MALTREATMENT_LOG_OR_POVERTY;
    }
    if single_parent {
        log_or += MALTREATMENT_LOG_OR_SINGLE;
    }
    if young_mother {
        log_or += MALTREATMENT_LOG_OR_YOUNG_MOTHER;
    }
    // the household effect has mean 0 but raises the mean risk; centre it on the base rate
    let maltreatment_risk = bernoulli_or(rng, MALTREATMENT_BASE, log_or - 0.5);
    let school_refusal = grade.map(|g| {
        let base = if g <= 6 { SCHOOL_REFUSAL_ELEMENTARY } else { SCHOOL_REFUSAL_JUNIOR_HIGH };
        let mut l = 0.0;
        if household.poverty {
            l += SCHOOL_REFUSAL_LOG_OR_POVERTY;
        }
        if maltreatment_risk {
            l += SCHOOL_REFUSAL_LOG_OR_MALTREATMENT;
        }
        // most children are neither poor nor at risk: centre the effects on the population rate
        bernoulli_or(rng, base, l - 0.12)
    });
    ChildLatent { maltreatment_risk, school_refusal }
}
