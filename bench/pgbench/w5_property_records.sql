-- W5  GET /events/{event_id}/property-records on random existing ids.
-- One request's page of records (repository.records_of for one event). The server reads the
-- pages of concurrent requests together, with each event's existence and record count, in one
-- query (repository.record_pages, events/lookups.py).
-- The id comes from bench_sample_ids, as in w2_get_event.sql.
-- Run with -M prepared. Variables (-D): sample_ids.
\set k random(1, :sample_ids)
SELECT event_property_records.event_id, event_property_records.property_id,
       event_properties.name AS property_name, event_property_records.property_value,
       event_property_records.last_change
  FROM event_property_records
  JOIN event_properties ON event_properties.property_id = event_property_records.property_id
  WHERE event_property_records.event_id = (SELECT event_id FROM bench_sample_ids WHERE n = :k)
  ORDER BY event_property_records.position;
