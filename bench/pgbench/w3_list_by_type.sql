-- W3  GET /events?event_type_id=X&count=:count on random types (W6 too, with count=1):
-- the page, then total_items.
-- Mirrors events_api.events.repository.list_events (offset below DEFERRED_JOIN_OFFSET: a plain
-- LIMIT/OFFSET query) and repository.count_events (a type filter only: the per-type counters).
-- Run with -M prepared. Variables (-D): type_prefix, count, offset.
\set t random(10, 29)
SELECT events.event_id, events.event_type_id, events.customer_id, events.external_id, events.data,
       events.created_at, events.secondary_external_id, events.state
  FROM events
  WHERE events.event_type_id = :type_prefix::text || :t::text
  ORDER BY events.created_at ASC, events.event_id ASC
  LIMIT :count OFFSET :offset;
SELECT coalesce(sum(event_type_counts.n), 0)
  FROM event_type_counts
  WHERE event_type_counts.event_type_id IN (:type_prefix::text || :t::text);
