use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<Mapping, MappingError> {
    Mapping::parse(text, Path::new("m/welfare.toml"))
}

const GOOD: &str = r#"department = "welfare"
[source]
path = "welfare.csv"
encoding = "cp932"
[identity]
record_id = "受給者番号"
name = "氏名"
name_kana = "フリガナ"
birth_date = "生年月日"
[identity.extra]
birth_place = { column = "出生地", compare = "bloom" }
[attributes]
benefit = { column = "給付種別", type = "string", sensitivity = "special_care" }
"#;

#[test]
fn contract_example_loads_and_resolves_source_beside_mapping() {
    let m = parse(GOOD).unwrap();
    assert_eq!(m.department, "welfare");
    assert_eq!(m.source.encoding, Encoding::Cp932);
    assert_eq!(m.source_path(), Path::new("m/welfare.csv"));
    assert_eq!(m.attributes["benefit"].sensitivity, Sensitivity::SpecialCare);
    assert_eq!(m.identity.extra["birth_place"].compare, Compare::Bloom);
    let roles: Vec<&str> = m.identity.columns().iter().map(|(r, _)| *r).collect();
    assert_eq!(roles, ["record_id", "name", "name_kana", "birth_date", "birth_place"]);
}

#[test]
fn febrl_style_generic_roles_map() {
    let m = parse(
        r#"department = "febrl_a"
[source]
path = "a.csv"
[identity]
record_id = "rec_id"
given_name = "given_name"
family_name = "surname"
street = "address_1"
locality = "suburb"
postcode = "postcode"
national_id = "soc_sec_id"
birth_date = "date_of_birth"
"#,
    )
    .unwrap();
    assert_eq!(m.source.encoding, Encoding::Auto);
    assert_eq!(m.identity.columns().len(), 8);
}

fn invalid_at(text: &str) -> (usize, usize, String) {
    match parse(text) {
        Err(MappingError::Invalid { line, column, message, .. }) => (line, column, message),
        other => panic!("expected an invalid-mapping error, got {other:?}"),
    }
}

#[test]
fn unknown_role_is_reported_at_its_line() {
    let text = GOOD.replace("birth_date = \"生年月日\"", "birthdate = \"生年月日\"");
    let (line, _, message) = invalid_at(&text);
    assert_eq!(line, 9);
    assert!(message.contains("birthdate"), "{message}");
}

#[test]
fn attribute_reusing_an_identity_column_is_refused() {
    let text = GOOD.replace("column = \"給付種別\"", "column = \"氏名\"");
    let (line, _, message) = invalid_at(&text);
    assert_eq!(line, 13);
    assert!(message.contains("identity"), "{message}");
}

#[test]
fn bad_department_name_and_extension_and_both_name_forms_are_refused() {
    assert_eq!(invalid_at(&GOOD.replace("\"welfare\"", "\"Welfare Dept\"")).0, 1);
    assert_eq!(invalid_at(&GOOD.replace("welfare.csv", "welfare.dat")).0, 3);
    let both = GOOD.replace("name = \"氏名\"", "name = \"氏名\"\nfamily_name = \"氏\"");
    assert!(invalid_at(&both).2.contains("either"));
}

#[test]
fn text_sources_split_on_tabs_or_on_the_delimiter_named() {
    assert_eq!(parse(GOOD).unwrap().delimiter(), b',');
    assert_eq!(parse(&GOOD.replace("welfare.csv", "welfare.txt")).unwrap().delimiter(), b'\t');
    assert_eq!(parse(&GOOD.replace("welfare.csv", "welfare.tsv")).unwrap().delimiter(), b'\t');
    let named = |d: &str| GOOD.replace("[source]\n", &format!("[source]\ndelimiter = \"{d}\"\n"));
    assert_eq!(parse(&named("|")).unwrap().delimiter(), b'|');
    assert_eq!(parse(&named("\\t")).unwrap().delimiter(), b'\t');
    for bad in ["", ";;", "\\\"", "、"] {
        let (_, _, message) = invalid_at(&named(bad));
        assert!(message.contains("delimiter"), "{bad}: {message}");
    }
    let sheet = named(";").replace("welfare.csv", "welfare.xlsx");
    assert!(invalid_at(&sheet).2.contains("applies to"));
}

#[test]
fn missing_record_id_is_refused() {
    let (_, _, message) = invalid_at(&GOOD.replace("record_id = \"受給者番号\"\n", ""));
    assert!(message.contains("record_id"), "{message}");
}

#[test]
fn an_age_needs_the_day_it_was_taken_and_that_day_must_be_a_date() {
    let census = |source_extra: &str| {
        format!(
            "department = \"census_1851\"\n[source]\npath = \"c.csv\"\n{source_extra}[identity]\nrecord_id = \"id\"\nname = \"name\"\nage = \"age\"\n"
        )
    };
    let m = parse(&census("age_on = \"1851-03-30\"\n")).unwrap();
    assert_eq!(m.age_on, chrono::NaiveDate::from_ymd_opt(1851, 3, 30));
    let (line, _, message) = invalid_at(&census(""));
    assert_eq!(line, 7);
    assert!(message.contains("age_on"), "{message}");
    let (line, _, message) = invalid_at(&census("age_on = \"spring\"\n"));
    assert_eq!(line, 4);
    assert!(message.contains("whole date"), "{message}");
    let (line, _, message) = invalid_at(&GOOD.replace("encoding = \"cp932\"", "age_on = \"1851-03-30\""));
    assert_eq!(line, 4);
    assert!(message.contains("identity.age"), "{message}");
    // an extract of several censuses: each record's day in a column
    let m = parse(&format!("{}age_on = \"census_day\"\n", census(""))).unwrap();
    assert_eq!(m.age_on, None);
    let roles: Vec<&str> = m.identity.columns().iter().map(|(r, _)| *r).collect();
    assert_eq!(roles, ["record_id", "name", "age", "age_on"]);
    let (line, _, message) = invalid_at(&format!("{}age_on = \"census_day\"\n", census("age_on = \"1851-03-30\"\n")));
    assert_eq!(line, 9);
    assert!(message.contains("not both"), "{message}");
}
