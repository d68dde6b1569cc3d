SELECT e.entity_id
FROM entities AS e
WHERE e.target_object = 'user'
  AND (
    ( -- rule group 1
      e.idx IN (
        SELECT b.entity_idx FROM `behavior_trade` AS b
        WHERE b.event_date BETWEEN DATE '2024-07-07' AND DATE '2024-08-05'
          AND b.`industry_l1` NOT IN ('Retail')
        GROUP BY b.entity_idx
        HAVING SUM(b.count) BETWEEN 2 AND 5
      )
    )
  )
ORDER BY e.entity_id
