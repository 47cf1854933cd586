-- W7  GET /customers/{customer_id}/events?<query> on random customers of the data set.
-- Arguments: prefix=<API path prefix> customer_prefix=<20 hex> customers=<count>
--            query=<fixed query string, e.g. count=100>
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local options, customers

function init(args)
  options = common.parse_args(args)
  common.seed()
  customers = tonumber(options.customers) or 100000
end

function request()
  local customer = options.customer_prefix .. tostring(100000 + math.random(0, customers - 1))
  return wrk.format(
    "GET", options.prefix .. "/customers/" .. customer .. "/events?" .. (options.query or "")
  )
end
