#!/usr/bin/env python3
"""Alarm latency benchmark: sample acknowledged -> webhook received, through the Aodh v2 API,
the same method against any target (a real Aodh + Gnocchi, or Altimeter). Run by
bench/alarms.sh, which starts and stops the targets.

  alarm-latency.py run --target NAME --kind gnocchi|prometheus --aodh URL
                   [--gnocchi URL] [--remote-write URL] [--interval S] [--settings TEXT]
                   [--alarms 100] [--timeout 60] [--ok-timeout 300] [--seed N]
                   [--evaluator-log FILE] [--out FILE.jsonl]
  alarm-latency.py table FILE.jsonl      prints the Markdown table with ratios

Method (the same for every target):
  * a webhook receiver (stdlib ThreadingHTTPServer, in a thread of this process, on a free
    loopback port) records time.time() at the arrival of every POST and the alarm_id,
    previous and current states from its JSON body;
  * --kind gnocchi: archive policy `bench1s` (1 s x 1 h, mean+max); N generic resources, each
    with one metric `bench`; N alarms of type gnocchi_resources_threshold (mean > 50,
    granularity 1, evaluation_periods 1, alarm_actions [receiver]);
    --kind prometheus: N alarms of type prometheus (`bench_value{alarm="i"}` > 50) whose series
    arrive by Prometheus remote-write (snappy protobuf, POST /api/v1/write);
  * a background feeder writes one below-threshold value (10) to every series every second
    (one batch request per second: POST /v1/batch/metrics/measures, or one remote-write
    request), so every alarm evaluates to "ok" and stays there; the run waits until every
    alarm's state is "ok" (GET /v2/alarms), so the measured transition is ok -> alarm;
  * then the alarms are triggered one at a time in random order, 100-300 ms apart (uniform,
    seeded), so they do not all land in the same evaluation tick. Triggering alarm i =
    POST one value 99 at "now" for its series (POST /v1/metric/ID/measures -> 202, or a
    remote-write request -> 204); the acknowledgement time is taken when that response has
    been read. The feeder stops writing a series about 1 s before its trigger, so the 99
    never shares a 1 s bucket with a low value and is the newest sample of its series;
  * latency = arrival of the first webhook for the alarm with current == "alarm" - ack.
    A webhook that does not arrive within --timeout s of the last ack counts as missing;
    percentiles are nearest-rank over all N alarms with missing ones counted as infinite
    (so a p99 shows "> timeout" when 2 or more are missing).
Headers on /v2: X-User-Id, X-Project-Id, X-Roles: admin (Aodh noauth). Gnocchi v1 auth:
`Authorization: basic base64("admin:")`. Only talks to loopback.
Exit status: 0 ok; 1 failure; 3 the target has no Aodh v2 API (GET /v2/alarms -> 404).
"""
import argparse
import base64
import datetime as dt
import http.client
import json
import math
import os
import random
import re
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GNOCCHI_AUTH = "basic " + base64.b64encode(b"admin:").decode()
AODH_HEADERS = {"X-User-Id": "00000000-0000-0000-0000-000000000001",
                "X-Project-Id": "00000000-0000-0000-0000-000000000002",
                "X-Roles": "admin"}
POLICY = {"name": "bench1s", "definition": [{"granularity": "1s", "timespan": "1h"}],
          "aggregation_methods": ["mean", "max"]}
LOW, HIGH, THRESHOLD = 10.0, 99.0, 50.0
LOOKAHEAD = 1.0  # s: the feeder stops writing a series this long before its trigger


class NoAodhV2(Exception):
    pass


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- HTTP client

