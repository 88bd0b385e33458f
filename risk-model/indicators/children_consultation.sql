-- indicator: children_consultation
-- label: 相談記録のこども
-- department: consultation
-- level: person
-- use: population
-- follows: 児童福祉法 第10条 (市町村の相談)
-- measures: children with a consultation record.
SELECT person_id, household_id FROM extracts.consultation WHERE person_id IS NOT NULL
