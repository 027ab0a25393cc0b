-- wrk script for the admin API benchmark (tools/bench/api-bench): every request carries the
-- bearer token from $TRADSYS_BENCH_TOKEN (none when unset, for /health), and done() prints one
-- machine-readable line with the rate, latency percentiles and the count of non-2xx answers, so
-- a run that was throttled (429) or refused (401) cannot pass for a fast one.
local token = os.getenv("TRADSYS_BENCH_TOKEN")
if token and token ~= "" then
	wrk.headers["Authorization"] = "Bearer " .. token
end

-- summary.errors.status counts the answers that were not 2xx or 3xx.
function done(summary, latency, requests)
	local secs = summary.duration / 1e6
	io.write(string.format(
		"wrk: requests=%d req_s=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d errors=%d\n",
		summary.requests, summary.requests / secs, latency:percentile(50) / 1000,
		latency:percentile(99) / 1000, latency.max / 1000, summary.errors.status,
		summary.errors.connect + summary.errors.read + summary.errors.write +
		summary.errors.timeout))
end
