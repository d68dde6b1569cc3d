SELECT e.entity_id
FROM entities AS e
WHERE e.target_object = 'user'
  AND (
    ( -- rule group 1
      e.idx IN (
        SELECT t.entity_idx FROM `tag_v2_register_gmt_cn` AS t
        WHERE t.data_date = DATE '2024-08-04' AND t.value < 1704069000 -- 2024-01-01 08:30:00 Asia/Shanghai
      )
    )
  )
ORDER BY e.entity_id
