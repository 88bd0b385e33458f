//! Households with children: members, names, birth dates, addresses, moves, surname changes,
//! twins, and households outside the registry (住登外者).

pub mod names;

use chrono::{Datelike, Days, NaiveDate};
use rand::Rng;

use crate::latent::{self, ChildLatent, HouseholdLatent, rates};
use crate::municipality::{BUILDINGS, DISTRICTS, District};
use crate::noise::address::Address;
use names::{FAMILY, GIVEN_FEMALE, GIVEN_MALE, Name};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

/// A member's place in the household (続柄).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    Head,
    Spouse,
    Child,
    Grandparent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HouseholdKind {
    TwoParent,
    SingleMother,
    SingleFather,
}

#[derive(Clone, Debug)]
pub struct Person {
    /// Ground-truth person id, unique in the municipality.
    pub person_id: u64,
    pub family: Name,
    /// Surname before a marriage or divorce, still on older department records.
    pub former_family: Option<Name>,
    pub given: Name,
    pub birth: NaiveDate,
    pub sex: Sex,
    pub relation: Relation,
    /// 宛名番号; None outside the registry.
    pub resident_id: Option<String>,
    /// Latent needs, for children.
    pub child: Option<ChildLatent>,
    /// 学年 1–9 during compulsory schooling.
    pub grade: Option<u32>,
    /// A child with a disability (障害児).
    pub disability: bool,
}

impl Person {
    pub fn age(&self, on: NaiveDate) -> i32 {
        let mut a = on.year() - self.birth.year();
        if (on.month(), on.day()) < (self.birth.month(), self.birth.day()) {
            a -= 1;
        }
        a
    }
}

/// A pregnancy recorded in maternal health (妊婦健診, possibly 特定妊婦).
#[derive(Clone, Debug)]
pub struct Pregnancy {
    pub due: NaiveDate,
    pub specified_expectant: bool,
    pub prenatal_visits: u32,
}

#[derive(Clone, Debug)]
pub struct Household {
    /// Ground-truth household id.
    pub household_id: u64,
    /// 世帯番号; None outside the registry.
    pub registry_household_no: Option<String>,
    pub district: &'static District,
    pub address: Address,
    /// The address before a move within the city.
    pub previous_address: Option<Address>,
    pub moved_in: Option<NaiveDate>,
    pub moved_out: Option<NaiveDate>,
    pub outside_registry: bool,
    pub kind: HouseholdKind,
    pub members: Vec<Person>,
    pub latent: HouseholdLatent,
    pub pregnancy: Option<Pregnancy>,
    /// Number of twin pairs among the children.
    pub twin_pairs: u32,
    /// Nationality of a foreign household (国籍); None for Japanese households.
    pub nationality: Option<&'static str>,
}

impl Household {
    pub fn children(&self) -> impl Iterator<Item = &Person> {
        self.members.iter().filter(|p| p.relation == Relation::Child)
    }

    pub fn mother(&self) -> Option<&Person> {
        self.members.iter().find(|p| p.sex == Sex::Female && matches!(p.relation, Relation::Head | Relation::Spouse))
    }

    /// The guardian who fills in forms: the head of household.
    pub fn guardian(&self) -> Option<&Person> {
        self.members.iter().find(|p| p.relation == Relation::Head)
    }

    pub fn single_parent(&self) -> bool {
        self.kind != HouseholdKind::TwoParent
    }
}

/// 学年 (1–9) on `as_of` for a child born on `birth`; Japanese school years start on 1 April
/// and children born on 1 April belong to the earlier year.
pub fn grade(birth: NaiveDate, as_of: NaiveDate) -> Option<u32> {
    let school_year = |d: NaiveDate| if (d.month(), d.day()) >= (4, 1) { d.year() } else { d.year() - 1 };
    let birth_cohort = if (birth.month(), birth.day()) >= (4, 2) { birth.year() } else { birth.year() - 1 };
    let g = school_year(as_of) - birth_cohort - 6;
    (1..=9).contains(&g).then_some(g as u32)
}

fn random_date<R: Rng>(rng: &mut R, year: i32) -> NaiveDate {
    let start = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default();
    start + Days::new(rng.random_range(0..365))
}

fn draw_address<R: Rng>(rng: &mut R, district: &'static District) -> Address {
    let town = &district.towns[rng.random_range(0..district.towns.len())];
    let building = rng.random_bool(district.apartment_share).then(|| {
        let b = BUILDINGS[rng.random_range(0..BUILDINGS.len())];
        format!("{b} {}{:02}", rng.random_range(1..=5), rng.random_range(1..=12))
    });
    Address {
        town: town.name,
        chome: if town.chome == 0 { 0 } else { rng.random_range(1..=town.chome) },
        ban: rng.random_range(1..=30),
        go: rng.random_range(1..=25),
        building,
    }
}

