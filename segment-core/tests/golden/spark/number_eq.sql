SELECT e.entity_id
FROM entities AS e
WHERE e.target_object = 'user'
  AND (
    ( -- rule group 1
      e.idx IN (
        SELECT t.entity_idx FROM `tag_v2_trade_cnt_7d` AS t
        WHERE t.data_date = DATE '2024-08-04' AND t.value = 3.0D
      )
    )
  )
ORDER BY e.entity_id
