SELECT e.entity_id
FROM entities AS e
WHERE e.target_object = 'user'
  AND (
    ( -- rule group 1
      NOT EXISTS (
        SELECT 1 FROM (
          SELECT b.entity_idx FROM `behavior_trade` AS b
          WHERE b.event_date BETWEEN DATE '2024-08-01' AND DATE '2024-08-03'
            AND b.`card_bin` = 438675.0D
          GROUP BY b.entity_idx
          HAVING NOT (SUM(b.count) = 0)
        ) AS failing
        WHERE failing.entity_idx = e.idx
      )
    )
  )
ORDER BY e.entity_id
