-- indicator: consultation_care
-- label: 養護相談の記録
-- reason: 過去に養護相談の記録がある
-- department: consultation
-- level: person
-- use: feature
-- follows: 児童福祉法 第10条・第11条 (市町村・児童相談所の相談); 福祉行政報告例の相談種別
-- measures: a consultation of the 養護相談 kind about the child (要対協 registration is a known case, see protection_council).
SELECT DISTINCT person_id FROM extracts.consultation
WHERE person_id IS NOT NULL AND category LIKE '養護相談%'
