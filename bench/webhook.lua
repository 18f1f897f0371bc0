-- bench/webhook.lua: wrk script for `make bench`'s webhook measurement.
--
--   wrk -t2 -c32 -d10s --latency -s bench/webhook.lua URL
--
-- Every request is an Alertmanager webhook POST (payload version 4, one
-- firing alert) with a fingerprint of its own (thread number and a
-- counter), so a receiver that deduplicates by fingerprint cannot take a
-- shortcut. The alert matches no shipped runbook: replguard journals it
-- (fsync, group commit), queues it and answers 200; the planner then
-- finds no runbook for it.

local next_thread = 1

function setup(thread)
   thread:set("id", next_thread)
   next_thread = next_thread + 1
end

local counter = 0
local headers = { ["Content-Type"] = "application/json" }
local template = '{"version":"4","status":"firing","receiver":"replguard",' ..
   '"groupKey":"bench","alerts":[{"status":"firing","labels":' ..
   '{"alertname":"BenchOnly","cluster":"c1","replica":"node2"},' ..
   '"annotations":{},"startsAt":"2026-11-22T00:00:00Z",' ..
   '"endsAt":"0001-01-01T00:00:00Z","fingerprint":"%04x%012x"}]}'

function request()
   counter = counter + 1
   return wrk.format("POST", nil, headers,
                     string.format(template, id, counter))
end