class Conn:
    """One keep-alive HTTP/1.1 connection to one endpoint (one per thread)."""

    def __init__(self, endpoint, headers, timeout=120):
        u = urllib.parse.urlsplit(endpoint)
        self.host, self.port, self.timeout = u.hostname, u.port or 80, timeout
        self.base = u.path.rstrip("/")
        self.headers = headers
        self.c = None

    def raw(self, method, path, body=None, headers=None):
        hdrs = dict(self.headers)
        hdrs.update(headers or {})
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.c.request(method, self.base + path, body=body, headers=hdrs)
                r = self.c.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.c.close()
                    self.c = None
                return r.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.BadStatusLine):
                # the server closed an idle keep-alive connection: reconnect once
                self.c.close()
                self.c = None
                if attempt:
                    raise

    def req(self, method, path, body=None, expect=(200, 201, 202, 204), headers=None):
        st, data = self.raw(method, path, body, headers)
        if st not in expect:
            raise RuntimeError(f"{method} {self.base}{path}: HTTP {st} {data[:400]!r}")
        if not data:
            return st, None
        try:
            return st, json.loads(data)
        except ValueError:
            return st, data


def gnocchi_conn(url):
    return Conn(url, {"Authorization": GNOCCHI_AUTH})


def aodh_conn(url):
    return Conn(url, AODH_HEADERS)


def iso(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat()


# ------------------------------------------------------- remote-write encoding
# The protobuf helpers of bench/cloudgen.py (the workload generator's encoder);
# a TimeSeries is field 1 of WriteRequest = labels + samples, snappy block format.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cloudgen import encode_labels, encode_sample, field_bytes  # noqa: E402


def write_request(items):
    """items: [(labels_pb, value, ts_ms)] -> snappy-compressed WriteRequest body."""
    import cramjam
    buf = bytearray()
    for labels_pb, value, ts_ms in items:
        buf += field_bytes(0x0A, labels_pb + encode_sample(value, ts_ms))
    return bytes(cramjam.snappy.compress_raw(bytes(buf)))


RW_HEADERS = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
              "X-Prometheus-Remote-Write-Version": "0.1.0", "User-Agent": "altimeter-alarm-latency"}


# ------------------------------------------------------------ webhook receiver

