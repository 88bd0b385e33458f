-- indicator: vaccination_gap
-- label: 予防接種の未接種（2回分以上）
-- reason: 定期予防接種に2回分以上の未接種がある
-- department: health
-- level: person
-- use: feature
-- follows: 予防接種法 第5条 (定期接種); 厚生労働省「子ども虐待対応の手引き」(予防接種の未接種はネグレクトの兆候の一つ)
-- measures: two or more routine vaccination doses due by the child's age are not recorded.
SELECT person_id FROM extracts.health
WHERE category = '乳幼児' AND vaccination_missing >= 2 AND person_id IS NOT NULL
