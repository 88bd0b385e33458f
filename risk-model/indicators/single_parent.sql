-- indicator: single_parent
-- label: ひとり親世帯
-- reason: ひとり親の世帯
-- department: registry, welfare
-- level: household
-- use: feature, group
-- group: ひとり親世帯
-- follows: 国民生活基礎調査 (ひとり親世帯の貧困率 44.5%); 母子及び父子並びに寡婦福祉法
-- measures: the household has children in the resident registry but no spouse of the head
--           (続柄 妻/夫), or receives 児童扶養手当.
SELECT household_id FROM extracts.registry
WHERE household_id IS NOT NULL
GROUP BY household_id
HAVING bool_or(relation = '子') AND NOT bool_or(relation IN ('妻', '夫'))
UNION
SELECT household_id FROM extracts.welfare
WHERE programme = '児童扶養手当' AND household_id IS NOT NULL
