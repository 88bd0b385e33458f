use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("ws/mimamori.toml"))
}

fn error_at(text: &str) -> (usize, String) {
    match parse(text) {
        Err(ConfigError::Invalid { line, message, .. }) => (line, message),
        other => panic!("expected an invalid-config error, got {other:?}"),
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1).unwrap_or(0)
}

#[test]
fn template_validates_and_matches_the_synthetic_municipality() {
    let c = parse(TEMPLATE).unwrap();
    assert_eq!(c.min_group_size, 10);
    let ids: Vec<&str> = c.districts.iter().map(|d| d.id.as_str()).collect();
    let synth: Vec<&str> = synthetic_data::municipality::DISTRICTS.iter().map(|d| d.id).collect();
    assert_eq!(ids, synth, "the demo needs the template's districts to be the synthetic city's");
    for (d, s) in c.districts.iter().zip(synthetic_data::municipality::DISTRICTS) {
        assert_eq!(d.name, s.name);
    }
    let depts: Vec<&str> = c.departments.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(depts, synthetic_data::DEPARTMENTS);
    assert!(c.users.iter().filter(|u| u.role == Role::Reviewer).count() >= 2, "approval needs two reviewers");
    assert!(c.purposes.iter().all(|p| p.legal_basis.contains("第69条")));
}

#[test]
fn unknown_district_of_a_user_points_to_its_line() {
    let text = TEMPLATE.replace("districts = [\"minato\"]", "districts = [\"minatoo\"]");
    let (line, message) = error_at(&text);
    assert_eq!(line, line_of(&text, "minatoo"));
    assert!(message.contains("unknown district `minatoo`") && message.contains("minato"), "{message}");
}

#[test]
fn unknown_role_and_unknown_key_point_to_their_lines() {
    let text = TEMPLATE.replace("role = \"reviewer\"", "role = \"auditor\"");
    let (line, message) = error_at(&text);
    assert_eq!(line, line_of(&text, "auditor"));
    assert!(message.contains("expected one of"), "{message}");

    let text = TEMPLATE.replace("caseworker_capacity = 25", "capacity = 25");
    let (line, message) = error_at(&text);
    assert_eq!(line, line_of(&text, "capacity = 25"));
    assert!(message.contains("capacity"), "{message}");
}

#[test]
fn syntax_error_points_to_its_line() {
    let text = TEMPLATE.replace("min_group_size = 10", "min_group_size = = 10");
    let (line, _) = error_at(&text);
    assert_eq!(line, line_of(&text, "min_group_size = ="));
}

#[test]
fn privacy_settings_are_checked() {
    let text = TEMPLATE.replace("min_group_size = 10", "min_group_size = 1");
    assert_eq!(error_at(&text).0, line_of(&text, "min_group_size = 1"));
    let text = TEMPLATE.replace("dp_epsilon = \"1.0\"", "dp_epsilon = \"0\"");
    assert_eq!(error_at(&text).0, line_of(&text, "dp_epsilon = \"0\""));
    let text = TEMPLATE.replace("dp_delta = \"1e-7\"", "dp_delta = \"1.5\"");
    assert_eq!(error_at(&text).0, line_of(&text, "dp_delta = \"1.5\""));
    let text = TEMPLATE.replacen(
        "legal_basis = \"個人情報保護法 第69条第2項第2号（所掌事務の遂行に必要な限度での内部利用）\"",
        "legal_basis = \" \"",
        1,
    );
    assert!(error_at(&text).1.contains("legal basis"));
}

#[test]
fn caseworker_without_district_and_custodian_without_department_are_refused() {
    let text = TEMPLATE.replace("districts = [\"minato\"]\n", "");
    assert!(error_at(&text).1.contains("needs districts"));
    let text = TEMPLATE.replace("department = \"registry\"\n", "");
    assert!(error_at(&text).1.contains("needs department"));
}

#[test]
fn decimal_strings() {
    for ok in ["1", "1.0", "0.25", "1e-6", "2E+3", ".5"] {
        assert!(is_decimal(ok), "{ok}");
    }
    for bad in ["", "e5", "1..0", "1e", "-1", "abc", "1.0.0"] {
        assert!(!is_decimal(bad), "{bad}");
    }
}
