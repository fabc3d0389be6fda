-- Paced load of the gateway join test for wrk:
--   wrk -tTHREADS -s join_load.lua URL -- RATE THREADS SECONDS CLOSE_EVERY
--   RATE         requests per second of all THREADS together (each thread paces its share
--                on the wall clock: a request waits for its slot, so the rate holds while
--                connections are free, whatever the latency)
--   SECONDS      stop issuing requests after this long (wrk's -d bounds the run too)
--   CLOSE_EVERY  every Nth request of a thread says Connection: close, so the client leg
--                mixes keep-alive and new connections
-- Each request carries ?n=THREAD-SEQ, unique in the run: the key that ties the gateway's
-- log line to the records of both legs. Paths are spread by SEQ mod 1000 over the
-- outcomes backend.py and the gateway configs in join_test.sh script.
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } op_timespec;
  int clock_gettime(int clk_id, op_timespec *tp);
]]
local ts = ffi.new("op_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

-- Cumulative shares per 1000 requests.
local mix = {
  {600, "/ok"},          -- 200 from the keep-alive pool (two backends, round robin)
  {750, "/api/ok"},      -- rewritten by the gateway to /v1/ok
  {810, "/notfound"},    -- 404 from the backend
  {850, "/error"},       -- 500 from the backend
  {890, "/unavail"},     -- 503 from the backend
  {950, "/retry/ok"},    -- a first try on a closed port, then the second backend
  {980, "/closed/ok"},   -- upstream on a closed port (or a down server): gateway's 502/503
  {990, "/reset-head"},  -- backend resets in its status line: 502, upstream's fault
  {995, "/reset-body"},  -- backend resets in its body: 200, truncated
  {998, "/api/notfound"},
  {1000, "/slow"},       -- backend slower than the gateway's read timeout: 504
}

local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

function init(args)
  local rate = tonumber(args[1]) or 2000
  local nthreads = tonumber(args[2]) or 1
  duration_ms = (tonumber(args[3]) or 10) * 1000
  close_every = tonumber(args[4]) or 10
  interval_ms = 1000.0 * nthreads / rate   -- this thread's share
  start_ms = nil
  seq = 0
  slot = 0
end

function delay()
  local now = now_ms()
  if start_ms == nil then start_ms = now end
  slot = slot + 1
  local due = start_ms + slot * interval_ms
  if due - start_ms > duration_ms then return 3600000 end  -- done: idle until wrk's -d
  return math.max(0, math.floor(due - now))
end

function request()
  seq = seq + 1
  local k = seq % 1000
  local path = "/ok"
  for _, m in ipairs(mix) do
    if k < m[1] then path = m[2]; break end
  end
  local headers = {}
  if seq % close_every == 0 then headers["Connection"] = "close" end
  return wrk.format("GET", path .. "?n=" .. tid .. "-" .. seq, headers)
end
