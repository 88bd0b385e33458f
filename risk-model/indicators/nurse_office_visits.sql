-- indicator: nurse_office_visits
-- label: 保健室の頻回来室
-- reason: 保健室への来室が多い（年6回以上）
-- department: education
-- level: person
-- use: feature
-- follows: 文部科学省「教職員のための子供の健康相談及び保健指導の手引」: 保健室の頻回来室は心身の不調や家庭の問題の兆候となりうる
-- measures: six or more visits to the school nurse's office this school year.
SELECT person_id FROM extracts.education
WHERE person_id IS NOT NULL AND nurse_office_visits >= 6
