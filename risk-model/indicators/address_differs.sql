-- indicator: address_differs
-- label: 部署間で住所が異なる（転居の可能性）
-- reason: 部署によって登録住所が異なる（転居が続いている可能性）
-- department: registry, health, education, nursery, welfare
-- level: household
-- use: feature
-- follows: 厚生労働省「子ども虐待による死亡事例等の検証結果等について」: 転居を繰り返す家庭は支援が途切れやすい
-- measures: the household's records in different departments carry two or more different block-level addresses (町丁目・番), a sign of a move the departments have not all recorded.
SELECT household_id FROM (
  SELECT household_id, tok_town_block AS a FROM extracts.registry
  UNION ALL SELECT household_id, tok_town_block FROM extracts.health
  UNION ALL SELECT household_id, tok_town_block FROM extracts.education
  UNION ALL SELECT household_id, tok_town_block FROM extracts.nursery
  UNION ALL SELECT household_id, tok_town_block FROM extracts.welfare
) WHERE household_id IS NOT NULL AND a IS NOT NULL
GROUP BY household_id HAVING count(DISTINCT a) > 1
