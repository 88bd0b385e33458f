-- indicator: resident_tax_exempt
-- label: 住民税非課税世帯
-- reason: 住民税が非課税の世帯
-- department: welfare
-- level: household
-- use: feature
-- follows: 地方税法 第295条 (住民税の非課税); 多くの子育て支援制度の所得基準
-- measures: the taxpayer of the household is exempt from resident tax.
SELECT DISTINCT household_id FROM extracts.welfare
WHERE programme = '住民税非課税' AND household_id IS NOT NULL
