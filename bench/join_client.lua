-- Joining clients for wrk (bench/scale_coordinators.py): every request is a join by a fresh user,
-- POST /api/v1/video/call/default/<call>/join {"create": true}, with a token made beforehand (JWT signing stays
-- out of the load generator's CPU). Thread i sends to port i % k of WEIR_JOIN_PORTS, so one wrk spreads the
-- connections evenly over k coordinator processes and still reports one latency distribution.
-- Environment: WEIR_JOIN_PORTS="p1,p2", WEIR_JOIN_TOKENS=<prefix> (thread i reads <prefix><i>: a token a line),
-- WEIR_JOIN_API_KEY, WEIR_JOIN_CALLS (how many calls the joins spread over).

local ports = {}
for port in os.getenv("WEIR_JOIN_PORTS"):gmatch("%d+") do table.insert(ports, port) end
local threads = {}

function setup(thread)
  local index = #threads
  thread.addr = wrk.lookup("127.0.0.1", ports[index % #ports + 1])[1]
  thread:set("id", index)
  table.insert(threads, thread)
end

local tokens, next_token, calls, path_head, path_tail, body
exhausted = 0

function init(args)
  tokens = {}
  for line in io.lines(os.getenv("WEIR_JOIN_TOKENS") .. id) do table.insert(tokens, line) end
  next_token, calls = 0, tonumber(os.getenv("WEIR_JOIN_CALLS"))
  path_head = "/api/v1/video/call/default/scale-"
  path_tail = "/join?api_key=" .. os.getenv("WEIR_JOIN_API_KEY")
  body = '{"create":true}'
end

function request()
  next_token = next_token + 1
  if next_token > #tokens then -- out of fresh users: counted, and the bench refuses the run
    exhausted = exhausted + 1
    next_token = 1
  end
  local call = (id * 7919 + next_token) % calls
  return wrk.format("POST", path_head .. call .. path_tail,
    {["Authorization"] = "Bearer " .. tokens[next_token], ["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  local reused = 0
  for _, thread in ipairs(threads) do reused = reused + thread:get("exhausted") end
  local e = summary.errors
  io.write(string.format("WRK requests=%d errors=%d status_errors=%d exhausted=%d p50_ms=%.1f p99_ms=%.1f\n",
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout, e.status, reused,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
