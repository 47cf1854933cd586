-- WB  POST /events/batch: `batch` events (default 200) a request, each with 3 property records,
-- every event new (unique external_id: run tag, thread, counter, position), error_processing 1.
-- Arguments: prefix=<API path prefix> run=<unique tag> types=<file, one type id a line>
--            customer_prefix=<20 hex> customers=<count> batch=<events per request>
-- The events are those of post_event.lua (W1), so events/s compare with W1 and its pgbench.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local options, types, counter, path, size

function init(args)
  options = common.parse_args(args)
  common.seed()
  types = common.read_lines(options.types)
  path = options.prefix .. "/events/batch"
  size = tonumber(options.batch) or 200
  counter = 0
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local customer = tonumber(options.customers) or 100000
  local items = {}
  for i = 1, size do
    local value = math.random(0, 65535)
    items[i] = string.format(
      '{"event":{"event_type_id":"%s","customer_id":"%s%d","external_id":"wrkb-%s-%d-%d-%d",' ..
      '"data":{"channel":"web","value":%d}},"property_records":[' ..
      '{"property_id":"bench_note","property_value":"note %d"},' ..
      '{"property_id":"bench_quantity","property_value":%d},' ..
      '{"property_id":"bench_flag","property_value":%s}]}',
      common.pick(types), options.customer_prefix, 100000 + math.random(0, customer - 1),
      options.run, thread_number, counter, i, value, value, value % 100,
      value % 2 == 1 and "true" or "false")
  end
  local body = '{"events":[' .. table.concat(items, ",") .. '],"error_processing":1}'
  return wrk.format("POST", path, nil, body)
end
