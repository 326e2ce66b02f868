-- wrk script of bench/web.py: each wrk thread holds one keep-alive connection and cycles
-- through the routes given after "--" (the first argument is the warm-up in seconds), so
-- a request's latency is the time from request() to response() on that thread. done()
-- prints, per thread and route, the requests sent and the answers that were not 2xx, then
-- each answered request's route and latency in microseconds (after the warm-up only).
-- (wrk's thread:get() copies flat tables only: the threads keep flat logs.)
--
--   wrk -t 50 -c 50 -d 11s --timeout 10s -s bench/web.lua http://127.0.0.1:8000 -- 1 / /orgs

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } mosu_timespec;
int clock_gettime(int clk_id, mosu_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local ts = ffi.new("mosu_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

-- setup and done run in their own environment
local threads = {}
local started = 0

function setup(thread)
  thread:set("id", started)
  started = started + 1
  threads[#threads + 1] = thread
end

-- the running phase: globals of each thread's environment, read by done() through get()
local prepared = {}
local count = 0
local next_index = 0
local warm_until = 0
local sent_at = 0
local measured = false

function init(args)
  warm_until = now_us() + tonumber(args[1]) * 1000000
  answered, latency_us, sent, bad = {}, {}, {}, {}
  for i = 2, #args do
    count = count + 1
    prepared[count] = wrk.format("GET", args[i])
    sent[count], bad[count] = 0, 0
  end
  next_index = id or 0
  pending = false
end

function request()
  local now = now_us()
  if pending and measured then -- the previous request was never answered: a socket error
    bad[pending] = bad[pending] + 1
  end
  local i = next_index % count + 1
  next_index = next_index + 1
  pending, sent_at, measured = i, now, now >= warm_until
  if measured then
    sent[i] = sent[i] + 1
  end
  return prepared[i]
end

function response(status, headers, body)
  if pending and measured then
    local n = #answered + 1
    answered[n], latency_us[n] = pending, math.floor(now_us() - sent_at)
    if status < 200 or status > 299 then
      bad[pending] = bad[pending] + 1
    end
  end
  pending = false
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("summary %d %d %d %d %d %d %d\n", summary.duration, summary.requests,
    e.connect, e.read, e.write, e.status, e.timeout))
  for _, thread in ipairs(threads) do
    local t_sent, t_bad, open = thread:get("sent"), thread:get("bad"), thread:get("pending")
    for i = 1, #t_sent do
      local s = t_sent[i]
      if open == i then -- still in flight when wrk stopped
        s = s - 1
      end
      io.write(string.format("route %d %d %d\n", i, s, t_bad[i]))
    end
    local t_answered, t_latency = thread:get("answered"), thread:get("latency_us")
    for k = 1, #t_answered do
      io.write(t_answered[k], " ", t_latency[k], "\n")
    end
  end
end
