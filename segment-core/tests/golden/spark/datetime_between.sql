SELECT e.entity_id
FROM entities AS e
WHERE e.target_object = 'user'
  AND (
    ( -- rule group 1
      e.idx IN (
        SELECT t.entity_idx FROM `tag_v2_register_gmt_cn` AS t
        WHERE t.data_date = DATE '2024-08-04' AND t.value BETWEEN 1704038400 AND 1719763199 -- 2024-01-01 00:00:00 Asia/Shanghai, 2024-06-30 23:59:59 Asia/Shanghai
      )
    )
  )
ORDER BY e.entity_id
