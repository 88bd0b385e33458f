-- indicator: moved_out
-- label: 転出済みの世帯
-- department: registry
-- level: household
-- use: exclude
-- follows: 住民基本台帳法 第24条 (転出届): 転出した世帯は転出先の自治体が支援する
-- measures: every registry member of the household has moved out; such households are not scored or listed.
SELECT household_id FROM extracts.registry
WHERE household_id IS NOT NULL
GROUP BY household_id
HAVING bool_and(moved_out IS NOT NULL)
