//! The fictional city of みまもり市: its school districts (小学校区), towns and postcodes.
//!
//! Districts differ in size and in their share of low-income households, as districts of a real
//! city do, so that prevalence by district, fairness audits and capacity-aware outreach have
//! something to find.

/// A school district (小学校区), the unit a caseworker covers.
#[derive(Debug)]
pub struct District {
    /// Code name, as in `mimamori.toml`.
    pub id: &'static str,
    /// Japanese name.
    pub name: &'static str,
    /// Relative share of the city's households.
    pub weight: f64,
    /// Odds multiplier of household poverty relative to the city (public housing, older rental
    /// stock raise it; new detached-housing estates lower it).
    pub poverty_odds: f64,
    /// Share of households living in apartment buildings (方書 in the address).
    pub apartment_share: f64,
    /// Towns: name, katakana reading, postcode, number of 丁目 (0: town without 丁目).
    pub towns: &'static [Town],
}

#[derive(Debug)]
pub struct Town {
    pub name: &'static str,
    pub postcode: &'static str,
    pub chome: u32,
}

pub const CITY: &str = "みまもり市";
pub const PREFECTURE: &str = "架空県";

pub const DISTRICTS: &[District] = &[
    District {
        id: "chuo",
        name: "中央小学校区",
        weight: 1.3,
        poverty_odds: 1.0,
        apartment_share: 0.55,
        towns: &[
            Town { name: "本町", postcode: "999-0101", chome: 4 },
            Town { name: "栄町", postcode: "999-0102", chome: 3 },
            Town { name: "中央", postcode: "999-0103", chome: 5 },
        ],
    },
    District {
        id: "kita",
        name: "北小学校区",
        weight: 1.0,
        poverty_odds: 0.8,
        apartment_share: 0.30,
        towns: &[
            Town { name: "北町", postcode: "999-0201", chome: 3 },
            Town { name: "緑ヶ丘", postcode: "999-0202", chome: 4 },
            Town { name: "高砂町", postcode: "999-0203", chome: 0 },
        ],
    },
    District {
        id: "minami",
        name: "南小学校区",
        weight: 1.1,
        poverty_odds: 1.3,
        apartment_share: 0.40,
        towns: &[
            Town { name: "南町", postcode: "999-0301", chome: 3 },
            Town { name: "吉野町", postcode: "999-0302", chome: 0 },
            Town { name: "松原町", postcode: "999-0303", chome: 2 },
        ],
    },
    District {
        id: "higashi",
        name: "東小学校区",
        weight: 0.9,
        poverty_odds: 0.9,
        apartment_share: 0.25,
        towns: &[
            Town { name: "東町", postcode: "999-0401", chome: 3 },
            Town { name: "旭町", postcode: "999-0402", chome: 2 },
            Town { name: "朝日ヶ丘", postcode: "999-0403", chome: 5 },
        ],
    },
    District {
        id: "nishi",
        name: "西小学校区",
        weight: 0.8,
        poverty_odds: 1.1,
        apartment_share: 0.35,
        towns: &[
            Town { name: "西町", postcode: "999-0501", chome: 3 },
            Town { name: "柳町", postcode: "999-0502", chome: 0 },
            Town { name: "泉町", postcode: "999-0503", chome: 2 },
        ],
    },
    District {
        id: "minato",
        name: "港小学校区",
        weight: 0.9,
        poverty_odds: 2.0,
        apartment_share: 0.60,
        towns: &[
            Town { name: "港町", postcode: "999-0601", chome: 4 },
            Town { name: "浜田町", postcode: "999-0602", chome: 3 },
            Town { name: "川辺町", postcode: "999-0603", chome: 2 },
        ],
    },
    District {
        id: "yamate",
        name: "山手小学校区",
        weight: 0.7,
        poverty_odds: 0.5,
        apartment_share: 0.15,
        towns: &[
            Town { name: "山手町", postcode: "999-0701", chome: 3 },
            Town { name: "青葉台", postcode: "999-0702", chome: 4 },
            Town { name: "富士見町", postcode: "999-0703", chome: 2 },
        ],
    },
    District {
        id: "wakaba",
        name: "若葉小学校区",
        weight: 1.2,
        poverty_odds: 0.7,
        apartment_share: 0.30,
        towns: &[
            Town { name: "若葉台", postcode: "999-0801", chome: 5 },
            Town { name: "桜台", postcode: "999-0802", chome: 4 },
            Town { name: "島田", postcode: "999-0803", chome: 0 },
        ],
    },
];

/// Apartment building names (方書); a room number follows.
pub const BUILDINGS: &[&str] = &[
    "コーポ桜",
    "ハイツみまもり",
    "メゾン青葉",
    "グランドール本町",
    "サンハイツ",
    "レオパレス栄",
    "市営住宅A棟",
    "市営住宅B棟",
    "県営港団地3号棟",
    "パークサイド高砂",
    "ロイヤル吉野",
    "ヴィラ緑ヶ丘",
    "シャトー柳",
    "フォレスト山手",
    "リバーサイド川辺",
    "アーバン中央",
];

/// Schools by district: (elementary, junior high).
pub fn schools(district: &District) -> (&'static str, &'static str) {
    match district.id {
        "chuo" => ("中央小学校", "第一中学校"),
        "kita" => ("北小学校", "北中学校"),
        "minami" => ("南小学校", "南中学校"),
        "higashi" => ("東小学校", "第一中学校"),
        "nishi" => ("西小学校", "西中学校"),
        "minato" => ("港小学校", "南中学校"),
        "yamate" => ("山手小学校", "北中学校"),
        _ => ("若葉小学校", "西中学校"),
    }
}
