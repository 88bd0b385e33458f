-- indicator: preschool
-- label: 未就学のこどもがいる
-- department: health
-- level: household
-- use: condition
-- follows: 母子保健法 (乳幼児); support eligibility only
-- measures: a child of the household is an infant or toddler of the maternal and child health records.
SELECT DISTINCT household_id FROM extracts.health WHERE category = '乳幼児' AND household_id IS NOT NULL
