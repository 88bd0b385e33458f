-- indicator: children_registry
-- label: 住民記録のこども
-- department: registry
-- level: person
-- use: population
-- follows: 住民基本台帳 (続柄「子」)
-- measures: the children of the population scored: registry members whose 続柄 is 子.
SELECT person_id, household_id FROM extracts.registry
WHERE relation = '子' AND person_id IS NOT NULL
