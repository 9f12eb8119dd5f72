-- wrk script for bench/load_e2e.sh: one spend read every 5 ms per connection (a polling
-- partner, not a flood that would steal the ingest's CPU). wrk times each request from send to
-- response; the pause is not counted.
function delay()
  return 5
end
