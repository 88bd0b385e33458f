-- indicator: school_age
-- label: 学齢のこどもがいる
-- department: education
-- level: household
-- use: condition
-- follows: 学校教育法 第17条 (就学義務); support eligibility only
-- measures: a child of the household is on the 学齢簿 (for the eligibility of school supports; never a reason).
SELECT DISTINCT household_id FROM extracts.education WHERE household_id IS NOT NULL
