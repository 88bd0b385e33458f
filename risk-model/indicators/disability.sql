-- indicator: disability
-- label: 障害のあるこども
-- reason: 障害のあるこどもがいる世帯
-- department: welfare, consultation
-- level: household
-- use: group
-- group: 障害のあるこどもがいる世帯
-- follows: 特別児童扶養手当等の支給に関する法律; 福祉行政報告例 (障害相談)
-- measures: a child of the household receives 特別児童扶養手当 or had a 障害相談 (for the fairness audit only, never a reason).
SELECT DISTINCT household_id FROM extracts.welfare
WHERE programme = '特別児童扶養手当' AND household_id IS NOT NULL
UNION
SELECT DISTINCT household_id FROM extracts.consultation
WHERE category = '障害相談' AND household_id IS NOT NULL
