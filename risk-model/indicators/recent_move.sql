-- indicator: recent_move
-- label: 最近の転入
-- reason: この1年以内に転入した世帯
-- department: registry
-- level: household
-- use: feature
-- follows: 厚生労働省「子ども虐待による死亡事例等の検証結果等について」: 転居を繰り返す家庭、転入直後の家庭は支援が途切れやすい
-- measures: a member of the household moved into the municipality within a year of the as-of date.
SELECT DISTINCT household_id FROM extracts.registry
WHERE household_id IS NOT NULL AND moved_in IS NOT NULL
  AND moved_in > DATE '{as_of}' - INTERVAL '1 year' AND moved_in <= DATE '{as_of}'
