-- indicator: protection_council
-- label: 要対協登録（既知の支援ケース）
-- reason: 要保護児童対策地域協議会に登録済み（既に支援中）
-- department: consultation
-- level: household
-- use: known_case
-- follows: 児童福祉法 第25条の2 (要保護児童対策地域協議会); 登録ケースは既に支援の枠組みにあり、リストでは「既知」として区別する
-- measures: a child of the household is registered with the 要対協. Such households are marked, not rediscovered.
SELECT DISTINCT household_id FROM extracts.consultation
WHERE household_id IS NOT NULL AND protection_council
