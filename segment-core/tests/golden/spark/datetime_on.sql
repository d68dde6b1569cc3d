SELECT e.entity_id
FROM entities AS e
WHERE e.target_object = 'user'
  AND (
    ( -- rule group 1
      e.idx IN (
        SELECT t.entity_idx FROM `tag_v2_register_gmt_cn` AS t
        WHERE t.data_date = DATE '2024-08-04' AND t.value BETWEEN 1722873600 AND 1722959999 -- 2024-08-06 00:00:00 Asia/Shanghai, 2024-08-06 23:59:59 Asia/Shanghai
      )
    )
  )
ORDER BY e.entity_id
