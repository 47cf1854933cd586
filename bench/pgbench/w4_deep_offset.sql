-- W4  GET /events?count=:count&offset=:offset (deep offset, no filter): the page, then
-- total_items.
-- Mirrors events_api.events.repository.list_events (offset >= DEFERRED_JOIN_OFFSET: the deferred
-- join, a narrow walk over ids to the page, then the page's full rows) and
-- repository.count_events (no filter: the sum of the per-type counters).
-- Run with -M prepared. Variables (-D): count, offset.
SELECT events.event_id, events.event_type_id, events.customer_id, events.external_id, events.data,
       events.created_at, events.secondary_external_id, events.state
  FROM events
  JOIN (SELECT events.event_id AS event_id
          FROM events
          ORDER BY events.created_at ASC, events.event_id ASC
          LIMIT :count OFFSET :offset) AS page ON page.event_id = events.event_id
  ORDER BY events.created_at ASC, events.event_id ASC;
SELECT coalesce(sum(event_type_counts.n), 0)
  FROM event_type_counts;
