SELECT e.entity_id
FROM entities AS e
WHERE e.target_object = 'user'
  AND (
    ( -- rule group 1
      e.idx IN (
        SELECT t.entity_idx FROM `tag_city_cross_border_ride` AS f
        JOIN `tag_city_cross_border_ride` AS t ON t.entity_idx = f.entity_idx
        WHERE f.data_date = DATE '2024-07-30' AND t.data_date = DATE '2024-08-04'
          AND f.value IN ('Beijing') AND t.value IN ('Shenzhen', 'Shanghai')
      )
    )
  )
ORDER BY e.entity_id
