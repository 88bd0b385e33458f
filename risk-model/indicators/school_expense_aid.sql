-- indicator: school_expense_aid
-- label: 就学援助受給
-- reason: 就学援助を受けている世帯
-- department: welfare
-- level: household
-- use: feature
-- follows: 学校教育法 第19条 (就学援助); 文部科学省「就学援助実施状況等調査」
-- measures: a member of the household receives 就学援助.
SELECT DISTINCT household_id FROM extracts.welfare
WHERE programme = '就学援助' AND household_id IS NOT NULL
