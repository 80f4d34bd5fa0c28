#!/usr/bin/env python3
"""Gnocchi batch-ingest benchmark, the same workload against any Gnocchi v1 API (a real
Gnocchi or Altimeter). Stdlib only. Improved copy of shared/peers/gnocchi-bench.py.

  gnocchi-bench.py run --peer NAME --endpoint URL [--metrics 1000] [--points 360]
                   [--step 30] [--chunk 100] [--reps 2] [--readers 8] [--out FILE.jsonl]
  gnocchi-bench.py table FILE.jsonl      prints the Markdown table and the ratio

Per repetition, with fresh metrics each time:
  1. create M metrics (archive policy `bench30s`: 30 s x 1 day + 5 min x 30 days, Gnocchi's
     default 6 aggregation methods), one POST /v1/metric each (timed, not in the headline);
  2. encode every request body BEFORE the timer starts (client-side JSON encoding must not
     dominate): M x P points, 30 s apart, ending now, `chunk` metrics per request;
  3. t0; POST /v1/batch/metrics/measures for every body over one keep-alive connection;
     "post" = t0 -> last answer;
  4. poll GET /v1/status?details=false every 0.1 s until storage.summary.measures == 0;
     "queryable at" = t0 -> first poll that reports 0 (Gnocchi: metricd has drained;
     Altimeter reports 0 pending on the first poll, right after the POSTs);
  5. read back EVERY metric at EVERY granularity of the policy (GET /v1/metric/ID/measures
     ?granularity=G&aggregation=mean, `readers` threads, one keep-alive connection each) and
     check each point count equals the expected count; "read-back" = the time this
     verification takes. If some count is short, it is retried (and reported), so the
     verification always ends on complete data or fails after --timeout.
The headline is "queryable at" (end-to-end: POST start -> every point queryable);
ratio = Altimeter / Gnocchi.
Auth: `Authorization: basic base64("admin:")` (Gnocchi auth_mode=basic; Altimeter accepts it).
Only talks to the given endpoint (loopback).
"""
import argparse
import base64
import concurrent.futures as cf
import http.client
import json
import sys
import threading
import time
import urllib.parse
import uuid

AUTH = "basic " + base64.b64encode(b"admin:").decode()
POLICY = {"name": "bench30s", "back_window": 0,
          "definition": [{"granularity": "30s", "timespan": "1 day"},
                         {"granularity": "5min", "timespan": "30 days"}]}
GRANULARITIES = (30, 300)


class Conn:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, endpoint, timeout=600):
        u = urllib.parse.urlsplit(endpoint)
        self.host, self.port, self.timeout = u.hostname, u.port or 80, timeout
        self.c = None

    def req(self, method, path, body=None, expect=(200, 201, 202, 204)):
        hdrs = {"Authorization": AUTH}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
            if not isinstance(body, (bytes, bytearray)):
                body = json.dumps(body).encode()
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.c.request(method, path, body=body, headers=hdrs)
                r = self.c.getresponse()
                data = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # the server closed an idle keep-alive connection: reconnect once
                self.c.close()
                self.c = None
                if attempt:
                    raise
        if r.status not in expect:
            raise RuntimeError(f"{method} {path}: HTTP {r.status} {data[:300]!r}")
        if r.status >= 300 or not data:
            return r.status, data
        return r.status, json.loads(data)


