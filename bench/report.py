"""Turns the raw measurements into the medians table, the jern/nginx and
jern/HAProxy ratios (medians and per round) and the issue-22 target checks,
per CPU layout, as markdown and JSON."""
import statistics

PROXIES = ("nginx", "haproxy", "jern")
LABEL = {"nginx": "nginx", "haproxy": "HAProxy", "jern": "jern"}

# (id, text, metric, load, rival, bound, kind), judged on the unpinned layout
# (issue 22: what the whole box serves; the pinned one when it alone ran):
# kind "min" means jern/rival >= bound; "max" means jern/rival <= bound.
TARGETS = (
    ("rps_nginx", "-c50 req/s: jern >= 1.25x nginx", "rps", 50, "nginx", 1.25, "min"),
    ("rps_haproxy", "-c50 req/s: jern >= 1.25x HAProxy", "rps", 50, "haproxy", 1.25, "min"),
    ("mcpu_nginx", "-c50 machine CPU per request: jern <= 0.8x nginx",
     "machine_us_per_req", 50, "nginx", 0.8, "max"),
    ("p99_nginx_1", "-c1 p99: jern no worse than nginx", "p99_ms", 1, "nginx", 1.0, "max"),
    ("p99_nginx_50", "-c50 p99: jern no worse than nginx", "p99_ms", 50, "nginx", 1.0, "max"),
    ("p99_nginx_500", "-c500 p99: jern no worse than nginx", "p99_ms", 500, "nginx", 1.0, "max"),
    ("idle_nginx", "RSS per idle keep-alive connection: jern no more than nginx",
     "idle_kib_per_conn", None, "nginx", 1.0, "max"),
)

RATIO_METRICS = (("rps", "req/s"), ("p50_ms", "p50"), ("p99_ms", "p99"),
                 ("proxy_us_per_req", "proxy CPU per req"),
                 ("machine_us_per_req", "machine CPU per req"), ("peak_rss_mib", "peak RSS"))

MEDIAN_KEYS = ("rps", "p50_ms", "p99_ms", "cpu_s", "req_per_cpu_s", "proxy_us_per_req",
               "machine_us_per_req", "wrk_cs_per_req", "backend_cs_per_req",
               "upstream_conns_per_req")


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(measurements, loads):
    """{layout: {proxy: {load: medians, and rps_min / rps_max}}} over the rounds."""
    out = {}
    for m in measurements:
        out.setdefault(m.get("layout", "pinned"), {}).setdefault(m["proxy"], {}) \
            .setdefault(m["load"], []).append(m)
    summary = {}
    for layout, by_proxy in out.items():
        for proxy, by_load in by_proxy.items():
            for load in loads:
                ms = by_load.get(load)
                if not ms:
                    continue
                med = {k: _median(x.get(k) for x in ms) for k in MEDIAN_KEYS}
                med["rps_min"] = min(x["rps"] for x in ms)
                med["rps_max"] = max(x["rps"] for x in ms)
                med["peak_rss_mib"] = statistics.median(x["peak_rss_kib"] for x in ms) / 1024
                med["errors"] = sum(x["errors"] for x in ms)
                med["rounds"] = len(ms)
                summary.setdefault(layout, {}).setdefault(proxy, {})[load] = med
    return summary


def round_ratios(measurements, loads):
    """{layout: {rival: {load: [jern/rival req/s of each round]}}}: the rounds
    interleave the proxies, so a round's ratio compares like moments."""
    by = {}
    for m in measurements:
        by[(m.get("layout", "pinned"), m["round"], m["load"], m["proxy"])] = m["rps"]
    out = {}
    for (layout, rnd, load, proxy), rps in sorted(by.items()):
        if proxy != "jern":
            continue
        for rival in ("nginx", "haproxy"):
            r = by.get((layout, rnd, load, rival))
            if r:
                out.setdefault(layout, {}).setdefault(rival, {}).setdefault(str(load), []) \
                    .append(rps / r)
    return out


def _judged(summary):
    return summary.get("unpinned") or summary.get("pinned") or {}


def _metric(summary, memory, proxy, metric, load):
    if metric == "idle_kib_per_conn":
        m = memory.get(proxy)
        return m.get("kib_per_conn") if m else None
    return summary.get(proxy, {}).get(load, {}).get(metric)


def ratio(summary, memory, metric, load, rival):
    """jern/rival of metric in one layout's summary ({proxy: {load: ...}})."""
    a = _metric(summary, memory, "jern", metric, load)
    b = _metric(summary, memory, rival, metric, load)
    if a is None or b is None or b <= 0:
        return None
    return a / b


def check_targets(summary, memory):
    """[{id, text, ratio, result}] with result PASS, FAIL or SKIP."""
    judged = _judged(summary)
    out = []
    for tid, text, metric, load, rival, bound, kind in TARGETS:
        r = ratio(judged, memory, metric, load, rival)
        if r is None:
            result = "SKIP"
        elif kind == "min":
            result = "PASS" if r >= bound else "FAIL"
        else:
            result = "PASS" if r <= bound else "FAIL"
        out.append({"id": tid, "text": text, "ratio": r, "bound": bound, "kind": kind,
                    "result": result})
    return out