class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.hooks = []  # (arrival time.time(), alarm_id, previous, current)
        self.bad = []
        rec = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                t = time.time()
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                try:
                    j = json.loads(body)
                    item = (t, j.get("alarm_id"), j.get("previous"), j.get("current"))
                    with rec.lock:
                        rec.hooks.append(item)
                except (ValueError, AttributeError):
                    with rec.lock:
                        rec.bad.append((t, body[:200]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_POST

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/hook"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def snapshot(self):
        with self.lock:
            return list(self.hooks)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


# ------------------------------------------------------------------ the series

class GnocchiSeries:
    """N generic resources with one 1 s metric each, fed through Gnocchi v1."""
    kind = "gnocchi"

    def __init__(self, a, run):
        self.url = a.gnocchi
        c = gnocchi_conn(self.url)
        st, data = c.raw("GET", "/v1/status")
        if st == 404:
            sys.exit(f"{a.target}: {self.url} does not serve the Gnocchi v1 API (GET /v1/status -> 404)")
        c.req("POST", "/v1/archive_policy", POLICY, expect=(201, 409))
        self.rids, self.mids = [], []
        for i in range(a.alarms):
            rid = str(uuid.uuid4())
            _, r = c.req("POST", "/v1/resource/generic",
                         {"id": rid, "metrics": {"bench": {"archive_policy_name": POLICY["name"]}}})
            mid = (r or {}).get("metrics", {}).get("bench") if isinstance(r, dict) else None
            if not mid:
                _, m = c.req("GET", f"/v1/resource/generic/{rid}/metric/bench")
                mid = m["id"]
            self.rids.append(rid)
            self.mids.append(mid)

    def rule(self, i):
        return {"type": "gnocchi_resources_threshold",
                "gnocchi_resources_threshold_rule": {
                    "metric": "bench", "resource_id": self.rids[i], "resource_type": "generic",
                    "threshold": THRESHOLD, "comparison_operator": "gt", "aggregation_method": "mean",
                    "granularity": 1, "evaluation_periods": 1}}

    def feed(self, conn, idxs, t):
        ts = iso(t)
        body = {self.mids[i]: [{"timestamp": ts, "value": LOW}] for i in idxs}
        conn.req("POST", "/v1/batch/metrics/measures", body, expect=(202,))

    def trigger(self, conn, i, t):
        conn.req("POST", f"/v1/metric/{self.mids[i]}/measures",
                 [{"timestamp": iso(t), "value": HIGH}], expect=(202,))

    def conn(self):
        return gnocchi_conn(self.url)


class PromSeries:
    """N series bench_value{alarm="i"} fed by Prometheus remote-write."""
    kind = "prometheus"

    def __init__(self, a, run):
        self.url = a.remote_write
        self.labels = [encode_labels(sorted([("__name__", "bench_value"), ("alarm", str(i))]))
                       for i in range(a.alarms)]

    def rule(self, i):
        return {"type": "prometheus",
                "prometheus_rule": {"query": f'bench_value{{alarm="{i}"}}', "threshold": THRESHOLD,
                                    "comparison_operator": "gt"}}

    def feed(self, conn, idxs, t):
        ms = int(t * 1000)
        conn.req("POST", "", write_request([(self.labels[i], LOW, ms) for i in idxs]),
                 expect=(200, 204), headers=RW_HEADERS)

    def trigger(self, conn, i, t):
        conn.req("POST", "", write_request([(self.labels[i], HIGH, int(t * 1000))]),
                 expect=(200, 204), headers=RW_HEADERS)

    def conn(self):
        return Conn(self.url, {})


class Feeder(threading.Thread):
    """Writes LOW to every still-active series once a second (on the second + 50 ms)."""

    def __init__(self, series, n):
        super().__init__(daemon=True)
        self.series, self.lock = series, threading.Lock()
        self.active = set(range(n))
        self.last = {}  # index -> timestamp of its last LOW sample
        self.stop_at = None  # index -> scheduled trigger time; set when triggering starts
        self.stopping = threading.Event()
        self.errors, self.rounds, self.post_s = [], 0, []

    def deactivate(self, i):
        with self.lock:  # a feed in flight holds the lock: it has been acknowledged after this
            self.active.discard(i)
            return self.last.get(i)

    def run(self):
        conn = self.series.conn()
        while not self.stopping.is_set():
            now = time.time()
            time.sleep(math.floor(now) + 1.05 - now)
            with self.lock:
                t = time.time()
                if self.stop_at:
                    for i in [i for i in self.active if self.stop_at.get(i, 1e18) <= t + LOOKAHEAD]:
                        self.active.discard(i)
                idxs = sorted(self.active)
                if not idxs:
                    continue
                try:
                    self.series.feed(conn, idxs, t)
                    for i in idxs:
                        self.last[i] = t
                    self.rounds += 1
                    self.post_s.append(time.time() - t)
                except Exception as e:  # noqa: BLE001 - reported at the end
                    self.errors.append(f"{time.strftime('%H:%M:%S')} {e}")
                    if len(self.errors) > 20:
                        log(f"feeder: too many errors, last: {e}")
                        return


# ---------------------------------------------------------------- measurement

def pct(sorted_vals, q):
    """Nearest-rank percentile; values may include math.inf."""
    if not sorted_vals:
        return None
    k = max(0, math.ceil(q * len(sorted_vals)) - 1)
    return sorted_vals[k]


def list_states(aodh, ids):
    _, alarms = aodh.req("GET", "/v2/alarms")
    if isinstance(alarms, dict):  # tolerate a wrapped list
        alarms = alarms.get("alarms") or alarms.get("data") or []
    st = {x.get("alarm_id"): x.get("state") for x in alarms}
    return {i: st.get(i, "missing") for i in ids}


def evaluator_cycles(path, t0, t1):
    """Periods between 'initiating evaluation cycle' lines of aodh-evaluator in [t0, t1]."""
    pat = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) .*initiating evaluation cycle on (\d+) alarms")
    starts = []
    try:
        for line in open(path, errors="replace"):
            m = pat.match(line)
            if m:
                # oslo.log writes local time
                ts = time.mktime(time.strptime(m.group(1).split(".")[0], "%Y-%m-%d %H:%M:%S"))
                ts += float("0." + m.group(1).split(".")[1])
                if t0 <= ts <= t1:
                    starts.append(ts)
    except OSError:
        return None
    gaps = sorted(b - a for a, b in zip(starts, starts[1:]))
    if not gaps:
        return None
    return {"cycles": len(starts), "period_median_s": round(gaps[len(gaps) // 2], 3),
            "period_max_s": round(gaps[-1], 3)}


def run(a):
    rng = random.Random(a.seed)
    load0 = round(os.getloadavg()[0], 2)
    run_id = uuid.uuid4().hex[:8]
    aodh = aodh_conn(a.aodh)
    st, data = aodh.raw("GET", "/v2/alarms")
    if st == 404:
        raise NoAodhV2(f"{a.target}: {a.aodh} has no Aodh v2 API: GET /v2/alarms -> 404 "
                       f"({data[:200]!r}). The alarms subsystem is not (yet) served by this build.")
    if st != 200:
        raise RuntimeError(f"{a.target}: GET {a.aodh}/v2/alarms -> HTTP {st} {data[:300]!r}")

    recv = Receiver()
    log(f"{a.target}: webhook receiver at {recv.url}; setting up {a.alarms} {a.kind} series")
    series = GnocchiSeries(a, run_id) if a.kind == "gnocchi" else PromSeries(a, run_id)
    feeder = Feeder(series, a.alarms)
    feeder.start()
    time.sleep(1.5)  # at least one feed round before the alarms exist

    ids = []
    t = time.time()
    for i in range(a.alarms):
        body = {"name": f"bench-{run_id}-{i}", "description": "alarm-latency.py",
                "severity": "low", "enabled": True, "repeat_actions": False,
                "alarm_actions": [recv.url]}
        body.update(series.rule(i))
        _, al = aodh.req("POST", "/v2/alarms", body, expect=(200, 201))
        ids.append(al["alarm_id"])
    log(f"{a.target}: created {len(ids)} alarms in {time.time() - t:.1f} s; waiting until all are ok")

    t_ok0 = time.time()
    while True:
        states = list_states(aodh, ids)
        hist = {}
        for s in states.values():
            hist[s] = hist.get(s, 0) + 1
        if hist.get("ok", 0) == len(ids):
            break
        if feeder.errors:
            raise RuntimeError(f"{a.target}: feeder failing: {feeder.errors[-1]}")
        if time.time() - t_ok0 > a.ok_timeout:
            raise RuntimeError(f"{a.target}: not every alarm is ok after {a.ok_timeout} s: {hist}")
        time.sleep(1.0)
    ok_wait = time.time() - t_ok0
    early = [h for h in recv.snapshot() if h[1] in set(ids)]
    log(f"{a.target}: all {len(ids)} ok after {ok_wait:.1f} s; triggering (100-300 ms apart, random order)")

    order = list(range(a.alarms))
    rng.shuffle(order)
    t_start = time.time() + LOOKAHEAD + 0.2
    sched, t = {}, t_start
    for i in order:
        sched[i] = t
        t += rng.uniform(0.1, 0.3)
    with feeder.lock:
        feeder.stop_at = sched
    conn = series.conn()
    acks, waited_bucket = {}, 0
    for i in order:
        d = sched[i] - time.time()
        if d > 0:
            time.sleep(d)
        last = feeder.deactivate(i)
        now = time.time()
        if last is not None and math.floor(now) == math.floor(last):
            # never share a 1 s bucket with the last low value (it would be averaged)
            waited_bucket += 1
            time.sleep(math.floor(now) + 1.01 - now)
        t_sample = time.time()
        series.trigger(conn, i, t_sample)
        acks[i] = (t_sample, time.time())
    t_last_ack = max(v[1] for v in acks.values())
    log(f"{a.target}: {len(acks)} triggers acknowledged in {t_last_ack - t_start:.1f} s; waiting for webhooks "
        f"(timeout {a.timeout:.0f} s after the last ack)")

    id_of = {ids[i]: i for i in range(a.alarms)}
    first = {}
    deadline = t_last_ack + a.timeout
    while time.time() < deadline:
        for (tt, aid, prev, cur) in recv.snapshot():
            if aid in id_of and (cur is None or cur == "alarm") and aid not in first:
                first[aid] = (tt, prev)
        if len(first) == len(ids):
            break
        time.sleep(0.1)
    time.sleep(0.5)  # late duplicates
    feeder.stopping.set()
    hooks = recv.snapshot()
    recv.close()

    lat, prevs, early_hooks = [], {}, 0
    per_alarm = []
    for i in range(a.alarms):
        aid = ids[i]
        t_sample, t_ack = acks[i]
        if aid in first:
            tt, prev = first[aid]
            if tt < t_ack:
                early_hooks += 1
            lat.append(tt - t_ack)
            prevs[prev] = prevs.get(prev, 0) + 1
            per_alarm.append(round(tt - t_ack, 4))
        else:
            lat.append(math.inf)
            per_alarm.append(None)
    s = sorted(lat)
    received = sum(1 for x in lat if x != math.inf)
    dup = sum(1 for h in hooks if h[1] in id_of) - received
    fin = [x for x in lat if x != math.inf]
    res = {
        "target": a.target, "kind": a.kind, "eval_interval_s": a.interval, "settings": a.settings,
        "n": a.alarms, "received": received, "missing": a.alarms - received,
        "p50_s": pct(s, 0.50), "p90_s": pct(s, 0.90), "p99_s": pct(s, 0.99), "max_s": s[-1] if s else None,
        "min_s": min(fin) if fin else None, "mean_s": (sum(fin) / len(fin)) if fin else None,
        "timeout_s": a.timeout, "previous_states": prevs, "webhooks_before_ack": early_hooks,
        "extra_webhooks": dup, "webhooks_before_trigger_phase": len(early),
        "unparsable_webhooks": len(recv.bad),
        "ok_wait_s": round(ok_wait, 2), "trigger_phase_s": round(t_last_ack - t_start, 2),
        "triggers_delayed_to_next_second": waited_bucket,
        "ack_ms_median": round(sorted((v[1] - v[0]) for v in acks.values())[len(acks) // 2] * 1000, 2),
        "feeder_rounds": feeder.rounds, "feeder_errors": feeder.errors[:5],
        "feeder_post_ms_median": round(sorted(feeder.post_s)[len(feeder.post_s) // 2] * 1000, 1)
        if feeder.post_s else None,
        "latencies_s": per_alarm, "seed": a.seed, "loadavg_1m_end": round(os.getloadavg()[0], 2),
        "loadavg_1m_start": load0,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if a.evaluator_log:
        res["evaluator_cycles"] = evaluator_cycles(a.evaluator_log, t_start, t_last_ack + 1)
    for k in ("p50_s", "p90_s", "p99_s", "max_s", "min_s", "mean_s"):
        if res[k] is not None and res[k] != math.inf:
            res[k] = round(res[k], 4)
        elif res[k] == math.inf:
            res[k] = None  # JSON has no infinity; "missing" tells
    if a.cleanup:
        for aid in ids:
            aodh.raw("DELETE", f"/v2/alarms/{aid}")
    return res


def fmt(r, k):
    v = r.get(k)
    if v is None:
        return f"> {r['timeout_s']:.0f} (timeout)" if r.get("missing") else "–"
    return f"{v:.2f}"


def cmd_run(a):
    try:
        r = run(a)
    except NoAodhV2 as e:
        print(f"ERROR: {e}", file=sys.stderr)
        sys.exit(3)
    line = json.dumps(r)
    if a.out:
        with open(a.out, "a") as f:
            f.write(line + "\n")
    log(f"{a.target}: n={r['n']} received={r['received']} p50={fmt(r, 'p50_s')} s "
        f"p99={fmt(r, 'p99_s')} s max={fmt(r, 'max_s')} s")
    if r["received"] == 0:
        sys.exit(1)


TYPES = {"gnocchi": "gnocchi_resources_threshold", "prometheus": "prometheus"}


def cmd_table(a):
    rows = [json.loads(x) for x in open(a.file) if x.strip().startswith("{")]
    aodh = [r for r in rows if r["target"].startswith("aodh")]
    head = ["target", "alarm type", "eval interval", "n", "received", "p50 s", "p99 s", "max s"]
    for r in aodh:
        head.append(f"p99 ÷ {r['target']} p99 ({r['eval_interval_s']:g} s)")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        cells = [r["target"], TYPES.get(r["kind"], r["kind"]), f"{r['eval_interval_s']:g} s", str(r["n"]), str(r["received"]),
                 fmt(r, "p50_s"), f"**{fmt(r, 'p99_s')}**", fmt(r, "max_s")]
        for ref in aodh:
            if r["p99_s"] is None or ref["p99_s"] is None:
                cells.append("–")
            else:
                cells.append(f"{r['p99_s'] / ref['p99_s']:.2f}")
        print("| " + " | ".join(cells) + " |")
    print()
    for r in rows:
        extra = []
        if r.get("evaluator_cycles"):
            c = r["evaluator_cycles"]
            extra.append(f"aodh-evaluator cycle period during triggering: median {c['period_median_s']:.1f} s, "
                         f"max {c['period_max_s']:.1f} s")
        if r.get("previous_states"):
            extra.append("previous state in webhooks: " + ", ".join(f"{k}: {v}" for k, v in r["previous_states"].items()))
        if r.get("extra_webhooks"):
            extra.append(f"{r['extra_webhooks']} extra webhooks")
        if r.get("webhooks_before_ack"):
            extra.append(f"**{r['webhooks_before_ack']} webhooks arrived before their trigger was acknowledged**")
        if r.get("feeder_errors"):
            extra.append(f"feeder errors: {r['feeder_errors'][:2]}")
        print(f"- {r['target']} ({r['kind']}): {r['settings']}; mean {fmt(r, 'mean_s')} s, min {fmt(r, 'min_s')} s, "
              f"p90 {fmt(r, 'p90_s')} s; trigger ack median {r['ack_ms_median']} ms; "
              f"load average (1 min) {r.get('loadavg_1m_start', '?')} → {r.get('loadavg_1m_end', '?')}"
              + ("; " + "; ".join(extra) if extra else ""))
    alt = [r for r in rows if not r["target"].startswith("aodh")]
    if alt:
        print()
        for r in alt:
            p99 = r["p99_s"]
            verdict = "met" if p99 is not None and p99 <= 1.5 else "NOT met"
            print(f"Target Altimeter p99 ≤ 1.5 s at a 1 s evaluation interval: {r['target']} ({r['kind']}) "
                  f"p99 {fmt(r, 'p99_s')} s — {verdict}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--target", required=True, help="label, e.g. aodh+gnocchi or altimeter")
    r.add_argument("--kind", choices=("gnocchi", "prometheus"), required=True)
    r.add_argument("--aodh", required=True, help="base URL of the Aodh v2 API (…/v2 is appended)")
    r.add_argument("--gnocchi", help="base URL of the Gnocchi v1 API (…/v1 is appended); --kind gnocchi")
    r.add_argument("--remote-write", help="Prometheus remote-write URL; --kind prometheus")
    r.add_argument("--interval", type=float, required=True, help="the target's evaluation interval, s (label)")
    r.add_argument("--settings", default="", help="free text recorded with the result")
    r.add_argument("--alarms", type=int, default=100)
    r.add_argument("--timeout", type=float, default=60, help="s after the last ack before a webhook is missing")
    r.add_argument("--ok-timeout", type=float, default=300, help="s to wait for every alarm to be ok")
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--evaluator-log", help="aodh-evaluator log: report its actual cycle period")
    r.add_argument("--cleanup", action="store_true", help="delete the alarms at the end")
    r.add_argument("--out")
    t = sub.add_parser("table")
    t.add_argument("file")
    a = ap.parse_args()
    if a.cmd == "run":
        if a.kind == "gnocchi" and not a.gnocchi:
            ap.error("--kind gnocchi needs --gnocchi")
        if a.kind == "prometheus" and not a.remote_write:
            ap.error("--kind prometheus needs --remote-write")
        cmd_run(a)
    else:
        cmd_table(a)


if __name__ == "__main__":
    main()
