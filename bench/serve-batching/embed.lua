-- wrk: POST /v1/embeddings with 1-8 sentences per request (all-MiniLM-L6-v2), seeded per thread.
local sentences = {
  "A man is eating food.", "A man is riding a horse.", "Someone in a gorilla costume is playing a set of drums.",
  "The new movie is awesome.", "A cheetah chases prey across a field.", "Two men pushed carts through the woods.",
  "The cat sits outside.", "A woman is playing the violin.", "A monkey is playing drums.",
  "How do I reset the router to its factory settings?", "Tomatoes need full sun, rich soil and regular watering.",
  "The rocket lifted off from the launch pad, carrying three astronauts toward the space station.",
  "Brewing coffee: grind the roasted beans just before brewing.", "A house cat sleeps up to sixteen hours a day.",
  "The quarterly report shows revenue growth in every region except the north.", "Where is the nearest train station?",
}
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(1000 + id)
end
request = function()
  local n = math.random(1, 8)
  local parts = {}
  for i = 1, n do parts[i] = '"' .. sentences[math.random(#sentences)] .. '"' end
  local body = '{"model": "all-MiniLM-L6-v2", "input": [' .. table.concat(parts, ", ") .. ']}'
  return wrk.format("POST", "/v1/embeddings", {["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format("requests %d in %.1f s: %.1f req/s; p50 %.1f ms, p90 %.1f ms, p99 %.1f ms; errors: connect %d read %d write %d timeout %d status %d\n",
    summary.requests, s, summary.requests / s, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status))
end
