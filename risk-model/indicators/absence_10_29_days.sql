-- indicator: absence_10_29_days
-- label: 年間欠席10〜29日
-- reason: 今年度の欠席日数が10日以上（30日未満）
-- department: education
-- level: person
-- use: feature
-- follows: 文部科学省「不登校児童生徒への支援の在り方について」(令和元年通知): 欠席が30日に達する前の早期の気付き
-- measures: the sum of this school year's monthly absence days is 10 to 29, before the 不登校 line.
SELECT person_id FROM extracts.education
WHERE person_id IS NOT NULL
  AND coalesce(absence_apr, 0) + coalesce(absence_may, 0) + coalesce(absence_jun, 0) + coalesce(absence_jul, 0)
    + coalesce(absence_aug, 0) + coalesce(absence_sep, 0) + coalesce(absence_oct, 0) + coalesce(absence_nov, 0)
    + coalesce(absence_dec, 0) + coalesce(absence_jan, 0) + coalesce(absence_feb, 0) + coalesce(absence_mar, 0)
    BETWEEN 10 AND 29
