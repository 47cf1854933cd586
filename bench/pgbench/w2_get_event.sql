-- W2  GET /events/{event_id} on random existing ids.
-- One request's read: events_api.events.repository.get_events for one id (the server reads the
-- ids of concurrent requests together, WHERE event_id = ANY(...): events/lookups.py).
-- The id comes from bench_sample_ids (filled by bench/generate.py; the same ids wrk uses),
-- looked up in the same statement: pgbench cannot pick a random string by itself.
-- Run with -M prepared. Variables (-D): sample_ids (rows in bench_sample_ids).
\set k random(1, :sample_ids)
SELECT events.event_id, events.event_type_id, events.customer_id, events.external_id, events.data,
       events.created_at, events.secondary_external_id, events.state
  FROM events
  WHERE events.event_id = (SELECT event_id FROM bench_sample_ids WHERE n = :k);
