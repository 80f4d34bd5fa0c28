#!/usr/bin/env python3
"""Render peerbench.py JSON lines as a dated Markdown section with ratios.

Usage: report.py ingest RESULTS.jsonl COMMAND
       report.py promql ALTIMETER.json VICTORIAMETRICS.json COMMAND
         (promcompare.py --json outputs, Prometheus as the reference)
"""
import json, os, platform, subprocess, sys, time

def commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"

def promql(alt_path, vm_path, command):
    alt, vm = json.load(open(alt_path)), json.load(open(vm_path))
    print(f"\n### promql run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} (commit {commit()})\n")
    print(f"Command: `{command}` — {os.cpu_count()} cores, kernel {platform.release()}; "
          f"{len(alt['rows'])} queries of bench/perf-queries.txt over 1 h at step 60 s, best of 3.\n")
    print("| query | Prometheus s | VictoriaMetrics s | Altimeter s | VM = Prometheus | Altimeter = Prometheus |")
    print("|---|---|---|---|---|---|")
    vm_rows = {r["query"]: r for r in vm["rows"]}
    for r in alt["rows"]:
        v = vm_rows.get(r["query"], {})
        ref = min(r["ref_s"], v.get("ref_s", r["ref_s"]))
        print(f"| `{r['query']}` | {ref:.3f} | {v.get('target_s', float('nan')):.3f} | {r['target_s']:.3f} | "
              f"{'yes' if v.get('ok') else 'no'} | {'yes' if r['ok'] else '**no**'} |")
    prom_total = min(alt["ref_seconds"], vm["ref_seconds"])
    a_ok = sum(r["ok"] for r in alt["rows"]); v_ok = sum(r["ok"] for r in vm["rows"])
    print(f"\n- totals: Prometheus {prom_total:.3f} s, VictoriaMetrics {vm['target_seconds']:.3f} s, "
          f"Altimeter {alt['target_seconds']:.3f} s")
    print(f"- Altimeter vs VictoriaMetrics: latency **x{alt['target_seconds'] / max(vm['target_seconds'], 1e-9):.2f}**; "
          f"vs Prometheus **x{alt['target_seconds'] / max(prom_total, 1e-9):.2f}**")
    print(f"- answers equal to Prometheus's: Altimeter {a_ok}/{len(alt['rows'])}, VictoriaMetrics {v_ok}/{len(vm['rows'])}")

def main():
    kind = sys.argv[1]
    if kind == "promql":
        return promql(sys.argv[2], sys.argv[3], sys.argv[4])
    path, command = sys.argv[2], sys.argv[3]
    rows = [json.loads(l) for l in open(path) if l.strip()]
    by = {}
    for r in rows:
        name = r["system"]
        name = "altimeter" if name.startswith("cmd:") else name
        by[name] = r
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    print(f"\n### {kind} run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} (commit {commit})\n")
    print(f"Command: `{command}` — {os.cpu_count()} cores, kernel {platform.release()}; "
          f"data: {rows[0]['samples']:,} samples, {rows[0]['series']:,} series.\n")
    print("| system | samples/s (wall) | samples / server CPU-s | bytes / sample on disk | RSS after ingest (MiB) | persist CPU s | HTTP statuses |")
    print("|---|---|---|---|---|---|---|")
    for name in ("victoriametrics", "altimeter", "prometheus"):
        r = by.get(name)
        if not r:
            continue
        print(f"| {name} | {r['samples_per_s']:,} | {r['samples_per_cpu_s']:,} | {r['bytes_per_sample']:.3f} | "
              f"{r['rss_mib']:.0f} | {r['persist_cpu_s']} | {r.get('http_status')} |")
    a = by.get("altimeter")
    if a:
        print()
        for peer in ("victoriametrics", "prometheus"):
            p = by.get(peer)
            if not p:
                continue
            print(f"- Altimeter vs {peer}: samples/CPU-s **x{a['samples_per_cpu_s'] / p['samples_per_cpu_s']:.2f}**, "
                  f"bytes/sample **x{a['bytes_per_sample'] / p['bytes_per_sample']:.2f}**, "
                  f"RSS **x{a['rss_mib'] / max(p['rss_mib'], 1e-9):.2f}**, "
                  f"wall samples/s x{a['samples_per_s'] / p['samples_per_s']:.2f}")
        errs = a.get("errors") or []
        if errs:
            print(f"- Altimeter errors: {errs}")

if __name__ == "__main__":
    main()
