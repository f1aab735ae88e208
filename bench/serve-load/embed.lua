-- wrk: POST 1-8 sentences per request (all-MiniLM-L6-v2) to the URL's path, seeded per thread.
-- Also used by bench/serve-batching/run.sh; the route comes from the URL
-- (Quiver: /v1/embeddings, infinity-emb: /embeddings). done() prints one JSON line for run.py.
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
  texts = 0
end
request = function()
  local n = math.random(1, 8)
  texts = texts + n
  local parts = {}
  for i = 1, n do parts[i] = '"' .. sentences[math.random(#sentences)] .. '"' end
  local body = '{"model": "all-MiniLM-L6-v2", "input": [' .. table.concat(parts, ", ") .. ']}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  local sent = 0
  for _, t in ipairs(threads) do sent = sent + t:get("texts") end
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "texts_sent": %d, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, sent, e.connect, e.read, e.write, e.timeout, e.status))
end
