-- W3 DESC  GET /events?event_type_id=X&count=:count&sort_field=created_at&sort_direction=DESC.
-- Mirrors events_api.events.repository.list_events and repository.count_events (see
-- w3_list_by_type.sql); only the order differs.
-- Run with -M prepared. Variables (-D): type_prefix, count, offset.
\set t random(10, 29)
SELECT events.event_id, events.event_type_id, events.customer_id, events.external_id, events.data,
       events.created_at, events.secondary_external_id, events.state
  FROM events
  WHERE events.event_type_id = :type_prefix::text || :t::text
  ORDER BY events.created_at DESC, events.event_id DESC
  LIMIT :count OFFSET :offset;
SELECT coalesce(sum(event_type_counts.n), 0)
  FROM event_type_counts
  WHERE event_type_counts.event_type_id IN (:type_prefix::text || :t::text);
