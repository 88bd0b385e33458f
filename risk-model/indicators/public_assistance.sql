-- indicator: public_assistance
-- label: 生活保護受給
-- reason: 生活保護を受給している世帯
-- department: welfare
-- level: household
-- use: feature, group
-- group: 生活保護世帯
-- follows: 生活保護法; 子供の貧困対策に関する大綱 (生活保護世帯の子供の進学率などの指標)
-- measures: a member of the household receives 生活保護.
SELECT DISTINCT household_id FROM extracts.welfare
WHERE programme = '生活保護' AND household_id IS NOT NULL
