-- indicator: absence_30_days
-- label: 年間欠席30日以上
-- reason: 今年度の欠席日数が30日以上
-- department: education
-- level: person
-- use: feature
-- follows: 文部科学省「児童生徒の問題行動・不登校等生徒指導上の諸課題に関する調査」: 年間30日以上の欠席を長期欠席・不登校の目安とする
-- measures: the sum of this school year's monthly absence days is 30 or more.
SELECT person_id FROM extracts.education
WHERE person_id IS NOT NULL
  AND coalesce(absence_apr, 0) + coalesce(absence_may, 0) + coalesce(absence_jun, 0) + coalesce(absence_jul, 0)
    + coalesce(absence_aug, 0) + coalesce(absence_sep, 0) + coalesce(absence_oct, 0) + coalesce(absence_nov, 0)
    + coalesce(absence_dec, 0) + coalesce(absence_jan, 0) + coalesce(absence_feb, 0) + coalesce(absence_mar, 0) >= 30
