"""Summarise build/bench/ (written by loadtest/bench.sh) as a Markdown table of medians."""
import glob, json, re, statistics, sys

out = sys.argv[1]

def med(xs):
    return statistics.median(xs) if xs else float("nan")

def reports(kind):
    return [json.load(open(p)) for p in sorted(glob.glob(f"{out}/{kind}-*.json"))]

def raw(name):
    vals = []
    for p in glob.glob(f"{out}/raw-*.txt"):
        for line in open(p):
            m = re.match(rf"Benchmark{name}-\d+\s+\d+\s+\d+ ns/op\s+([\d.]+) (msg|rows)/s", line)
            if m:
                vals.append(float(m.group(1)))
    return vals

send, recv = raw("RawSendMessageBatch"), raw("RawReceiveDelete")
ins1, ins500 = raw("RawInsert1"), raw("RawInsert500")
# The async path needs one send and one receive+delete per number on the
# same server: its raw ceiling is the harmonic combination of the two.
pipeline = [1 / (1 / s + 1 / r) for s, r in zip(send, recv)]
asy, syn, mx, smx, rss = reports("async"), reports("sync"), reports("max"), reports("syncmax"), reports("rss")
n = len(asy)

def row(label, reps, key, sub=None, fmt="{:.1f}"):
    vals = [r[key][sub] if sub else r[key] for r in reps]
    return f"| {label} | " + " | ".join(fmt.format(v) for v in vals) + f" | **{fmt.format(med(vals))}** |"

print(f"Runs: {n}. Medians in bold.\n")
print("| raw limit | " + " | ".join(f"run {i+1}" for i in range(len(send))) + " | median |")
print("|---|" + "---|" * (len(send) + 1))
for label, vals in [("SQS SendMessageBatch (msg/s)", send), ("SQS Receive+DeleteBatch (msg/s)", recv),
                    ("SQS send and consume, combined (msg/s)", pipeline),
                    ("Postgres 1-row inserts (rows/s)", ins1), ("Postgres 500-row inserts (rows/s)", ins500)]:
    print(f"| {label} | " + " | ".join(f"{v:,.0f}" for v in vals) + f" | **{med(vals):,.0f}** |")

hdr = "| figure | " + " | ".join(f"run {i+1}" for i in range(n)) + " | median |"
sep = "|---|" + "---|" * (n + 1)
for title, reps in [(f"async (product) at {asy[0]['rate'] if asy else '?'}/s", asy), (f"sync baseline at {syn[0]['rate'] if syn else '?'}/s", syn),
                    (f"async ceiling at {mx[0]['rate'] if mx else '?'}/s", mx),
                    (f"sync ceiling at {smx[0]['rate'] if smx else '?'}/s", smx)]:
    if not reps:
        continue
    print(f"\n**{title}**, {reps[0]['duration']}\n")
    print(hdr); print(sep)
    for label, key, sub, fmt in [("requested", "requested", None, "{:.0f}"), ("accepted", "accepted", None, "{:.0f}"),
                                 ("rejected", "rejected", None, "{:.0f}"), ("errors", "errors", None, "{:.0f}"),
                                 ("stored", "stored", None, "{:.0f}"), ("lost", "lost", None, "{:.0f}"),
                                 ("duplicates", "duplicates", None, "{:.0f}"), ("achieved rate (/s)", "achieved_rate", None, "{:.0f}"),
                                 ("accepted-and-stored rate (/s)", "stored_rate", None, "{:.0f}"),
                                 ("accept p50 (ms)", "accept_latency_ms", "p50", "{:.1f}"), ("accept p99 (ms)", "accept_latency_ms", "p99", "{:.1f}"),
                                 ("accept max (ms)", "accept_latency_ms", "max", "{:.1f}"),
                                 ("end-to-end p50 (ms)", "e2e_lag_ms", "p50", "{:.1f}"), ("end-to-end p99 (ms)", "e2e_lag_ms", "p99", "{:.1f}"),
                                 ("drain (s)", "drain_seconds", None, "{:.1f}")]:
        print(row(label, reps, key, sub, fmt))
    if reps is asy and rss:
        print(row("proxy peak RSS (MB)", rss, "proxy_mb"))
        print(row("worker peak RSS (MB)", rss, "worker_mb"))

if asy and syn:
    ratio = [a["accept_latency_ms"]["p99"] / s["accept_latency_ms"]["p99"] for a, s in zip(asy, syn) if s["accept_latency_ms"]["p99"]]
    print(f"\nasync/sync accept p99 ratio per run: {', '.join(f'{r:.2f}' for r in ratio)} (median {med(ratio):.2f})")
if mx and smx:
    ratio = [m["stored_rate"] / s["stored_rate"] for m, s in zip(mx, smx) if s["stored_rate"]]
    print(f"async/sync ceiling (accepted-and-stored rate) per run: {', '.join(f'{r:.2f}' for r in ratio)} (median {med(ratio):.2f})")
if mx and pipeline:
    ratio = [m["stored_rate"] / p for m, p in zip(mx, pipeline)]
    print(f"ceiling accepted-and-stored rate / raw SQS send+consume rate per run: {', '.join(f'{r:.0%}' for r in ratio)} (median {med(ratio):.0%})")
    ratio = [m["stored_rate"] / s for m, s in zip(mx, send)]
    print(f"ceiling accepted-and-stored rate / raw SQS send rate alone: median {med(ratio):.0%}")