fn draw_district<R: Rng>(rng: &mut R) -> &'static District {
    let total: f64 = DISTRICTS.iter().map(|d| d.weight).sum();
    let mut x = rng.random_range(0.0..total);
    for d in DISTRICTS {
        if x < d.weight {
            return d;
        }
        x -= d.weight;
    }
    &DISTRICTS[DISTRICTS.len() - 1]
}

/// A 10-digit number that looks random but is unique per `n` (multiplication by a unit mod 10¹⁰).
fn scrambled_number(n: u64, multiplier: u64, offset: u64) -> String {
    const M: u64 = 10_000_000_000;
    format!("{:010}", (n.wrapping_mul(multiplier) + offset) % M)
}

/// Draws household `index` of the municipality; every draw comes from `rng`.
/// `aux` draws the attributes added after the first release of the generator (nationality,
/// disability) from a stream of its own, so that every other draw stays as it was.
pub fn draw_household<R: Rng>(rng: &mut R, aux: &mut R, index: u64, as_of: NaiveDate) -> Household {
    let nationality = aux.random_bool(rates::FOREIGN_HOUSEHOLDS).then(|| {
        let x: f64 = aux.random_range(0.0..1.0);
        let mut acc = 0.0;
        let mut pick = rates::NATIONALITIES[0].0;
        for (n, share) in rates::NATIONALITIES {
            acc += share;
            pick = n;
            if x < acc {
                break;
            }
        }
        pick
    });
    let district = draw_district(rng);
    let outside_registry = rng.random_bool(rates::OUTSIDE_REGISTRY);
    let kind = {
        let x: f64 = rng.random_range(0.0..1.0);
        if x < rates::SINGLE_MOTHER_SHARE {
            HouseholdKind::SingleMother
        } else if x < rates::SINGLE_MOTHER_SHARE + rates::SINGLE_FATHER_SHARE {
            HouseholdKind::SingleFather
        } else {
            HouseholdKind::TwoParent
        }
    };
    let single = kind != HouseholdKind::TwoParent;
    let (poverty_odds, take_up) = match nationality {
        Some(_) => (district.poverty_odds * rates::FOREIGN_POVERTY_ODDS, rates::FOREIGN_TAKE_UP),
        None => (district.poverty_odds, 1.0),
    };
    let latent = HouseholdLatent::draw(rng, single, poverty_odds, take_up);

    // children: the eldest is 0–17 on as_of, the others follow 1–5 years apart
    let n_children = {
        let x: f64 = rng.random_range(0.0..1.0);
        let mut acc = 0.0;
        let mut n = rates::CHILDREN.len();
        for (i, p) in rates::CHILDREN.iter().enumerate() {
            acc += p;
            if x < acc {
                n = i + 1;
                break;
            }
        }
        n
    };
    let eldest_age = rng.random_range(0..18);
    let eldest_birth = as_of.checked_sub_days(Days::new(eldest_age * 365 + rng.random_range(0..365))).unwrap_or(as_of);
    let mother_age_at_first: i64 = (30.5 + 4.5 * latent::normal(rng)).round().clamp(16.0, 44.0) as i64;
    let mother_birth = eldest_birth
        .checked_sub_days(Days::new((mother_age_at_first * 365 + rng.random_range(0..365)) as u64))
        .unwrap_or(eldest_birth);
    let young_mother = mother_age_at_first < 20;
    let father_birth = mother_birth
        .checked_sub_days(Days::new((rng.random_range(-2i64..7).max(0) * 365 + rng.random_range(0..365)) as u64))
        .unwrap_or(mother_birth);

    let mut births = vec![eldest_birth];
    let mut twin_pairs = 0;
    let mut next = eldest_birth;
    while births.len() < n_children {
        if rng.random_bool(rates::TWIN_BIRTHS) {
            births.push(next);
            twin_pairs += 1;
            continue;
        }
        next = next + Days::new(rng.random_range(365..5 * 365));
        if next > as_of {
            break;
        }
        births.push(next);
    }
    // the last birth may itself be a twin birth
    if births.len() == n_children && rng.random_bool(rates::TWIN_BIRTHS) {
        births.push(next);
        twin_pairs += 1;
    }

    let family = FAMILY.draw(rng);
    let mut members = Vec::new();
    let mut next_member = 0u64;
    let mut person =
        |family: Name, former_family: Option<Name>, given: Name, birth: NaiveDate, sex: Sex, relation: Relation| {
            let n = index * 16 + next_member;
            next_member += 1;
            Person {
                person_id: n + 1,
                family,
                former_family,
                given,
                birth,
                sex,
                relation,
                resident_id: (!outside_registry).then(|| scrambled_number(n, 7_919, 1_234_567)),
                child: None,
                grade: None,
                disability: false,
            }
        };
    match kind {
        HouseholdKind::TwoParent => {
            members.push(person(family, None, GIVEN_MALE.draw(rng), father_birth, Sex::Male, Relation::Head));
            let maiden = rng.random_bool(rates::SURNAME_CHANGED_MARRIED).then(|| FAMILY.draw(rng));
            let maiden = maiden.filter(|m| m.kanji != family.kanji);
            members.push(person(family, maiden, GIVEN_FEMALE.draw(rng), mother_birth, Sex::Female, Relation::Spouse));
        }
        HouseholdKind::SingleMother => {
            // after a divorce: back to the maiden name, or the married name kept (婚氏続称)
            let (own, former) = if rng.random_bool(rates::SURNAME_REVERTED_DIVORCED) {
                let maiden = FAMILY.draw(rng);
                if maiden.kanji == family.kanji { (family, None) } else { (maiden, Some(family)) }
            } else {
                (family, None)
            };
            members.push(person(own, former, GIVEN_FEMALE.draw(rng), mother_birth, Sex::Female, Relation::Head));
        }
        HouseholdKind::SingleFather => {
            members.push(person(family, None, GIVEN_MALE.draw(rng), father_birth, Sex::Male, Relation::Head));
        }
    }
    let mother_family = members[0].family;
    for (i, birth) in births.iter().enumerate() {
        let sex = if rng.random_bool(0.512) { Sex::Male } else { Sex::Female };
        let table = if sex == Sex::Male { &*GIVEN_MALE } else { &*GIVEN_FEMALE };
        let mut given = table.draw(rng);
        // twins get distinct names
        while i > 0 && births[i - 1] == *birth && members.last().is_some_and(|p: &Person| p.given == given) {
            given = table.draw(rng);
        }
        // a child whose surname followed the mother's change carries the old one on old records
        let (own, former) = if kind == HouseholdKind::SingleMother && mother_family != family && rng.random_bool(0.3) {
            (mother_family, Some(family))
        } else {
            (family, None)
        };
        let mut child = person(own, former, given, *birth, sex, Relation::Child);
        child.grade = grade(*birth, as_of);
        members.push(child);
    }
    if rng.random_bool(rates::THREE_GENERATION_SHARE) {
        let gap = rng.random_range(24..36);
        let gp_birth = random_date(rng, members[0].birth.year() - gap);
        members.push(person(family, None, GIVEN_FEMALE.draw(rng), gp_birth, Sex::Female, Relation::Grandparent));
    }
    for m in members.iter_mut().filter(|m| m.relation == Relation::Child) {
        m.disability = aux.random_bool(rates::CHILD_DISABILITY);
        m.child = Some(latent::draw_child(rng, &latent, single, young_mother, m.disability, m.grade));
    }

    let address = draw_address(rng, district);
    let previous_address = rng.random_bool(rates::MOVED_WITHIN).then(|| {
        let from = draw_district(rng);
        draw_address(rng, from)
    });
    let moved_in = rng
        .random_bool(rates::MOVED_IN)
        .then(|| as_of.checked_sub_days(Days::new(rng.random_range(30..5 * 365))).unwrap_or(as_of));
    let moved_out = (!outside_registry && rng.random_bool(rates::MOVED_OUT))
        .then(|| as_of.checked_sub_days(Days::new(rng.random_range(1..365))).unwrap_or(as_of));

    let pregnancy = members
        .iter()
        .find(|p| p.sex == Sex::Female && p.relation != Relation::Child && p.relation != Relation::Grandparent)
        .filter(|m| m.age(as_of) < 43 && rng.random_bool(rates::PREGNANCY / 0.8))
        .map(|_| {
            let mut l = 0.0;
            if latent.poverty {
                l += 1.1;
            }
            if young_mother {
                l += 1.4;
            }
            if single {
                l += 0.9;
            }
            Pregnancy {
                due: as_of + Days::new(rng.random_range(20..260)),
                specified_expectant: latent::bernoulli_or(rng, rates::SPECIFIED_EXPECTANT, l - 0.3),
                prenatal_visits: rng.random_range(1..12),
            }
        });

    Household {
        household_id: index + 1,
        registry_household_no: (!outside_registry).then(|| scrambled_number(index, 104_729, 55_555)),
        district,
        address,
        previous_address,
        moved_in,
        moved_out,
        outside_registry,
        kind,
        members,
        latent,
        pregnancy,
        twin_pairs,
        nationality,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default()
    }

    #[test]
    fn school_grade_follows_the_april_cutoff() {
        let as_of = d(2026, 4, 1);
        // born 2 April 2019 starts school in April 2026: grade 1 from the new year on 1 April
        assert_eq!(grade(d(2019, 4, 2), d(2026, 4, 1)), Some(1));
        // born 1 April 2019 belongs to the year before
        assert_eq!(grade(d(2019, 4, 1), as_of), Some(2));
        assert_eq!(grade(d(2011, 4, 2), as_of), Some(9));
        assert_eq!(grade(d(2011, 4, 1), as_of), None);
        assert_eq!(grade(d(2020, 4, 1), as_of), Some(1));
    }
}
