"""Turns the raw measurements into the medians table, the jern/nginx and
jern/HAProxy ratios and the issue-4 target checks, as markdown and JSON."""
import statistics

PROXIES = ("nginx", "haproxy", "jern")
LABEL = {"nginx": "nginx", "haproxy": "HAProxy", "jern": "jern"}

# (id, text, metric, load, rival, bound, kind): kind "min" means
# jern/rival >= bound; "max" means jern/rival <= bound.
TARGETS = (
    ("rps_nginx", "-c50 req/s: jern >= 1.25x nginx", "rps", 50, "nginx", 1.25, "min"),
    ("rps_haproxy", "-c50 req/s: jern >= 1.25x HAProxy", "rps", 50, "haproxy", 1.25, "min"),
    ("cpu_nginx", "-c50 requests per proxy CPU-second: jern >= 1.5x nginx",
     "req_per_cpu_s", 50, "nginx", 1.5, "min"),
    ("p99_nginx", "-c50 p99: jern no worse than nginx", "p99_ms", 50, "nginx", 1.0, "max"),
    ("p50_nginx", "-c1 p50: jern no worse than nginx", "p50_ms", 1, "nginx", 1.0, "max"),
    ("idle_nginx", "RSS per idle keep-alive connection: jern no more than nginx",
     "idle_kib_per_conn", None, "nginx", 1.0, "max"),
)

RATIO_METRICS = (("rps", "req/s"), ("p50_ms", "p50"), ("p99_ms", "p99"),
                 ("req_per_cpu_s", "req per CPU-s"), ("peak_rss_mib", "peak RSS"))


def summarize(measurements, loads):
    """{proxy: {load: medians}} over the rounds of each (proxy, load)."""
    out = {}
    for m in measurements:
        out.setdefault(m["proxy"], {}).setdefault(m["load"], []).append(m)
    summary = {}
    for proxy, by_load in out.items():
        for load in loads:
            ms = by_load.get(load)
            if not ms:
                continue
            med = {k: statistics.median(x[k] for x in ms)
                   for k in ("rps", "p50_ms", "p99_ms", "cpu_s", "req_per_cpu_s")}
            med["peak_rss_mib"] = statistics.median(x["peak_rss_kib"] for x in ms) / 1024
            med["errors"] = sum(x["errors"] for x in ms)
            med["rounds"] = len(ms)
            summary.setdefault(proxy, {})[load] = med
    return summary


def _metric(summary, memory, proxy, metric, load):
    if metric == "idle_kib_per_conn":
        m = memory.get(proxy)
        return m.get("kib_per_conn") if m else None
    return summary.get(proxy, {}).get(load, {}).get(metric)


def ratio(summary, memory, metric, load, rival):
    a = _metric(summary, memory, "jern", metric, load)
    b = _metric(summary, memory, rival, metric, load)
    if a is None or b is None or b <= 0:
        return None
    return a / b


def check_targets(summary, memory):
    """[{id, text, ratio, result}] with result PASS, FAIL or SKIP."""
    out = []
    for tid, text, metric, load, rival, bound, kind in TARGETS:
        r = ratio(summary, memory, metric, load, rival)
        if r is None:
            result = "SKIP"
        elif kind == "min":
            result = "PASS" if r >= bound else "FAIL"
        else:
            result = "PASS" if r <= bound else "FAIL"
        out.append({"id": tid, "text": text, "ratio": r, "bound": bound, "kind": kind,
                    "result": result})
    return out


def _f(v, fmt):
    return "n/a" if v is None else format(v, fmt)


def render(meta, summary, memory, targets, notes):
    """The markdown report (also what the bench prints)."""
    loads = meta["loads"]
    lines = [f"# jern bench, {meta['date']}", ""]
    lines.append(f"- machine: {meta['cpu']}, {meta['nproc']} CPUs, {meta['mem_gib']:.0f} GiB, "
                 f"Linux {meta['kernel']}")
    lines.append(f"- load average (1 min) before / after: {meta['load_before']} / "
                 f"{meta.get('load_after', 'n/a')} (the machine is shared)")
    lines.append(f"- run: {meta['rounds']} x {meta['seconds']} s per measurement, "
                 f"wrk -t{meta['wrk_threads']}, loads " + " ".join(f"-c{c}" for c in loads)
                 + ", proxies interleaved " + " ".join(LABEL[p] for p in meta["order"]))
    lines.append("- backends: 2 x nginx `return 200 \"ok\"`, one worker each; every proxy: one "
                 "worker, least_conn, 32 keep-alive upstream connections, no access log")
    lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    if meta.get("pinning"):
        lines.append(f"- CPUs: {meta['pinning']}")
    for n in notes:
        lines.append(f"- note: {n}")
    rounds = f"{meta['rounds']} round" + ("s" if meta["rounds"] != 1 else "")
    lines += ["", f"## Medians of {rounds}", "",
              "| load | proxy | req/s | p50 ms | p99 ms | proxy CPU s | req per CPU-s "
              "| peak RSS MiB | errors |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for load in loads:
        for p in meta["order"]:
            s = summary.get(p, {}).get(load)
            if not s:
                lines.append(f"| -c{load} | {LABEL[p]} | not run | | | | | | |")
                continue
            lines.append(f"| -c{load} | {LABEL[p]} | {s['rps']:.0f} | {s['p50_ms']:.3f} "
                         f"| {s['p99_ms']:.3f} | {s['cpu_s']:.2f} | {s['req_per_cpu_s']:.0f} "
                         f"| {s['peak_rss_mib']:.1f} | {s['errors']} |")
    lines += ["", "## Ratios jern / rival (above 1 is better for req/s and req per CPU-s; "
              "below 1 is better for latency and memory)", "",
              "| ratio | " + " | ".join(f"-c{c}" for c in loads) + " |",
              "|---|" + "---:|" * len(loads)]
    for metric, text in RATIO_METRICS:
        for rival in ("nginx", "haproxy"):
            cells = [_f(ratio(summary, memory, metric, c, rival), ".2f") for c in loads]
            lines.append(f"| {text} jern/{LABEL[rival]} | " + " | ".join(cells) + " |")
    for rival in ("nginx", "haproxy"):
        r = _f(ratio(summary, memory, "idle_kib_per_conn", None, rival), ".2f")
        lines.append(f"| RSS per idle conn jern/{LABEL[rival]} | {r} (idle test) |"
                     + " |" * (len(loads) - 1))
    lines += ["", "## Idle keep-alive connections (fresh instance each, one request answered "
              "per connection, then idle)", "",
              "| proxy | conns asked | conns held | RSS before MiB | RSS with conns MiB "
              "| KiB per conn |", "|---|---:|---:|---:|---:|---:|"]
    for p in meta["order"]:
        m = memory.get(p)
        if not m:
            lines.append(f"| {LABEL[p]} | not run | | | | |")
            continue
        lines.append(f"| {LABEL[p]} | {m['asked']} | {m['held']} "
                     f"| {m['rss_before_kib'] / 1024:.1f} | {m['rss_with_kib'] / 1024:.1f} "
                     f"| {_f(m.get('kib_per_conn'), '.2f')} |")
    lines += ["", "## Targets (issue 4; informational)", "",
              "| target | jern/rival | result |", "|---|---:|---|"]
    for t in targets:
        lines.append(f"| {t['text']} | {_f(t['ratio'], '.3f')} | {t['result']} |")
    lines.append("")
    return "\n".join(lines)