def expected_counts(timestamps):
    return {g: len({t // g for t in timestamps}) for g in GRANULARITIES}


def run_rep(a, rep):
    c = Conn(a.endpoint)
    st, _ = c.req("POST", "/v1/archive_policy", POLICY, expect=(201, 409))
    run = uuid.uuid4().hex[:8]
    t = time.time()
    ids = []
    for i in range(a.metrics):
        _, m = c.req("POST", "/v1/metric", {"archive_policy_name": POLICY["name"],
                                            "name": f"bench-{run}-{i}", "unit": "%"})
        ids.append(m["id"])
    t_create = time.time() - t

    last = int(time.time()) // a.step * a.step
    stamps = [last - (a.points - 1 - j) * a.step for j in range(a.points)]
    iso = [time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(s)) for s in stamps]
    bodies = []
    for ch in range(0, len(ids), a.chunk):
        body = {mid: [{"timestamp": iso[j], "value": float((k * 7 + j) % 100) + 0.25}
                      for j in range(a.points)]
                for k, mid in enumerate(ids[ch:ch + a.chunk], start=ch)}
        bodies.append(json.dumps(body).encode())
    want = expected_counts(stamps)
    samples = len(ids) * a.points

    t0 = time.time()
    for b in bodies:
        c.req("POST", "/v1/batch/metrics/measures", b)
    t_post = time.time() - t0
    polls, left, status_ok = 0, None, True
    while True:
        try:
            _, s = c.req("GET", "/v1/status?details=false")
            left = s["storage"]["summary"]["measures"]
        except (RuntimeError, KeyError, TypeError) as e:
            status_ok = False
            left = f"status unusable: {e}"
            break
        polls += 1
        if left == 0:
            break
        if time.time() - t0 > a.timeout:
            sys.exit(f"{a.peer}: measures still pending after {a.timeout} s: {left}")
        time.sleep(0.1)
    t_queryable = time.time() - t0

    # read-back verification
    local = threading.local()

    def count(mid, g):
        if not hasattr(local, "c"):
            local.c = Conn(a.endpoint)
        _, ms = local.c.req("GET", f"/v1/metric/{mid}/measures?granularity={g}&aggregation=mean")
        return len(ms or [])
    t1 = time.time()
    todo = [(mid, g) for mid in ids for g in GRANULARITIES]
    passes, short_first = 0, None
    with cf.ThreadPoolExecutor(a.readers) as ex:
        while todo:
            passes += 1
            got = list(ex.map(lambda x: count(*x), todo))
            short = [(x, n) for x, n in zip(todo, got) if n != want[x[1]]]
            if short_first is None:
                short_first = len(short)
            todo = [x for x, _ in short]
            if todo:
                if time.time() - t1 > a.timeout:
                    (mid, g), n = short[0]
                    sys.exit(f"{a.peer}: {len(short)} read-backs incomplete after {a.timeout} s, e.g. "
                             f"{mid} at {g} s: {n} points, want {want[g]}")
                time.sleep(0.5)
    t_read = time.time() - t1
    return {
        "peer": a.peer, "rep": rep, "metrics": a.metrics, "points_per_metric": a.points, "samples": samples,
        "requests": len(bodies), "create_metrics_s": round(t_create, 3), "post_s": round(t_post, 3),
        "post_samples_per_s": round(samples / t_post), "queryable_s": round(t_queryable, 3),
        "drain_after_post_s": round(t_queryable - t_post, 3), "status_polls": polls,
        "status_ok": status_ok, "readback_s": round(t_read, 3), "readback_requests": len(ids) * len(GRANULARITIES),
        "readback_passes": passes, "readback_short_first_pass": short_first,
        "expected_points": want, "ts_end": iso[-1],
    }


def cmd_run(a):
    out = open(a.out, "a") if a.out else None
    for rep in range(1, a.reps + 1):
        r = run_rep(a, rep)
        line = json.dumps(r)
        print(line, flush=True)
        if out:
            out.write(line + "\n")
            out.flush()


def cmd_table(a):
    rows = [json.loads(x) for x in open(a.file) if x.strip().startswith("{")]
    print("| peer | rep | samples | create metrics s | POST s | POST samples/s | queryable at s "
          "(POST start → all queryable) | drain after POST s | read-back s (all metrics × granularities) "
          "| read-back passes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['peer']} | {r['rep']} | {r['samples']:,} | {r['create_metrics_s']:.2f} | {r['post_s']:.2f} | "
              f"{r['post_samples_per_s']:,} | **{r['queryable_s']:.2f}** | {r['drain_after_post_s']:.2f} | "
              f"{r['readback_s']:.2f} ({r['readback_requests']} GETs) | {r['readback_passes']} |")
    peers = {}
    for r in rows:
        peers.setdefault(r["peer"], []).append(r)
    if "gnocchi" in peers and "altimeter" in peers:
        def med(xs):
            xs = sorted(xs)
            return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2
        g = med([r["queryable_s"] for r in peers["gnocchi"]])
        al = med([r["queryable_s"] for r in peers["altimeter"]])
        gr = med([r["readback_s"] for r in peers["gnocchi"]])
        ar = med([r["readback_s"] for r in peers["altimeter"]])
        gp = med([r["post_s"] for r in peers["gnocchi"]])
        ap = med([r["post_s"] for r in peers["altimeter"]])
        print()
        print(f"Headline (medians): end-to-end queryable Altimeter {al:.2f} s / Gnocchi {g:.2f} s = "
              f"**{al / g:.3f}** (goal ≤ 0.05); POST alone {ap:.2f} / {gp:.2f} = {ap / gp:.3f}; "
              f"read-back {ar:.2f} / {gr:.2f} = {ar / gr:.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--peer", required=True)
    r.add_argument("--endpoint", required=True)
    r.add_argument("--metrics", type=int, default=1000)
    r.add_argument("--points", type=int, default=360)
    r.add_argument("--step", type=int, default=30, help="seconds between points")
    r.add_argument("--chunk", type=int, default=100, help="metrics per batch request")
    r.add_argument("--reps", type=int, default=2)
    r.add_argument("--readers", type=int, default=8, help="read-back threads (keep-alive connections)")
    r.add_argument("--timeout", type=float, default=900)
    r.add_argument("--out")
    t = sub.add_parser("table")
    t.add_argument("file")
    a = ap.parse_args()
    cmd_run(a) if a.cmd == "run" else cmd_table(a)


if __name__ == "__main__":
    main()
