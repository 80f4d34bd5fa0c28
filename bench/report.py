#!/usr/bin/env python3
"""Render peerbench.py JSON lines as a dated Markdown section with ratios.

Usage: report.py ingest RESULTS.jsonl COMMAND
"""
import json, os, platform, subprocess, sys, time

def main():
    kind, path, command = sys.argv[1], sys.argv[2], sys.argv[3]
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
