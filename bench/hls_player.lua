-- An HLS player for wrk: polls the media playlist once a second (at a random phase, as players that came at
-- different times do) and fetches, in order, every segment it lists after the last one fetched (the newest one
-- only, at the first poll). Counts the playlists answered later than 100, 500 and 1000 ms. Run with as many threads
-- as connections: a wrk thread has its own Lua state, so each connection is one player with its own state.
-- wrk -t N -c N -s bench/hls_player.lua http://host/hls/<id>/720p/index.m3u8

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } timespec;
  int clock_gettime(int clock, timespec *now);
]]
local now_ts = ffi.new("timespec")

local function now_ms()
  ffi.C.clock_gettime(1, now_ts) -- CLOCK_MONOTONIC
  return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local playlist_path, base
local queue, fetched, polled = {}, -1, nil
playlists, segments, late_100, late_500, late_1000, slowest = 0, 0, 0, 0, 0, 0

function init(args)
  playlist_path = wrk.path
  base = wrk.path:match("^(.*/)")
  math.randomseed(math.floor(now_ms() * 1000) % 2147483647)
end

function delay()
  if #queue > 0 then return 0 end
  if not polled then return math.random(0, 999) end
  return math.max(0, math.floor(polled + 1000 - now_ms()))
end

function request()
  if #queue > 0 then return wrk.format("GET", base .. queue[1]) end
  polled = now_ms()
  return wrk.format("GET", playlist_path)
end

function response(status, headers, body)
  if status ~= 200 then return end
  if body:sub(1, 7) == "#EXTM3U" then
    playlists = playlists + 1
    local took = now_ms() - polled
    slowest = math.max(slowest, took)
    if took > 100 then late_100 = late_100 + 1 end
    if took > 500 then late_500 = late_500 + 1 end
    if took > 1000 then late_1000 = late_1000 + 1 end
    local listed = {}
    for line in body:gmatch("[^\r\n]+") do
      if line:sub(1, 1) ~= "#" and tonumber(line:match("^(%d+)")) > fetched then table.insert(listed, line) end
    end
    if fetched < 0 and #listed > 0 then listed = {listed[#listed]} end
    queue = listed
  else
    segments = segments + 1
    fetched = tonumber(table.remove(queue, 1):match("^(%d+)"))
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local n = {playlists = 0, segments = 0, late_100 = 0, late_500 = 0, late_1000 = 0}
  local slow = 0
  for _, thread in ipairs(threads) do
    for key, value in pairs(n) do n[key] = value + thread:get(key) end
    slow = math.max(slow, thread:get("slowest"))
  end
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d playlists=%d segments=%d errors=%d playlist_late_100=%d playlist_late_500=%d " ..
    "playlist_late_1000=%d playlist_max_ms=%.0f p50_ms=%.1f p99_ms=%.1f bytes=%d\n",
    summary.requests, n.playlists, n.segments, e.connect + e.read + e.write + e.status + e.timeout,
    n.late_100, n.late_500, n.late_1000, slow, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.bytes))
end
