-- wrk script behind the `/track` phases of `npm run bench:ingest` (bench/wrk.ts runs it): the
-- same requests as the autocannon generator in bench/load.ts. One event per POST /track on
-- keep-alive connections, with the SDK's headers, and a new visitor (X-Forwarded-For) per
-- request that no other thread or ingest node repeats — or, with LIVEPANEL_WRK_VISITORS=N,
-- N visitors in turn (request n comes from visitor n % N: each returns every N requests).
-- LIVEPANEL_WRK_FIRST=F numbers the requests from F (default 0).
--
--   LIVEPANEL_WRK_PORTS="<port of node 1> <port of node 2>…" LIVEPANEL_WRK_THREADS=<threads> \
--   wrk -t <threads> -c <connections> -d <seconds> -s bench/track.lua <node 1's url>/track \
--       -- <client id> <event name> <origin> <user agent>
--
-- Thread i sends to node i % nodes (every node on the URL's host), so the connections are
-- split evenly over the nodes and one latency histogram covers every request. setup() runs in
-- a Lua state of its own that gets no script arguments, hence the environment for the ports.
-- done() prints one line, `LIVEPANEL {json}`: requests built, 2xx and other answers, socket
-- errors, p50/p99 (µs) and the process's own CPU seconds (os.clock(): every thread). LuaJIT
-- has no bitwise operators: the address octets come from math.floor and %.

local threads = {}

local ports = {}
for port in string.gmatch(os.getenv("LIVEPANEL_WRK_PORTS") or "", "%d+") do
  ports[#ports + 1] = port
end

function setup(thread)
  local index = #threads
  if #ports > 0 then
    thread.addr = wrk.lookup(wrk.host, ports[index % #ports + 1])[1]
  end
  -- The threads interleave one sequence: thread k of T numbers its requests k, k + T, k + 2T…
  thread:set("thread_index", index)
  thread:set("stride", tonumber(os.getenv("LIVEPANEL_WRK_THREADS")) or 1)
  thread:set("visitors", tonumber(os.getenv("LIVEPANEL_WRK_VISITORS")) or 0)
  -- A run after another (a warm-up) starts past its requests, so its new visitors are new.
  thread:set("first", tonumber(os.getenv("LIVEPANEL_WRK_FIRST")) or 0)
  threads[#threads + 1] = thread
end

function init(args)
  -- args[0] is the URL; the script's own arguments follow `--`.
  name, origin = args[2], args[3]
  headers = {
    ["content-type"] = "application/json",
    ["openpanel-client-id"] = args[1],
    ["origin"] = origin,
    ["user-agent"] = args[4],
  }
  sent, ok, other = 0, 0, 0
end

local floor = math.floor

function request()
  local n = first + sent * stride + thread_index
  sent = sent + 1
  local v = visitors > 0 and n % visitors or n
  headers["x-forwarded-for"] = (81 + floor(v / 16777216)) .. "." .. (floor(v / 65536) % 256) .. "." .. (floor(v / 256) % 256) .. "." .. (v % 256)
  local body = '{"type":"track","payload":{"name":"' .. name .. '","properties":{"__path":"' .. origin .. "/p/" .. (n % 50) .. '","n":' .. n .. "}}}"
  return wrk.format("POST", nil, headers, body)
end

function response(status)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    other = other + 1
  end
end

function done(summary, latency)
  local sent_total, ok_total, other_total = 0, 0, 0
  for _, thread in ipairs(threads) do
    sent_total = sent_total + thread:get("sent")
    ok_total = ok_total + thread:get("ok")
    other_total = other_total + thread:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'LIVEPANEL {"durationUs":%d,"sent":%d,"answered":%d,"ok":%d,"other":%d,"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},'
      .. '"latencyUs":{"p50":%d,"p99":%d,"max":%d},"cpuSeconds":%.3f}\n',
    summary.duration, sent_total, summary.requests, ok_total, other_total, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, os.clock()
  ))
end
