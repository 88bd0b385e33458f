-- indicator: child_rearing_allowance
-- label: 児童扶養手当受給
-- reason: 児童扶養手当を受給している世帯
-- department: welfare
-- level: household
-- use: feature
-- follows: 児童扶養手当法 (ひとり親家庭等の所得制限付き手当); ひとり親世帯の貧困率 44.5%（2021年 国民生活基礎調査）
-- measures: a member of the household receives 児童扶養手当.
SELECT DISTINCT household_id FROM extracts.welfare
WHERE programme = '児童扶養手当' AND household_id IS NOT NULL