def _f(v, fmt_spec):
    return "n/a" if v is None else format(v, fmt_spec)


def render(meta, summary, memory, targets, notes, spreads=None):
    """The markdown report (also what the bench prints)."""
    loads = meta["loads"]
    spreads = spreads or {}
    lines = [f"# jern bench, {meta['date']}", ""]
    lines.append(f"- machine: {meta['cpu']}, {meta['nproc']} CPUs, {meta['mem_gib']:.0f} GiB, "
                 f"Linux {meta['kernel']}")
    lines.append(f"- load average (1 min) before / after: {meta['load_before']} / "
                 f"{meta.get('load_after', 'n/a')} (figures mean something only on a quiet "
                 "machine: above ~0.5 other work shares the CPUs)")
    lines.append(f"- run: {meta['rounds']} x {meta['seconds']} s per measurement, "
                 f"wrk -t{meta['wrk_threads']}, loads " + " ".join(f"-c{c}" for c in loads)
                 + ", proxies interleaved " + " ".join(LABEL[p] for p in meta["order"]))
    lines.append(f"- backends: 2 x nginx `return 200 \"ok\"`, one worker each; every proxy: one "
                 f"worker, least_conn, the same upstream pool ({meta.get('pool', 64)} idle "
                 "connections in all: nginx and jern `keepalive "
                 f"{meta.get('pool', 64)}` per upstream, HAProxy `pool-max-conn "
                 f"{meta.get('pool', 64) // 2}` per server), no access log")
    lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    pin = meta.get("pinning")
    if isinstance(pin, dict):
        for layout, text in pin.items():
            lines.append(f"- CPUs, {layout}: {text}")
    elif pin:
        lines.append(f"- CPUs: {pin}")
    for n in notes:
        lines.append(f"- note: {n}")
    rounds = f"{meta['rounds']} round" + ("s" if meta["rounds"] != 1 else "")
    for layout in meta.get("layouts") or list(summary):
        lsum = summary.get(layout, {})
        lines += ["", f"## Medians of {rounds}, {layout}", "",
                  "| load | proxy | req/s | p50 ms | p99 ms | proxy CPU s | req per CPU-s "
                  "| peak RSS MiB | errors | req/s min-max | proxy us/req | machine us/req "
                  "| wrk cs/req | backend cs/req | new upstream conns/req |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for load in loads:
            for p in meta["order"]:
                s = lsum.get(p, {}).get(load)
                if not s:
                    lines.append(f"| -c{load} | {LABEL[p]} | not run |" + " |" * 12)
                    continue
                lines.append(
                    f"| -c{load} | {LABEL[p]} | {s['rps']:.0f} | {s['p50_ms']:.3f} "
                    f"| {s['p99_ms']:.3f} | {s['cpu_s']:.2f} | {s['req_per_cpu_s']:.0f} "
                    f"| {s['peak_rss_mib']:.1f} | {s['errors']} "
                    f"| {s['rps_min']:.0f}-{s['rps_max']:.0f} "
                    f"| {_f(s['proxy_us_per_req'], '.1f')} | {_f(s['machine_us_per_req'], '.1f')} "
                    f"| {_f(s['wrk_cs_per_req'], '.3f')} | {_f(s['backend_cs_per_req'], '.3f')} "
                    f"| {_f(s['upstream_conns_per_req'], '.3f')} |")
        lines += ["", f"### Ratios jern / rival, {layout} (medians; above 1 is better for "
                  "req/s, below 1 for latency, CPU and memory)", "",
                  "| ratio | " + " | ".join(f"-c{c}" for c in loads) + " |",
                  "|---|" + "---:|" * len(loads)]
        for metric, text in RATIO_METRICS:
            for rival in ("nginx", "haproxy"):
                cells = [_f(ratio(lsum, memory, metric, c, rival), ".2f") for c in loads]
                lines.append(f"| {text} jern/{LABEL[rival]} | " + " | ".join(cells) + " |")
        for rival in ("nginx", "haproxy"):
            per = spreads.get(layout, {}).get(rival, {})
            cells = []
            for c in loads:
                xs = per.get(str(c)) or []
                cells.append(f"{min(xs):.2f}-{max(xs):.2f} ({len(xs)})" if xs else "n/a")
            lines.append(f"| req/s jern/{LABEL[rival]}, per round min-max (rounds) | "
                         + " | ".join(cells) + " |")
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
    judged = "unpinned" if "unpinned" in summary else "pinned"
    lines += ["", f"## Targets (issue 22, {judged} layout; informational, and meaningless on a "
              "shared machine)", "",
              "| target | jern/rival | result |", "|---|---:|---|"]
    for t in targets:
        lines.append(f"| {t['text']} | {_f(t['ratio'], '.3f')} | {t['result']} |")
    lines.append("")
    return "\n".join(lines)
