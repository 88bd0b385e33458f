-- indicator: children_nursery
-- label: 保育所等のこども
-- department: nursery
-- level: person
-- use: population
-- follows: 子ども・子育て支援法 (保育の利用)
-- measures: children enrolled in 保育所等.
SELECT person_id, household_id FROM extracts.nursery WHERE person_id IS NOT NULL
