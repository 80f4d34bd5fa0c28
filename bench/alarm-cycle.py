#!/usr/bin/env python3
"""Evaluation throughput: how long one evaluation cycle over N alarms takes.

Starts `altimeter serve` (ALTIMETER_BIN) on a temporary data directory with a
1 s evaluation interval, imports 100 series (text import, refreshed every
second), creates N `prometheus` alarms over them through the Aodh v2 API
(a tenth of them composite `or` of two sub-rules), lets the evaluator run,
and reads `altimeter_alarm_evaluation_cycle_seconds` and
`altimeter_alarm_evaluation_cycle_overruns_total` from /metrics.

Usage: alarm-cycle.py [--alarms 1000,5000] [--seconds 30]
Prints one JSON line per alarm count.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

HEADERS = {"X-User-Id": "bench", "X-Project-Id": "bench", "X-Roles": "admin",
           "Content-Type": "application/json"}


def req(method, url, body=None, headers=None):
    data = body.encode() if isinstance(body, str) else body
    r = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(r, timeout=60) as resp:
        return resp.status, resp.read()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def metric(text, name):
    total = 0.0
    found = False
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
            found = True
    return total if found else None


def run(binary, n, seconds):
    d = tempfile.mkdtemp(prefix="altimeter-alarm-cycle.")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, ALTIMETER_ALARMS_EVALUATION_INTERVAL="1s", ALTIMETER_LOG="warn")
    for k in list(env):
        if k.startswith("ALTIMETER_") and k not in ("ALTIMETER_ALARMS_EVALUATION_INTERVAL", "ALTIMETER_LOG"):
            del env[k]
    log = open(os.path.join(d, "server.log"), "w")
    p = subprocess.Popen([binary, "serve", "--data-dir", os.path.join(d, "data"), "--listen", f"127.0.0.1:{port}"],
                         env=env, stdout=subprocess.DEVNULL, stderr=log)
    stop = threading.Event()
    try:
        for _ in range(600):
            try:
                if req("GET", url + "/-/ready")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)

        def feed():
            while not stop.is_set():
                now = int(time.time() * 1000)
                body = "".join(f'bench_value{{alarm="{i}"}} {i % 100} {now}\n' for i in range(100))
                try:
                    req("POST", url + "/api/v1/import/prometheus", body)
                except OSError:
                    pass
                stop.wait(1.0)

        t = threading.Thread(target=feed, daemon=True)
        t.start()
        t0 = time.time()
        for i in range(n):
            if i % 10 == 9:
                alarm = {"name": f"c{i}", "type": "composite", "composite_rule": {"or": [
                    {"type": "prometheus", "query": f'bench_value{{alarm="{i % 100}"}}', "threshold": 50,
                     "comparison_operator": "gt"},
                    {"type": "prometheus", "query": f'bench_value{{alarm="{(i + 1) % 100}"}}', "threshold": 50,
                     "comparison_operator": "gt"}]}}
            else:
                alarm = {"name": f"p{i}", "type": "prometheus", "prometheus_rule": {
                    "query": f'bench_value{{alarm="{i % 100}"}}', "threshold": 50, "comparison_operator": "gt"}}
            req("POST", url + "/v2/alarms", json.dumps(alarm), HEADERS)
        created_s = time.time() - t0
        # Let the first cycles settle (every alarm transitions once), then measure.
        time.sleep(5)
        m0 = req("GET", url + "/metrics")[1].decode()
        time.sleep(seconds)
        m1 = req("GET", url + "/metrics")[1].decode()
        s0 = metric(m0, "altimeter_alarm_evaluation_cycle_seconds_sum") or 0.0
        c0 = metric(m0, "altimeter_alarm_evaluation_cycle_seconds_count") or 0.0
        s1 = metric(m1, "altimeter_alarm_evaluation_cycle_seconds_sum") or 0.0
        c1 = metric(m1, "altimeter_alarm_evaluation_cycle_seconds_count") or 0.0
        over = (metric(m1, "altimeter_alarm_evaluation_cycle_overruns_total") or 0.0) - \
               (metric(m0, "altimeter_alarm_evaluation_cycle_overruns_total") or 0.0)
        evals = (metric(m1, "altimeter_alarm_evaluations_total") or 0.0) - \
                (metric(m0, "altimeter_alarm_evaluations_total") or 0.0)
        states = {m.group(1): float(m.group(2)) for m in
                  re.finditer(r'altimeter_alarms\{state="([^"]+)"\} (\S+)', m1)}
        cycles = c1 - c0
        return {"alarms": n, "create_s": round(created_s, 2), "cycles": int(cycles),
                "mean_cycle_s": round((s1 - s0) / cycles, 4) if cycles else None,
                "evaluations_per_s": round(evals / seconds, 1), "overruns": int(over), "states": states}
    finally:
        stop.set()
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alarms", default="1000,5000")
    ap.add_argument("--seconds", type=int, default=30)
    a = ap.parse_args()
    binary = os.environ.get("ALTIMETER_BIN", "/var/tmp/altimeter-target/release/altimeter")
    for n in [int(x) for x in a.alarms.split(",")]:
        print(json.dumps(run(binary, n, a.seconds)), flush=True)


if __name__ == "__main__":
    main()
