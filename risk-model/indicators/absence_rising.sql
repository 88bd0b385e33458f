-- indicator: absence_rising
-- label: 欠席の増加
-- reason: 欠席日数が年度の前半より後半に増えている
-- department: education
-- level: person
-- use: feature
-- follows: 文部科学省「生徒指導提要」(令和4年改訂) 第10章: 欠席の増え方に早く気付き、チーム支援につなげる
-- measures: absence days in October–March exceed those in April–September by at least 5 days
--           (the extract holds one school year; with a previous year's extract, compare the years).
SELECT person_id FROM extracts.education
WHERE person_id IS NOT NULL
  AND (coalesce(absence_oct, 0) + coalesce(absence_nov, 0) + coalesce(absence_dec, 0)
       + coalesce(absence_jan, 0) + coalesce(absence_feb, 0) + coalesce(absence_mar, 0))
    - (coalesce(absence_apr, 0) + coalesce(absence_may, 0) + coalesce(absence_jun, 0)
       + coalesce(absence_jul, 0) + coalesce(absence_aug, 0) + coalesce(absence_sep, 0)) >= 5
