-- indicator: specified_expectant_mother
-- label: 特定妊婦
-- reason: 世帯に特定妊婦として支援中の妊婦がいる
-- department: health
-- level: household
-- use: feature
-- follows: 児童福祉法 第6条の3第5項 (特定妊婦: 出産前から支援が特に必要な妊婦)
-- measures: a pregnant member of the household is registered as 特定妊婦.
SELECT DISTINCT household_id FROM extracts.health
WHERE category = '妊婦' AND specified_expectant_mother IS NOT NULL AND household_id IS NOT NULL
