-- indicator: checkup_4m_missed
-- label: 4か月児健診の未受診
-- reason: 4か月児健診が未受診
-- department: health
-- level: person
-- use: feature
-- follows: 母子保健法 第13条 (乳児健康診査); こども家庭庁「乳幼児健康診査事業 実践ガイド」(未受診児の全数把握と受診勧奨)
-- measures: the child's 4-month checkup is recorded as not attended (due but no visit).
SELECT person_id FROM extracts.health
WHERE category = '乳幼児' AND checkup_4m = '未受診' AND person_id IS NOT NULL
