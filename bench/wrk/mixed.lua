-- Soak (memory check): a sustained mix of POST /events (as post_event.lua), GET /events/{id},
-- GET /events/{id}/property-records and GET /events?event_type_id=X&count=100.
-- Arguments: those of post_event.lua, get_event.lua and list_events.lua (prefix, run, types,
--            customer_prefix, customers, ids), and post=<share of POSTs, default 0.5>.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local options, types, ids, prefix, counter, post_share

function init(args)
  options = common.parse_args(args)
  common.seed()
  types = common.read_lines(options.types)
  ids = common.read_lines(options.ids)
  prefix = options.prefix
  counter = 0
  post_share = tonumber(options.post) or 0.5
end

local function post()
  counter = counter + 1
  local value = math.random(0, 65535)
  local body = string.format(
    '{"event":{"event_type_id":"%s","customer_id":"%s%d","external_id":"soak-%s-%d-%d",' ..
    '"data":{"channel":"app","value":%d}},"property_records":[' ..
    '{"property_id":"bench_note","property_value":"note %d"},' ..
    '{"property_id":"bench_quantity","property_value":%d},' ..
    '{"property_id":"bench_flag","property_value":%s}]}',
    common.pick(types), options.customer_prefix,
    100000 + math.random(0, (tonumber(options.customers) or 100000) - 1),
    options.run, thread_number, counter, value, value, value % 100,
    value % 2 == 1 and "true" or "false")
  return wrk.format("POST", prefix .. "/events", {["Content-Type"] = "application/json",
    ["Authorization"] = wrk.headers["Authorization"], ["Host"] = wrk.headers["Host"]}, body)
end

function request()
  if math.random() < post_share then return post() end
  local pick = math.random(3)
  if pick == 1 then return wrk.format("GET", prefix .. "/events/" .. common.pick(ids)) end
  if pick == 2 then
    return wrk.format("GET", prefix .. "/events/" .. common.pick(ids) .. "/property-records")
  end
  return wrk.format("GET", prefix .. "/events?count=100&event_type_id=" .. common.pick(types))
end
