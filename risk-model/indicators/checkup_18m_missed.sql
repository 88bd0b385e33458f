-- indicator: checkup_18m_missed
-- label: 1歳6か月児健診の未受診
-- reason: 1歳6か月児健診が未受診
-- department: health
-- level: person
-- use: feature
-- follows: 母子保健法 第12条 (1歳6か月児健康診査); こども家庭庁「乳幼児健康診査事業 実践ガイド」
-- measures: the child's 18-month checkup is recorded as not attended.
SELECT person_id FROM extracts.health
WHERE category = '乳幼児' AND checkup_18m = '未受診' AND person_id IS NOT NULL
