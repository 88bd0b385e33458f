-- indicator: nursery_fee_arrears
-- label: 保育料の滞納
-- reason: 保育料の滞納がある
-- department: nursery
-- level: household
-- use: feature
-- follows: 子ども・子育て支援法 (利用者負担); 滞納は経済的困窮の兆候として生活困窮者自立支援につなぐ
-- measures: one or more months of unpaid nursery fees for a child of the household.
SELECT DISTINCT household_id FROM extracts.nursery
WHERE household_id IS NOT NULL AND nursery_fee_arrears >= 1
