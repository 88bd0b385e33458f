-- indicator: foreign_nationality
-- label: 外国籍の世帯
-- reason: 外国籍の世帯員がいる
-- department: registry
-- requires: registry.nationality
-- level: household
-- use: group
-- group: 外国籍の世帯
-- follows: 住民基本台帳法 第30条の45 (外国人住民); 出入国在留管理庁「外国人との共生社会の実現に向けたロードマップ」(支援へのアクセスの差)
-- measures: a member of the household is registered with a nationality other than Japan (for the fairness audit only, never a reason).
SELECT DISTINCT household_id FROM extracts.registry
WHERE household_id IS NOT NULL AND nationality IS NOT NULL AND nationality NOT IN ('日本', 'JPN', 'JP')
