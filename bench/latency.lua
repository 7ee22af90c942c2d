-- wrk script for bench/bench.py: at the end of a run, print one line the
-- harness parses, with exact latency percentiles in microseconds (wrk's
-- --latency text rounds them and switches units).
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
        '"p50_us":%.0f,"p99_us":%.0f,"mean_us":%.1f,"max_us":%.0f,' ..
        '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
        summary.requests, summary.duration, summary.bytes,
        latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
        e.connect, e.read, e.write, e.status, e.timeout))
end
