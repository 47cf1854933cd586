-- W7  GET /customers/{customer_id}/events?count=:count on random customers: the page, then
-- total_items.
-- Mirrors events_api.events.repository.list_events with a customer filter (a plain
-- LIMIT/OFFSET query over ix_events_customer_created_at) and repository.count_events (a
-- customer filter: an index-only count of the customer's entries).
-- Run with -M prepared. Variables (-D): customer_prefix, customers, count, offset.
\set c random(100000, 99999 + :customers)
SELECT events.event_id, events.event_type_id, events.customer_id, events.external_id, events.data,
       events.created_at, events.secondary_external_id, events.state
  FROM events
  WHERE events.customer_id = :customer_prefix::text || :c::text
  ORDER BY events.created_at ASC, events.event_id ASC
  LIMIT :count OFFSET :offset;
SELECT count(*) AS count_1
  FROM events
  WHERE events.customer_id = :customer_prefix::text || :c::text;
