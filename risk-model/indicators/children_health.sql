-- indicator: children_health
-- label: 母子保健の乳幼児
-- department: health
-- level: person
-- use: population
-- follows: 母子保健法 (乳幼児健診の対象者)
-- measures: infants and toddlers of the maternal and child health records.
SELECT person_id, household_id FROM extracts.health WHERE category = '乳幼児' AND person_id IS NOT NULL
