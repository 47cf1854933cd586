-- W3, W4, W6  GET /events?<query>, with event_type_id=<random type> when types= is given.
-- Arguments: prefix=<API path prefix> query=<fixed query string, e.g. count=100&offset=0>
--            [types=<file, one type id a line>]
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local options, types, path

function init(args)
  options = common.parse_args(args)
  common.seed()
  if options.types then types = common.read_lines(options.types) end
  path = options.prefix .. "/events?" .. (options.query or "")
end

function request()
  if types then
    return wrk.format("GET", path .. "&event_type_id=" .. common.pick(types))
  end
  return wrk.format("GET", path)
end
