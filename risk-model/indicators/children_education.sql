-- indicator: children_education
-- label: 学齢簿のこども
-- department: education
-- level: person
-- use: population
-- follows: 学校教育法施行令 第1条 (学齢簿)
-- measures: every pupil of the 学齢簿 is a child of the population scored (also those outside the registry).
SELECT person_id, household_id FROM extracts.education WHERE person_id IS NOT NULL
