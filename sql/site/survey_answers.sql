-- Survey items of all counties (marts.survey_items, alue = 'ALL'), as rule 7 publishes them:
-- each item's answers in three parts of those who answered, 1-2, 3 and 4-5 (n_low, n_mid,
-- n_high and their shares), and for a yes/no item (mean blank) those who answered and those
-- who answered yes (K). $items: the items a section table shows, "source.item", in its row
-- order; $rounds: the rounds in the order the page shows them. Counties are not read: the
-- anonymous surveys are published for all counties together only (rule 7).
SELECT round,
       source || '.' || item AS item,
       n_answered,
       n_1 + n_2 AS n_low,
       n_3 AS n_mid,
       n_4 + n_5 AS n_high,
       (n_1 + n_2) / n_answered AS share_low,
       n_3 / n_answered AS share_mid,
       (n_4 + n_5) / n_answered AS share_high,
       n_answered AS n_yes_no_answered,
       n_positive AS n_yes,
       rate_positive AS share_yes
FROM marts.survey_items
WHERE alue = 'ALL'
  AND list_contains($items, source || '.' || item)
ORDER BY array_position($rounds, round), array_position($items, source || '.' || item)
