SELECT e.entity_id
FROM entities AS e
WHERE e.target_object = 'user'
  AND (
    ( -- rule group 1
      e.idx IN (
        SELECT t.entity_idx FROM `tag_v2_is_black_list` AS t
        WHERE t.data_date = DATE '2024-08-04' AND t.value IN ('false')
      )
      AND
      e.idx IN (
        SELECT t.entity_idx FROM `tag_v2_trade_cnt_7d` AS t
        WHERE t.data_date = DATE '2024-08-04' AND t.value >= 5.0D
      )
    )
    OR
    ( -- rule group 2
      e.idx IN (
        SELECT t.entity_idx FROM `tag_city_cross_border_ride` AS t
        WHERE t.data_date = DATE '2024-08-04' AND t.value IN ('Shenzhen')
      )
    )
  )
ORDER BY e.entity_id
