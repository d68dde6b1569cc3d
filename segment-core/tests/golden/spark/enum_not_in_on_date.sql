SELECT e.entity_id
FROM entities AS e
WHERE e.target_object = 'user'
  AND (
    ( -- rule group 1
      e.idx IN (
        SELECT t.entity_idx FROM `tag_city_cross_border_ride` AS t
        WHERE t.data_date = DATE '2024-07-30' AND t.value NOT IN ('Beijing')
      )
    )
  )
ORDER BY e.entity_id
