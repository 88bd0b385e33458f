-- indicator: checkup_3y_missed
-- label: 3歳児健診の未受診
-- reason: 3歳児健診が未受診
-- department: health
-- level: person
-- use: feature
-- follows: 母子保健法 第12条 (3歳児健康診査); 厚生労働省「子ども虐待対応の手引き」: 健診未受診は虐待リスクの指標の一つ
-- measures: the child's 3-year checkup is recorded as not attended.
SELECT person_id FROM extracts.health
WHERE category = '乳幼児' AND checkup_3y = '未受診' AND person_id IS NOT NULL
