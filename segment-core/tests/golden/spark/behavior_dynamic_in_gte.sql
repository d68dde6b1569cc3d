SELECT e.entity_id
FROM entities AS e
WHERE e.target_object = 'user'
  AND (
    ( -- rule group 1
      e.idx IN (
        SELECT b.entity_idx FROM `behavior_trade` AS b
        WHERE b.event_date BETWEEN DATE '2024-07-30' AND DATE '2024-08-05'
          AND b.`industry_l1` IN ('Food & Beverages')
        GROUP BY b.entity_idx
        HAVING SUM(b.count) >= 4
      )
    )
  )
ORDER BY e.entity_id
