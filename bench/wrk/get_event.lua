-- W2  GET /events/{event_id}, W5  GET /events/{event_id}/property-records (suffix=...):
-- random existing ids from a file bench/run.py writes (the rows of bench_sample_ids).
-- Arguments: prefix=<API path prefix> ids=<file, one event id a line> [suffix=/property-records]
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local options, ids, base, suffix

function init(args)
  options = common.parse_args(args)
  common.seed()
  ids = common.read_lines(options.ids)
  base = options.prefix .. "/events/"
  suffix = options.suffix or ""
end

function request()
  return wrk.format("GET", base .. common.pick(ids) .. suffix)
end
