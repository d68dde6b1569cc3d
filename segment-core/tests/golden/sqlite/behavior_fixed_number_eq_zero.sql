SELECT e.entity_id
FROM entities AS e
WHERE e.target_object = 'user'
  AND (
    ( -- rule group 1
      e.idx NOT IN (
        SELECT b.entity_idx FROM "behavior_trade" AS b
        WHERE b.event_date BETWEEN '2024-08-01' AND '2024-08-03'
          AND b."card_bin" = 438675.0
        GROUP BY b.entity_idx
        HAVING NOT (SUM(b.count) = 0)
      )
    )
  )
ORDER BY e.entity_id
