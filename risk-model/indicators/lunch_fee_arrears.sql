-- indicator: lunch_fee_arrears
-- label: 給食費の滞納
-- reason: 給食費の滞納がある
-- department: education
-- level: household
-- use: feature
-- follows: こども家庭庁「こどもの貧困対策」: 学校徴収金の滞納は経済的困窮の早期の兆候
-- measures: one or more months of unpaid school lunch fees for a child of the household.
SELECT DISTINCT household_id FROM extracts.education
WHERE household_id IS NOT NULL AND lunch_fee_arrears >= 1
