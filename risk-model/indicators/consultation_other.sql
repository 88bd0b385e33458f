-- indicator: consultation_other
-- label: その他の相談記録
-- reason: 過去に育成・保健などの相談記録がある
-- department: consultation
-- level: person
-- use: feature
-- follows: 福祉行政報告例の相談種別 (育成相談、保健相談、障害相談、非行相談)
-- measures: a consultation about the child of a kind other than 養護相談.
SELECT DISTINCT person_id FROM extracts.consultation
WHERE person_id IS NOT NULL AND category NOT LIKE '養護相談%'
