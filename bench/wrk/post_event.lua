-- W1  POST /events with 3 property records; every request a new event (unique external_id:
-- run tag, thread, counter), a random event type and a random existing customer.
-- Arguments: prefix=<API path prefix> run=<unique tag> types=<file, one type id a line>
--            customer_prefix=<20 hex> customers=<count>
-- The properties are bench/dataset.py's PROPERTIES (string, integer, boolean).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local options, types, counter, path

function init(args)
  options = common.parse_args(args)
  common.seed()
  types = common.read_lines(options.types)
  path = options.prefix .. "/events"
  counter = 0
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local customer = tonumber(options.customers) or 100000
  local value = math.random(0, 65535)
  local body = string.format(
    '{"event":{"event_type_id":"%s","customer_id":"%s%d","external_id":"wrk-%s-%d-%d",' ..
    '"data":{"channel":"web","value":%d}},"property_records":[' ..
    '{"property_id":"bench_note","property_value":"note %d"},' ..
    '{"property_id":"bench_quantity","property_value":%d},' ..
    '{"property_id":"bench_flag","property_value":%s}]}',
    common.pick(types), options.customer_prefix, 100000 + math.random(0, customer - 1),
    options.run, thread_number, counter, value, value, value % 100,
    value % 2 == 1 and "true" or "false")
  return wrk.format("POST", path, nil, body)
end
