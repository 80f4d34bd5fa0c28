#!/usr/bin/env python3
"""Gnocchi v1 compatibility check: runs the same sequence of REAL client commands
(`gnocchi ...` and `openstack metric ...` from the venv that tests/peers/gnocchi.sh
installs) against a reference Gnocchi and a target (Altimeter), and compares what the
clients print.

    compare.py --reference http://127.0.0.1:18041 --target http://127.0.0.1:PORT
               [--venv DIR] [--only SUBSTRING ...] [--timeout 90] [--jobs 4]
               [--check-reset-deviation] [--lab-only] [--no-lab] [--stop-on-setup-failure]

Every check prints `ok NAME` or `DIFF NAME` followed by a unified diff of the two
normalized JSON outputs (reference first). The exit code is 1 if any check differs
or any setup command failed, 0 otherwise.

Auth: gnocchi-basic, user `admin`, empty password (Gnocchi's auth_mode=basic).

Sections (check names start with these; `--only` matches substrings of check names,
setup commands that later checks depend on always run):
  archive-policy*, archive-policy-rule*, resource-type*, resource*, metric*, measures*,
  aggregates*, capabilities, status, error-*, lab-* (TARGET only), reset-deviation.

Normalization (only what legitimately differs between two servers):
  * every name this run creates carries a run token (`_<token>`); the token is replaced
    by `TOKEN`. If reference and target are the same URL, each side gets its own token.
  * metric ids (generated server-side) become `<metric:LOGICAL-NAME>`; resource ids that
    this script chose become `<resource:LOGICAL-NAME>` (the uuid5 ids of non-UUID
    resource ids are checked separately: they must equal uuid5(NS, id + "\\0" + creator)
    on both sides, and be equal across sides when the sides are distinct servers);
  * `revision_start`, `revision_end` (and `started_at` when the server chose it, i.e.
    within 15 min of the run) become `<server-time>`;
  * `aggregation_methods` lists are sorted (Gnocchi returns a Python set: its order
    depends on the process's hash seed);
  * request ids (`req-…`) in error text become `req-<id>`.
Measure values are compared exactly (floats after JSON parsing), no tolerance.

Measures design: every metric whose aggregates are compared receives ALL its points in
ONE request. Gnocchi's metricd recomputes buckets from the first new point of each
processing batch, and the rate:* of the first point of a batch is computed without its
predecessor, so data split over several requests can give results that depend on
metricd's timing (metric_processing_delay). The one multi-request metric (`late`) is
only compared on non-rate aggregates and keeps all its requests inside one hour
(Gnocchi drops points older than the last point's coarsest bucket minus back_window).
Timestamps are whole seconds in the last few hours (base = the hour 3 h ago), because
Altimeter refuses points older than its out-of-order window or more than 1 h ahead.
No counter reset is in the compared data: Altimeter's rate:* is deliberately reset-aware
(documented deviation); `--check-reset-deviation` checks that deviation explicitly.
"""
import argparse
import concurrent.futures as cf
import datetime as dt
import difflib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
RESOURCE_ID_NAMESPACE = uuid.UUID("0a7a15ff-aa13-4ac2-897c-9bdf30ce175b")
CREATOR = "admin"
AGGS = ["mean", "sum", "last", "max", "min", "std", "median", "first", "count",
        "5pct", "50pct", "95pct",
        "rate:mean", "rate:sum", "rate:max", "rate:min", "rate:last", "rate:first",
        "rate:count", "rate:std", "rate:median", "rate:95pct"]
GRANS = [60, 300, 3600]
SERVER_TIME_KEYS = {"revision_start", "revision_end"}
RUN_T0 = time.time()


def iso(ts):
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat()


class SetupError(Exception):
    pass


class Result:
    def __init__(self, cmd, rc, out, err, elapsed):
        self.cmd, self.rc, self.out, self.err, self.elapsed = cmd, rc, out, err, elapsed

    def json(self):
        try:
            return json.loads(self.out) if self.out.strip() else None
        except ValueError:
            return {"<not json>": self.out}

    def describe(self):
        return (f"$ {' '.join(_q(c) for c in self.cmd)}\n  exit {self.rc} after "
                f"{self.elapsed:.1f}s\n  stdout: {self.out[:2000]!r}\n  stderr: {self.err[:2000]!r}")


def _q(s):
    return s if re.fullmatch(r"[\w@%+=:,./-]+", s) else "'" + s.replace("'", "'\\''") + "'"


class Side:
    """One server, with its own names and the replacements that normalize its output."""

    def __init__(self, label, url, token, venv, timeout):
        self.label, self.url, self.token, self.venv, self.timeout = label, url, token, venv, timeout
        self.repl = {}          # literal string in output -> placeholder
        self.ids = {}           # logical name -> id (resources and metrics)
        self.resource_ids = set()
        self.metric_ids = set()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("OS_", "GNOCCHI_"))}
        self.env.update(PYTHONWARNINGS="ignore", TZ="UTC", LC_ALL="C.UTF-8")

    def n(self, logical):
        """A per-run name."""
        return f"{logical}_{self.token}"

    def rid(self, logical):
        """A resource id chosen by this script (a UUID), registered for normalization."""
        r = str(uuid.uuid5(RESOURCE_ID_NAMESPACE, "altimeter-compare/" + self.n(logical)))
        self.repl[r] = f"<resource:{logical}>"
        self.ids[logical] = r
        self.resource_ids.add(r)
        return r

    def orig(self, logical):
        """A non-UUID resource id; its uuid5 is registered for normalization."""
        self.repl[self.uuid5_of(self.n(logical))] = f"<resource:{logical}>"
        return self.n(logical)

    def uuid5_of(self, original):
        return str(uuid.uuid5(RESOURCE_ID_NAMESPACE, original + "\x00" + CREATOR))

    def add_metric(self, logical, mid):
        self.repl[mid] = f"<metric:{logical}>"
        self.ids[logical] = mid
        self.metric_ids.add(mid)

    def run(self, argv, input=None, timeout=None):
        t0 = time.time()
        try:
            p = subprocess.run(argv, input=input, capture_output=True, text=True,
                               timeout=timeout or self.timeout, env=self.env)
            return Result(argv, p.returncode, p.stdout, p.stderr, time.time() - t0)
        except subprocess.TimeoutExpired as e:
            return Result(argv, -1, (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or ""),
                          f"TIMEOUT after {timeout or self.timeout}s", time.time() - t0)

    def g(self, *args, fmt=True, **kw):
        argv = [os.path.join(self.venv, "bin", "gnocchi"), "--endpoint", self.url,
                "--os-auth-type", "gnocchi-basic", "--user", CREATOR, *args]
        if fmt:
            argv += ["-f", "json"]
        return self.run(argv, **kw)

    def os(self, *args, fmt=True, **kw):
        argv = [os.path.join(self.venv, "bin", "openstack"), "--os-auth-type", "gnocchi-basic",
                "--os-user", CREATOR, "--os-endpoint", self.url, *args]
        if fmt:
            argv += ["-f", "json"]
        return self.run(argv, **kw)

    # -- normalization --
    def sub(self, s):
        if self.token in s:
            s = s.replace(self.token, "TOKEN")
        for actual, ph in self._repl_sorted():
            if actual in s:
                s = s.replace(actual, ph)
        return re.sub(r"req-[0-9a-f-]{36}", "req-<id>", s)

    def _repl_sorted(self):
        return sorted(self.repl.items(), key=lambda kv: -len(kv[0]))

    def norm(self, obj, key=None):
        if isinstance(obj, dict):
            return {self.sub(k) if isinstance(k, str) else k: self.norm(v, k) for k, v in obj.items()}
        if isinstance(obj, list):
            out = [self.norm(v, key) for v in obj]
            if key == "aggregation_methods":
                out.sort()
            return out
        if isinstance(obj, str):
            last = key.rsplit("/", 1)[-1] if isinstance(key, str) else key
            if last in SERVER_TIME_KEYS:
                return "<server-time>"
            if last == "started_at" and _recent(obj):
                return "<server-time>"
            return self.sub(obj)
        return obj


def _safe(fn, side):
    """fn(side), or a failed Result when building the command failed (e.g. an id that an
    earlier, failed step should have produced)."""
    try:
        return fn(side)
    except Exception as e:  # noqa: BLE001 - reported as a failed command
        return Result(["<not run>"], -2, "", f"prerequisite missing on {side.label}: {e!r}", 0.0)


def _recent(s):
    try:
        t = dt.datetime.fromisoformat(s)
    except ValueError:
        return False
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return abs(t.timestamp() - time.time()) < 900 or abs(t.timestamp() - RUN_T0) < 900


class Compare:
    def __init__(self, a):
        self.a = a
        same = a.reference.rstrip("/") == a.target.rstrip("/") or a.per_side_names
        tok = a.token or uuid.uuid4().hex[:6]
        self.same_instance = same
        self.ref = Side("reference", a.reference.rstrip("/"), tok + ("r" if same else ""), a.venv, a.timeout)
        self.tgt = Side("target", a.target.rstrip("/"), tok + ("t" if same else ""), a.venv, a.timeout)
        self.sides = (self.ref, self.tgt)
        self.pool = cf.ThreadPoolExecutor(max_workers=max(2, a.jobs))
        self.n_ok = 0
        self.diffs = []
        self.errors = []
        self.tmp = tempfile.mkdtemp(prefix="gnocchi-compare-")

    # -- helpers --
    def wanted(self, name):
        return not self.a.only or any(o in name for o in self.a.only)

    def both(self, fn):
        """fn(side) on both sides concurrently; returns (ref_result, tgt_result)."""
        fr, ft = self.pool.submit(_safe, fn, self.ref), self.pool.submit(_safe, fn, self.tgt)
        return fr.result(), ft.result()

    def setup(self, name, fn, ok_rc=(0,), accept=None):
        """A command the later checks need: it must succeed on both sides."""
        r, t = self.both(fn)
        for side, res in ((self.ref, r), (self.tgt, t)):
            if res.rc in ok_rc:
                continue
            if accept and accept(res):
                continue
            msg = f"setup {name} failed on {side.label} ({side.url}):\n{res.describe()}"
            self.errors.append(msg)
            print(f"FAIL {name} ({side.label})\n{res.describe()}", flush=True)
            raise SetupError(msg)
        return r, t

    def check(self, name, fn, mode="json", post=None, always=False):
        """Runs fn(side) on both sides and compares. mode: json (rc + normalized stdout
        JSON), error (rc + normalized stderr), rc (exit code only). A check that changes
        state later checks depend on is `always` run, and reported only if wanted."""
        if not self.wanted(name) and not always:
            return None
        r, t = self.both(fn)
        if not self.wanted(name):
            return None
        return self.compare(name, r, t, mode, post)

    def compare(self, name, r, t, mode="json", post=None):
        if not self.wanted(name):
            return None
        vals = []
        for side, res in ((self.ref, r), (self.tgt, t)):
            if mode == "error":
                v = {"exit": res.rc, "stderr": side.sub(res.err.strip())}
            elif mode == "rc":
                v = {"exit": res.rc}
            else:
                if res.rc != 0:
                    v = {"exit": res.rc, "stderr": side.sub(res.err.strip())}
                else:
                    v = side.norm(res.json())
                    if post:
                        v = post(side, v)
            vals.append(v)
        self.report(name, vals[0], vals[1], (r, t))
        return vals

    def report(self, name, rv, tv, results=None):
        if rv == tv:
            self.n_ok += 1
            print(f"ok {name}", flush=True)
            return True
        a = json.dumps(rv, indent=1, sort_keys=True, default=str).splitlines()
        b = json.dumps(tv, indent=1, sort_keys=True, default=str).splitlines()
        diff = "\n".join(difflib.unified_diff(a, b, "reference", "target", lineterm="", n=2))
        if len(diff) > 12000:
            diff = diff[:12000] + f"\n... ({len(diff)} characters of diff)"
        text = f"DIFF {name}\n{diff}"
        if results:
            text += "\n" + "\n".join(f"  [{lbl}] {res.describe()}" for lbl, res in zip(("reference", "target"), results))
        self.diffs.append(name)
        print(text, flush=True)
        return False

    def verdict(self, name, ok, detail=""):
        if not self.wanted(name):
            return
        if ok:
            self.n_ok += 1
            print(f"ok {name}", flush=True)
        else:
            self.diffs.append(name)
            print(f"DIFF {name}\n{detail}", flush=True)

    def batch_file(self, side, name, body):
        path = os.path.join(self.tmp, f"{side.label}-{name}.json")
        with open(path, "w") as f:
            json.dump(body, f)
        return path

    # -- 1. archive policies --
    def archive_policies(self):
        defs = ["granularity:1m,timespan:1d", "granularity:5min,points:2016", "granularity:1h,timespan:30d"]
        aggs = sum((["-m", m] for m in AGGS), [])
        self.setup("archive-policy-create", lambda s: s.g("archive-policy", "create", s.n("ap_all"),
                   *sum((["-d", d] for d in defs), []), "-b", "0", *aggs, fmt=False))
        self.check("archive-policy-show-all", lambda s: s.g("archive-policy", "show", s.n("ap_all")))
        # default methods, points-only definition, back window
        r, t = self.both(lambda s: s.g("archive-policy", "create", s.n("ap_small"), "-d", "granularity:1m,points:120",
                                       "-b", "2"))
        self.compare("archive-policy-create-default-methods", r, t)
        r, t = self.both(lambda s: s.g("archive-policy", "create", s.n("ap_star"), "-d", "granularity:1s,timespan:1h",
                                       "-d", "points:24,timespan:1d", "-m", "*"))
        self.compare("archive-policy-create-star", r, t)
        r, t = self.both(lambda s: s.g("archive-policy", "create", s.n("ap_mod"), "-d", "granularity:10s,timespan:1h",
                                       "--aggregation-method=-std", "--aggregation-method=+median",
                                       "--aggregation-method=+rate:last"))
        self.compare("archive-policy-create-plus-minus", r, t)
        self.check("archive-policy-show-star", lambda s: s.g("archive-policy", "show", s.n("ap_star")))
        self.check("archive-policy-show-builtin-high", lambda s: s.g("archive-policy", "show", "high"))
        self.check("archive-policy-list", lambda s: s.g("archive-policy", "list"),
                   post=lambda side, v: sorted((p for p in v if p.get("name", "").endswith("TOKEN")
                                                or p.get("name") in ("low", "medium", "high", "bool")),
                                               key=lambda p: p["name"]))
        self.check("archive-policy-update", lambda s: s.g("archive-policy", "update", s.n("ap_small"),
                                                          "-d", "granularity:1m,points:240"), always=True)
        self.check("archive-policy-show-openstack", lambda s: s.os("metric", "archive-policy", "show", s.n("ap_small")))
        # rules
        self.setup("archive-policy-rule-create", lambda s: s.g("archive-policy-rule", "create", s.n("rule"),
                   "-a", s.n("ap_small"), "-m", f"ruled_{s.token}.*", fmt=False))
        self.check("archive-policy-rule-show", lambda s: s.g("archive-policy-rule", "show", s.n("rule")))
        self.check("archive-policy-rule-list", lambda s: s.g("archive-policy-rule", "list"),
                   post=lambda side, v: sorted((x for x in v if "TOKEN" in x.get("name", "")), key=lambda x: x["name"]))
        r, t = self.both(lambda s: s.g("metric", "create", f"ruled_{s.token}.cpu"))
        for s, res in ((self.ref, r), (self.tgt, t)):
            if res.rc == 0:
                s.add_metric("ruled", res.json()["id"])
        self.compare("archive-policy-rule-applies-to-metric", r, t)
        self.check("archive-policy-rule-update", lambda s: s.g("archive-policy-rule", "update", s.n("rule"),
                                                               "--name", s.n("rule2")), always=True)
        self.check("archive-policy-delete-in-use", lambda s: s.g("archive-policy", "delete", s.n("ap_small"), fmt=False),
                   mode="error")
        self.check("archive-policy-rule-delete", lambda s: s.g("archive-policy-rule", "delete", s.n("rule2"), fmt=False),
                   mode="error", always=True)
        self.check("archive-policy-rule-show-deleted",
                   lambda s: s.g("archive-policy-rule", "show", s.n("rule2"), fmt=False), mode="error")
        self.check("archive-policy-delete", lambda s: s.g("archive-policy", "delete", s.n("ap_mod"), fmt=False),
                   mode="error")
        self.check("archive-policy-show-deleted", lambda s: s.g("archive-policy", "show", s.n("ap_mod"), fmt=False),
                   mode="error")
        self.check("archive-policy-create-duplicate",
                   lambda s: s.g("archive-policy", "create", s.n("ap_all"), "-d", "granularity:1m,points:10", fmt=False),
                   mode="error")
        self.check("archive-policy-create-bad-method",
                   lambda s: s.g("archive-policy", "create", s.n("ap_bad"), "-d", "granularity:1m,points:10",
                                 "-m", "nope", fmt=False), mode="error")

    # -- 0. Ceilometer's resource types --
    def ceilometer_types(self):
        # Ceilometer's types: the reference Gnocchi has none (ceilometer-upgrade creates them),
        # Altimeter has them built in. Create them with Altimeter's attributes; 409 is fine.
        dup = (lambda res: res.rc != 0 and ("already exists" in res.err or "409" in res.err))
        s255 = "max_length=255"
        inst = [f"flavor_id:string:true:{s255}", f"image_ref:string:false:{s255}", f"host:string:false:{s255}",
                f"display_name:string:true:{s255}", f"server_group:string:false:{s255}",
                f"flavor_name:string:true:{s255}", "launched_at:datetime:false", "created_at:datetime:false",
                "deleted_at:datetime:false", f"availability_zone:string:false:{s255}"]
        disk = [f"name:string:true:{s255}", "instance_id:uuid:true"]
        for name, attrs in (("instance", inst), ("instance_disk", disk)):
            # each side on its own: a failure on one must not keep the other from its types
            for side, res in zip(self.sides, self.both(lambda s: s.g(
                    "resource-type", "create", name, *sum((["-a", x] for x in attrs), []), fmt=False))):
                if res.rc != 0 and not dup(res):
                    msg = f"setup resource-type-{name} failed on {side.label}:\n{res.describe()}"
                    self.errors.append(msg)
                    print(f"FAIL {msg}", flush=True)

    # -- 2. resource types --
    def resource_types(self):
        attrs = ["s:string:true:min_length=2:max_length=32", "s_opt:string:false", "u:uuid:false",
                 "n:number:true:min=0:max=100", "n_opt:number:false", "b:bool:false", "d:datetime:false",
                 "u_req:uuid:false"]
        r, t = self.setup("resource-type-create", lambda s: s.g("resource-type", "create", s.n("rt"),
                          *sum((["-a", x] for x in attrs), [])))
        self.compare("resource-type-create", r, t)
        self.check("resource-type-show", lambda s: s.g("resource-type", "show", s.n("rt")))
        self.check("resource-type-list", lambda s: s.g("resource-type", "list"),
                   post=lambda side, v: sorted((x for x in v if x.get("name") in (
                       "generic", "instance", "instance_disk", "TOKEN") or "TOKEN" in x.get("name", "")),
                       key=lambda x: x["name"]))
        self.check("resource-type-update", lambda s: s.g("resource-type", "update", s.n("rt"),
                   "-a", "extra:string:false:max_length=16", "-a", "req2:number:true:fill=5", "-r", "s_opt"), always=True)
        self.check("resource-type-show-after-update", lambda s: s.g("resource-type", "show", s.n("rt")))
        self.check("resource-type-create-reserved-attr", lambda s: s.g("resource-type", "create", s.n("rt_bad"),
                   "-a", "id:string:false", fmt=False), mode="error")
        self.check("resource-type-create-duplicate", lambda s: s.g("resource-type", "create", s.n("rt"),
                   "-a", "x:string:false", fmt=False), mode="error")
        self.check("resource-type-update-required-without-fill", lambda s: s.g("resource-type", "update", s.n("rt"),
                   "-a", "req3:string:true", fmt=False), mode="error")
        self.setup("resource-type-create-empty", lambda s: s.g("resource-type", "create", s.n("rt_empty"), fmt=False))
        self.check("resource-type-delete", lambda s: s.g("resource-type", "delete", s.n("rt_empty"), fmt=False),
                   mode="error")
        self.check("resource-type-show-deleted", lambda s: s.g("resource-type", "show", s.n("rt_empty"), fmt=False),
                   mode="error")
        self.check("resource-type-show-instance", lambda s: s.g("resource-type", "show", "instance"))
        self.check("resource-type-show-instance_disk", lambda s: s.g("resource-type", "show", "instance_disk"))
        self.check("resource-type-show-generic", lambda s: s.g("resource-type", "show", "generic"))

    # -- 3. resources --
    def resources(self):
        for s in self.sides:
            s.project = s.rid("project")
            s.user = s.rid("user")
            s.project2 = s.rid("project2")
        started = iso(self.base - 3600)
        # instances (the ceilometer type), with metrics created alongside
        for logical, disp, flavor, proj in (("vm1", "vm-one", "2", "project"), ("vm2", "vm-two", "3", "project"),
                                            ("vm3", "web-three", "3", "project2")):
            r, t = self.setup(f"resource-create-{logical}", lambda s: s.g(
                "resource", "create", "--type", "instance", s.rid(logical),
                "-a", f"flavor_id:{flavor}", "-a", f"display_name:{disp}", "-a", "flavor_name:m1.small",
                "-a", "host:compute-1", "-a", f"project_id:{s.ids[proj]}", "-a", f"user_id:{s.user}",
                "-a", f"started_at:{started}", "-a", "launched_at:2026-01-02T03:04:05+00:00",
                "-n", f"cpu:{s.n('ap_all')}", "-n", f"memory.usage:{s.n('ap_all')}"))
            for s, res in ((self.ref, r), (self.tgt, t)):
                for name, mid in res.json()["metrics"].items():
                    s.add_metric(f"{logical}/{name}", mid)
            self.compare(f"resource-create-instance-{logical}", r, t)
        self.check("resource-create-instance-missing-required", lambda s: s.g(
            "resource", "create", "--type", "instance", s.rid("vm_bad"), "-a", "flavor_id:1", "-a", "display_name:x",
            fmt=False), mode="error")   # one missing key: which one voluptuous names first is arbitrary
        # generic resources with non-UUID ids (uuid5 rule)
        for logical in ("host_a", "host_b"):
            r, t = self.setup(f"resource-create-{logical}", lambda s: s.g(
                "resource", "create", s.n(logical), "-a", f"project_id:{s.project}", "-a", f"user_id:{s.user}",
                "-n", f"load:{s.n('ap_all')}"))
            ok = True
            detail = []
            for s, res in ((self.ref, r), (self.tgt, t)):
                j = res.json()
                want = s.uuid5_of(s.n(logical))
                if j.get("id") != want:
                    ok = False
                    detail.append(f"{s.label}: id {j.get('id')} != uuid5(NS, {s.n(logical)!r} + '\\0' + "
                                  f"{CREATOR!r}) = {want}")
                s.repl[j["id"]] = f"<resource:{logical}>"
                s.ids[logical] = j["id"]
                s.resource_ids.add(j["id"])
                for name, mid in j["metrics"].items():
                    s.add_metric(f"{logical}/{name}", mid)
            if not self.same_instance and r.json().get("id") != t.json().get("id"):
                ok = False
                detail.append(f"ids differ: {r.json().get('id')} vs {t.json().get('id')}")
            self.verdict(f"resource-uuid5-id-{logical}", ok, "\n".join(detail))
            self.compare(f"resource-create-generic-{logical}", r, t)
        # a resource of the custom type
        r, t = self.setup("resource-create-custom", lambda s: s.g(
            "resource", "create", "--type", s.n("rt"), s.rid("custom1"), "-a", "s:hello", "-a", "n:42.5", "-a", "req2:7",
            "-a", "b:true", "-a", f"u:{s.user}", "-a", "d:2026-03-04T05:06:07", "-a", f"started_at:{started}"))
        self.compare("resource-create-custom-type", r, t)
        self.check("resource-create-custom-out-of-range", lambda s: s.g(
            "resource", "create", "--type", s.n("rt"), s.rid("custom_bad"), "-a", "s:hello", "-a", "n:420", "-a", "req2:1",
            fmt=False), mode="error")
        self.check("resource-create-custom-bad-uuid", lambda s: s.g(
            "resource", "create", "--type", s.n("rt"), s.rid("custom_bad2"), "-a", "s:hello", "-a", "n:4", "-a", "req2:1",
            "-a", "u:not-a-uuid", fmt=False), mode="error")
        self.check("resource-show-instance", lambda s: s.g("resource", "show", "--type", "instance", s.ids["vm1"]))
        self.check("resource-show-generic", lambda s: s.g("resource", "show", s.ids["vm1"]))
        self.check("resource-show-by-original-id", lambda s: s.g("resource", "show", s.n("host_a")))
        self.check("resource-show-custom", lambda s: s.g("resource", "show", "--type", s.n("rt"), s.ids["custom1"]))
        # updates → history
        self.check("resource-update-attributes", lambda s: s.g(
            "resource", "update", "--type", "instance", s.ids["vm1"], "-a", "display_name:vm-one-renamed",
            "-a", "flavor_id:4"), always=True)
        self.learn_and_compare("resource-update-metrics", "vm1", lambda s: s.g(
            "resource", "update", "--type", "instance", s.ids["vm1"], "-n", f"disk.read:{s.n('ap_all')}",
            "-d", "memory.usage"))
        self.check("resource-update-ended-before-started", lambda s: s.g(
            "resource", "update", s.ids["host_b"], "-a", f"ended_at:{iso(self.base + 7200)}", fmt=False),
            mode="error")
        self.ended = iso(int(time.time()) + 3600)
        self.check("resource-update-ended-at", lambda s: s.g(
            "resource", "update", s.ids["host_b"], "-a", f"ended_at:{self.ended}"), always=True)
        self.check("resource-history", lambda s: s.g("resource", "history", "--type", "instance", s.ids["vm1"]))
        self.check("resource-history-details", lambda s: s.g("resource", "history", "--details", s.ids["vm1"]))
        mine = self._mine
        self.check("resource-list-instance", lambda s: s.g("resource", "list", "--type", "instance"), post=mine)
        # (`resource list --details` over resources of several types crashes the gnocchi client
        # itself with a KeyError on an attribute name, whatever the server)
        self.check("resource-list-instance-details", lambda s: s.g("resource", "list", "--type", "instance",
                                                                    "--details"), post=mine)
        self.check("resource-list-generic", lambda s: s.g("resource", "list"), post=mine)
        self.check("resource-list-history", lambda s: s.g("resource", "list", "--type", "instance", "--history"),
                   post=mine)
        self.check("resource-list-openstack", lambda s: s.os("metric", "resource", "list", "--type", "instance"),
                   post=mine)
        self.check("resource-search-project", lambda s: s.g("resource", "search", f"project_id={s.project}"),
                   post=self._sorted)
        self.check("resource-search-and-like", lambda s: s.g(
            "resource", "search", "--type", "instance",
            f"project_id in [{s.project}, {s.project2}] and flavor_id='3' and display_name like '%t%'"),
            post=self._sorted)
        self.check("resource-search-not-or", lambda s: s.g(
            "resource", "search", "--type", "instance",
            f"(project_id={s.project} or project_id={s.project2}) and not (display_name='vm-two')"),
            post=self._sorted)
        self.check("resource-search-sorted", lambda s: s.g(
            "resource", "search", "--type", "instance", "--sort", "display_name:desc",
            f"user_id={s.user}"))
        self.check("resource-search-limit", lambda s: s.g(
            "resource", "search", "--type", "instance", "--sort", "display_name:asc", "--limit", "2",
            f"user_id={s.user}"))
        self.check("resource-search-custom-number", lambda s: s.g(
            "resource", "search", "--type", s.n("rt"), "n>=40 and n<50 and b=true"))
        self.check("resource-search-started-at", lambda s: s.g(
            "resource", "search", "--type", "instance",
            f"user_id={s.user} and started_at<'{iso(self.base)}' and ended_at=null"), post=self._sorted)
        self.check("resource-search-openstack", lambda s: s.os(
            "metric", "resource", "search", "--type", "instance", f"project_id={s.project2}"))
        self.check("resource-create-duplicate", lambda s: s.g(
            "resource", "create", "--type", "instance", s.ids["vm1"], "-a", "flavor_id:2", "-a", "display_name:x",
            "-a", "flavor_name:y", fmt=False), mode="error")
        self.check("resource-create-duplicate-original-id", lambda s: s.g(
            "resource", "create", s.n("host_a"), fmt=False), mode="error")
        self.check("resource-show-unknown", lambda s: s.g(
            "resource", "show", "7e7f5a4c-0000-4000-8000-000000000000", fmt=False), mode="error")
        # delete: a throwaway resource
        self.setup("resource-create-throwaway", lambda s: s.g("resource", "create", s.orig("tmp_res"), fmt=False))
        self.check("resource-delete", lambda s: s.g("resource", "delete", s.n("tmp_res"), fmt=False), mode="error")
        self.check("resource-show-deleted", lambda s: s.g("resource", "show", s.n("tmp_res"), fmt=False),
                   mode="error")

    def learn_and_compare(self, name, logical, fn):
        """Runs fn on both sides, registers the metric ids of resource `logical` from the raw
        output (they are generated server-side), then compares."""
        r, t = self.both(fn)
        for s, res in ((self.ref, r), (self.tgt, t)):
            if res.rc == 0:
                for mname, mid in (res.json() or {}).get("metrics", {}).items():
                    if mid not in s.repl:
                        s.add_metric(f"{logical}/{mname}", mid)
        if self.wanted(name):
            self.compare(name, r, t)

    def _mine(self, side, v):
        """Keeps the rows of resources this side created (the list holds others too)."""
        keep = [x for x in v if isinstance(x, dict) and str(x.get("id", "")).startswith("<resource:")]
        return sorted(keep, key=lambda x: json.dumps(x, sort_keys=True))

    def _sorted(self, side, v):
        return sorted(v, key=lambda x: json.dumps(x, sort_keys=True)) if isinstance(v, list) else v

    # -- 4. metrics and measures --
    def make_data(self):
        rng = random.Random(20261122)
        base = self.base
        gauge = []
        for minute in range(150):                      # 2.5 h of noisy gauge data
            k = rng.choice([0, 1, 1, 2, 3, 5])         # empty buckets, one-point buckets (std), several
            for sec in sorted(rng.sample(range(60), k)):
                v = round(rng.gauss(50, 20), 6)
                if rng.random() < 0.05:
                    v = float(rng.randint(-5, 5))       # a few integers, negatives, zero
                gauge.append((base + minute * 60 + sec, v))
        counter = []
        v = 1_000_000.0
        t = base + 7
        while t < base + 9000:
            v += rng.choice([0, 0, rng.randint(1, 500), rng.randint(1, 5000)]) + rng.random()
            counter.append((t, round(v, 3)))
            t += rng.randint(10, 45)
        cpu = {}
        for logical, speed in (("vm1", 2.5e9), ("vm2", 7e8)):
            v = 1.234e12
            pts = []
            for i in range(300):                        # every 30 s, cumulative ns
                v += speed * 30 * rng.uniform(0.2, 1.0)
                pts.append((base + 15 + i * 30, float(int(v))))
            cpu[logical] = pts
        disk = [(base + 5 + i * 60, round(1e6 + rng.uniform(-1e4, 1e4), 2)) for i in range(140)]
        # `late`: several requests, all inside the last hour bucket; the second goes back in time
        h = base + 2 * 3600
        late1 = [(h + 600 + i * 37, round(rng.uniform(0, 10), 4)) for i in range(40)]
        late2 = [(h + 17 + i * 41, round(rng.uniform(0, 10), 4)) for i in range(12)]
        for pts in (gauge, counter, *cpu.values(), disk, late1, late2):
            rng.shuffle(pts)                            # out-of-order input
        return dict(gauge=gauge, counter=counter, cpu=cpu, disk=disk, late1=late1, late2=late2)

    def measures(self):
        d = self.data = self.make_data()
        # standalone metrics
        for logical, unit in (("gauge", "%"), ("counter", "B"), ("late", "ms")):
            r, t = self.setup(f"metric-create-{logical}", lambda s: s.g(
                "metric", "create", "-a", s.n("ap_all"), "-u", unit, f"cmp.{logical}"))
            for s, res in ((self.ref, r), (self.tgt, t)):
                s.add_metric(logical, res.json()["id"])
            self.compare(f"metric-create-{logical}", r, t)
        # on a resource without metrics: gnocchiclient prints element [0] of the resource's
        # metric list that POST /v1/resource/generic/ID/metric answers
        r, t = self.setup("metric-create-on-resource", lambda s: s.g(
            "metric", "create", "-r", s.ids["custom1"], "-a", s.n("ap_all"), "extra.metric"))
        for s, res in ((self.ref, r), (self.tgt, t)):
            s.add_metric("custom1/extra.metric", res.json()["id"])
        self.compare("metric-create-on-resource", r, t)
        # on a resource that has one (`load`): Gnocchi lists the resource's metrics in creation
        # order, so the client prints `load`
        r, t = self.both(lambda s: s.g("metric", "create", "-r", s.ids["host_a"], "-a", s.n("ap_all"),
                                       "extra.metric"))
        self.learn_and_compare("metric-create-on-resource-learn", "host_a",
                               lambda s: s.g("resource", "show", s.ids["host_a"]))
        self.compare("metric-create-on-resource-with-metrics", r, t)
        self.check("metric-show", lambda s: s.g("metric", "show", s.ids["gauge"]))
        self.check("metric-show-by-name", lambda s: s.g("metric", "show", "-r", s.ids["vm1"], "cpu"))
        self.check("metric-list", lambda s: s.g("metric", "list", "--limit", "1000"),
                   post=lambda side, v: sorted((m for m in v if str(m.get("id", "")).startswith("<metric:")),
                                               key=lambda m: m["id"]))
        self.check("metric-show-openstack", lambda s: s.os("metric", "metric", "show", s.ids["counter"]))
        # ingestion: one request per compared metric
        self.setup("measures-add", lambda s: s.g("measures", "add", s.ids["gauge"],
                   *sum((["-m", f"{iso(ts)}@{v!r}"] for ts, v in d["gauge"]), []), fmt=False))
        self.setup("measures-batch-metrics", lambda s: s.g("measures", "batch-metrics", self.batch_file(
            s, "batch1", {s.ids["counter"]: [{"timestamp": iso(ts), "value": v} for ts, v in d["counter"]],
                          s.ids["late"]: [{"timestamp": iso(ts), "value": v} for ts, v in d["late1"]]}), fmt=False))
        self.setup("measures-batch-resources-metrics", lambda s: s.g(
            "measures", "batch-resources-metrics", "--create-metrics", self.batch_file(s, "batch2", {
                s.ids["vm1"]: {"cpu": [{"timestamp": ts, "value": v} for ts, v in d["cpu"]["vm1"]]},
                s.ids["vm2"]: {"cpu": [{"timestamp": iso(ts), "value": v} for ts, v in d["cpu"]["vm2"]]},
                s.ids["host_b"]: {"disk.usage": {"archive_policy_name": s.n("ap_all"), "unit": "B",
                                                 "measures": [{"timestamp": iso(ts), "value": v}
                                                              for ts, v in d["disk"]]}},
            }), fmt=False))
        self.learn_and_compare("resource-show-after-create-metrics", "host_b",
                               lambda s: s.g("resource", "show", s.ids["host_b"]))
        # the second, earlier-in-time request for `late` (same hour bucket as the first)
        time.sleep(2.5)                                       # let metricd process the first one
        self.setup("measures-batch-metrics-late", lambda s: s.g("measures", "batch-metrics", self.batch_file(
            s, "batch3", {s.ids["late"]: [{"timestamp": iso(ts), "value": v} for ts, v in d["late2"]]}), fmt=False))

        # every aggregation x every granularity
        jobs = []
        # rate:* only on the monotonic series: for Altimeter a decrease is a counter reset
        # (reset-aware rate, the documented deviation --check-reset-deviation covers), so a
        # noisy gauge's rate:* legitimately differs
        for logical in ("gauge", "counter"):
            for agg in AGGS if logical == "counter" else [a for a in AGGS if not a.startswith("rate:")]:
                for g in GRANS:
                    jobs.append((f"measures-show-{logical}-{agg}-{g}", ("measures", "show", "--refresh",
                                 "--aggregation", agg, "--granularity", str(g)), logical))
        for agg in ("mean", "max", "rate:mean", "rate:max", "last", "std", "count"):
            for g in GRANS:
                jobs.append((f"measures-show-vm1-cpu-{agg}-{g}", ("measures", "show", "--refresh", "--aggregation",
                             agg, "--granularity", str(g), "-r", "{vm1}", "cpu"), None))
                if not agg.startswith("rate:"):             # disk.usage is a noisy gauge
                    jobs.append((f"measures-show-host_b-disk.usage-{agg}-{g}", (
                        "measures", "show", "--refresh", "--aggregation", agg, "--granularity", str(g),
                        "-r", "{host_b}", "disk.usage"), None))
        for agg in ("mean", "sum", "min", "max", "count", "first", "last", "median", "std", "50pct"):
            for g in GRANS:
                jobs.append((f"measures-show-late-{agg}-{g}", ("measures", "show", "--refresh", "--aggregation",
                             agg, "--granularity", str(g)), "late"))
        s0, s1 = iso(self.base + 1800), iso(self.base + 5400)
        jobs += [
            ("measures-show-gauge-default", ("measures", "show", "--refresh"), "gauge"),
            ("measures-show-gauge-all-granularities-max", ("measures", "show", "--aggregation", "max"), "gauge"),
            ("measures-show-gauge-granularity-5min", ("measures", "show", "--granularity", "5min"), "gauge"),
            ("measures-show-gauge-start-stop", ("measures", "show", "--granularity", "60", "--start", s0,
                                                "--stop", s1), "gauge"),
            ("measures-show-gauge-start-stop-unaligned", ("measures", "show", "--granularity", "300", "--start",
                                                          iso(self.base + 1234), "--stop", iso(self.base + 4321)),
             "gauge"),
            ("measures-show-gauge-start-epoch", ("measures", "show", "--granularity", "3600", "--start",
                                                 str(self.base + 3600)), "gauge"),
            ("measures-show-gauge-resample-600-mean", ("measures", "show", "--granularity", "60",
                                                       "--resample", "600"), "gauge"),
            ("measures-show-gauge-resample-600-max", ("measures", "show", "--granularity", "60",
                                                      "--aggregation", "max", "--resample", "600"), "gauge"),
            ("measures-show-counter-resample-3600-rate", ("measures", "show", "--granularity", "300",
                                                          "--aggregation", "rate:sum", "--resample", "3600"),
             "counter"),
            ("measures-show-gauge-utc", ("measures", "show", "--granularity", "3600", "--utc"), "gauge"),
        ]
        self.run_matrix(jobs)
        self.check("measures-show-openstack", lambda s: s.os("metric", "measures", "show", "--aggregation", "max",
                   "--granularity", "300", "--resource-id", s.ids["vm2"], "cpu"))
        self.check("metric-create-measures-standalone-rule", lambda s: s.g("measures", "show", s.ids["ruled"]))

    def run_matrix(self, jobs):
        """The measures-show jobs, both sides, `--jobs` CLI processes at a time."""
        jobs = [j for j in jobs if self.wanted(j[0])]

        def argv(side, args, logical):
            args = [a.format(**side.ids) if a.startswith("{") else a for a in args]
            if logical:
                args.append(side.ids[logical])
            return args
        futs = []
        for name, args, logical in jobs:
            futs.append((name,
                         self.pool.submit(_safe, lambda s, a=args, l=logical: s.g(*argv(s, a, l)), self.ref),
                         self.pool.submit(_safe, lambda s, a=args, l=logical: s.g(*argv(s, a, l)), self.tgt)))
        for name, fr, ft in futs:
            self.compare(name, fr.result(), ft.result())

    # -- 5. aggregates --
    def aggregates(self):
        def ag(*args, search=None, **kw):
            def fn(s):
                ops = args[0].format(**{k.replace(".", "_").replace("/", "_"): v for k, v in s.ids.items()})
                rest = list(args[1:])
                if search:
                    rest.append(search.format(project=s.project, project2=s.project2, user=s.user))
                return s.g("aggregates", ops, *rest)
            return fn
        ex = [
            ("aggregates-metric-by-id", ag("(metric {gauge} mean)", "--granularity", "60")),
            ("aggregates-two-metrics", ag("(metric ({gauge} mean) ({counter} max))", "--granularity", "300")),
            ("aggregates-cross-mean", ag("(aggregate mean (metric ({gauge} mean) ({late} mean)))",
                                         "--granularity", "60")),
            ("aggregates-cross-sum-overlap-0", ag("(aggregate sum (metric ({gauge} mean) ({late} mean)))",
                                                  "--granularity", "60", "--needed-overlap", "0")),
            ("aggregates-cross-mean-fill-0", ag("(aggregate mean (metric ({gauge} mean) ({late} mean)))",
                                                "--granularity", "60", "--fill", "0")),
            ("aggregates-cross-mean-fill-null", ag("(aggregate mean (metric ({gauge} mean) ({late} mean)))",
                                                   "--granularity", "60", "--fill", "null")),
            ("aggregates-cross-mean-fill-dropna", ag("(aggregate mean (metric ({gauge} mean) ({late} mean)))",
                                                     "--granularity", "60", "--fill", "dropna")),
            ("aggregates-cross-max-fill-ffill", ag("(aggregate max (metric ({gauge} mean) ({late} mean)))",
                                                   "--granularity", "300", "--fill", "ffill")),
            ("aggregates-arith-mul", ag("(* (metric {gauge} mean) 2)", "--granularity", "300")),
            ("aggregates-arith-sub", ag("(- (metric {gauge} max) (metric {gauge} min))", "--granularity", "300")),
            ("aggregates-arith-div-rate", ag("(/ (metric {counter} rate:mean) 60)", "--granularity", "60")),
            ("aggregates-abs-neg", ag("(abs (neg (metric {gauge} mean)))", "--granularity", "3600")),
            ("aggregates-resample", ag("(resample max 300 (metric {gauge} mean))", "--granularity", "60")),
            ("aggregates-rolling", ag("(rolling mean 3 (metric {gauge} mean))", "--granularity", "60")),
            ("aggregates-rolling-max", ag("(rolling max 5 (metric {counter} mean))", "--granularity", "300")),
            ("aggregates-start-stop", ag("(metric {gauge} mean)", "--granularity", "60",
                                         "--start", iso(self.base + 600), "--stop", iso(self.base + 1500))),
            ("aggregates-search-cpu", ag("(metric cpu mean)", "--resource-type", "instance", "--granularity", "300",
                                         search="project_id={project}")),
            ("aggregates-search-cross-sum", ag("(aggregate sum (metric cpu rate:mean))", "--resource-type",
                                               "instance", "--granularity", "300", search="user_id={user}")),
            ("aggregates-groupby-project", ag("(aggregate mean (metric cpu mean))", "--resource-type", "instance",
                                              "--groupby", "project_id", "--granularity", "3600",
                                              search="user_id={user}")),
            ("aggregates-groupby-two", ag("(aggregate max (metric cpu max))", "--resource-type", "instance",
                                          "--groupby", "project_id", "--groupby", "flavor_id",
                                          "--granularity", "300", search="user_id={user}")),
        ]
        futs = [(name, self.pool.submit(_safe, fn, self.ref), self.pool.submit(_safe, fn, self.tgt))
                for name, fn in ex if self.wanted(name)]
        for name, fr, ft in futs:
            self.compare(name, fr.result(), ft.result())

    # -- 6. capabilities, status, errors --
    def misc(self):
        self.check("capabilities", lambda s: s.g("capabilities", "list"),
                   post=lambda side, v: {k: sorted(x) if isinstance(x, list) else x for k, x in v.items()})

        def shape(side, v):
            if isinstance(v, dict):
                return {k: type(x).__name__ for k, x in v.items()}
            return type(v).__name__
        self.check("status-shape", lambda s: s.g("status"), post=shape)
        self.check("status-shape-openstack", lambda s: s.os("metric", "status"), post=shape)
        self.check("error-measures-granularity-not-in-policy", lambda s: s.g(
            "measures", "show", "--granularity", "17", s.ids["gauge"], fmt=False), mode="error")
        self.check("error-measures-unknown-metric", lambda s: s.g(
            "measures", "show", "5b7d6f3e-1111-4222-8333-944455556666", fmt=False), mode="error")
        self.check("error-measures-bad-aggregation", lambda s: s.g(
            "measures", "show", "--aggregation", "bogus", s.ids["gauge"], fmt=False), mode="error")
        self.check("error-measures-aggregation-not-in-policy", lambda s: s.g(
            "measures", "show", "--aggregation", "10pct", s.ids["gauge"], fmt=False), mode="error")
        self.check("error-measures-unknown-metric-name", lambda s: s.g(
            "measures", "show", "-r", s.ids["vm1"], "nope", fmt=False), mode="error")
        self.check("error-measures-bad-start", lambda s: s.g(
            "measures", "show", "--start", "yesterday-ish", s.ids["gauge"], fmt=False), mode="error")
        self.check("error-measures-add-bad-value", lambda s: s.g(
            "measures", "add", "-m", f"{iso(self.base)}@notanumber", s.ids["gauge"], fmt=False), mode="error")
        self.check("error-metric-create-unknown-policy", lambda s: s.g(
            "metric", "create", "-a", "nope-policy", "x", fmt=False), mode="error")
        self.check("error-aggregates-bad-operation", lambda s: s.g(
            "aggregates", "(frobnicate (metric %s mean))" % s.ids["gauge"], fmt=False), mode="error")
        self.check("error-aggregates-unknown-metric", lambda s: s.g(
            "aggregates", "(metric 5b7d6f3e-1111-4222-8333-944455556666 mean)", fmt=False), mode="error")
        self.check("error-resample-without-granularity", lambda s: s.g(
            "measures", "show", "--resample", "600", s.ids["gauge"], fmt=False), mode="error")
        self.check("error-batch-unknown-metric", lambda s: s.g("measures", "batch-metrics", self.batch_file(
            s, "bad", {"5b7d6f3e-1111-4222-8333-944455556666": [{"timestamp": iso(self.base), "value": 1}]}),
            fmt=False), mode="error")

    # -- counter reset deviation (opt-in) --
    def reset_deviation(self):
        name = "reset-deviation"
        r, t = self.setup("reset-metric-create", lambda s: s.g("metric", "create", "-a", s.n("ap_all"), "cmp.reset"))
        for s, res in ((self.ref, r), (self.tgt, t)):
            s.add_metric("reset", res.json()["id"])
        pts = [(self.base + i * 60 + 10, v) for i, v in enumerate([100, 160, 220, 15, 75, 135])]
        self.setup("reset-measures", lambda s: s.g("measures", "batch-metrics", self.batch_file(
            s, "reset", {s.ids["reset"]: [{"timestamp": iso(ts), "value": float(v)} for ts, v in pts]}), fmt=False))
        r, t = self.both(lambda s: s.g("measures", "show", "--refresh", "--aggregation", "rate:last",
                                       "--granularity", "60", s.ids["reset"]))
        rv = [m["value"] for m in (r.json() or [])] if r.rc == 0 else None
        tv = [m["value"] for m in (t.json() or [])] if t.rc == 0 else None
        ok = bool(rv) and any(x < 0 for x in rv) and bool(tv) and all(x >= 0 for x in tv)
        self.verdict(name, ok, f"reference rate:last = {rv} (expected a negative value at the reset)\n"
                               f"target rate:last = {tv} (expected no negative value)")

    # -- 7. the course lab, target only --
    def lab(self):
        s = self.tgt
        env = dict(s.env, OS_AUTH_TYPE="gnocchi-basic", OS_USER=CREATOR, OS_ENDPOINT=s.url)
        osc = os.path.join(s.venv, "bin", "openstack")

        def sh(*args):
            t0 = time.time()
            try:
                p = subprocess.run([osc, *args], capture_output=True, text=True, timeout=s.timeout, env=env)
                return Result([osc, *args], p.returncode, p.stdout, p.stderr, time.time() - t0)
            except subprocess.TimeoutExpired:
                return Result([osc, *args], -1, "", "TIMEOUT", time.time() - t0)
        if not any(k.startswith("vm") for k in s.ids):
            # --lab-only: make an instance with a measured metric first
            rid = s.rid("labvm")
            res = s.g("resource", "create", "--type", "instance", rid, "-a", "flavor_id:1", "-a", "display_name:lab",
                      "-a", "flavor_name:m1.tiny", "-n", "cpu:low")
            if res.rc != 0:
                self.verdict("lab-setup", False, res.describe())
                return
            s.add_metric("labvm/cpu", res.json()["metrics"]["cpu"])
            now = int(time.time()) // 300 * 300
            res = s.g("measures", "add", "-r", rid, "cpu", "-m", f"{iso(now - 600)}@1e9", "-m",
                      f"{iso(now - 300)}@2e9", fmt=False)
            if res.rc != 0:
                self.verdict("lab-setup", False, res.describe())
                return
        res = sh("metric", "resource", "list", "--type", "instance")
        known = [v for k, v in s.ids.items() if k in ("vm1", "vm2", "vm3", "labvm")]
        self.verdict("lab-resource-list", res.rc == 0 and all(i in res.out for i in known) and "flavor_id" not in
                     res.err, res.describe())
        if not known:
            self.verdict("lab-resource-show", False, "no instance resource was created")
            return
        rid = known[0]
        res = sh("metric", "resource", "show", rid)
        self.verdict("lab-resource-show", res.rc == 0 and rid in res.out and "cpu" in res.out, res.describe())
        mid = s.ids.get("vm1/cpu") or s.ids.get("labvm/cpu")
        if not mid:
            self.verdict("lab-measures-show", False, "no cpu metric was created")
            return
        res = sh("metric", "measures", "show", mid)
        rows = [ln for ln in res.out.splitlines() if re.match(r"\|\s*\d{4}-\d\d-\d\dT", ln)]
        self.verdict("lab-measures-show", res.rc == 0 and len(rows) > 0, res.describe())
        res = sh("metric", "measures", "show", mid, "-f", "json")
        ok = res.rc == 0
        try:
            ms = json.loads(res.out)
            ok = ok and len(ms) > 0 and all(set(m) == {"timestamp", "granularity", "value"} for m in ms)
        except ValueError:
            ok = False
        self.verdict("lab-measures-show-json", ok, res.describe())

    def main(self):
        # whole seconds, the hour 3 h ago: Altimeter refuses points older than its
        # out-of-order window or more than 1 h in the future
        self.base = (int(time.time()) // 3600 - 3) * 3600
        print(f"# reference {self.ref.url} (token {self.ref.token}), target {self.tgt.url} "
              f"(token {self.tgt.token}){' same instance: per-side names' if self.same_instance else ''}; "
              f"base {iso(self.base)}", flush=True)
        steps = []
        if not self.a.lab_only:
            steps = [self.ceilometer_types, self.archive_policies, self.resource_types, self.resources, self.measures, self.aggregates,
                     self.misc]
            if self.a.check_reset_deviation:
                steps.append(self.reset_deviation)
        if not self.a.no_lab:
            steps.append(self.lab)
        for step in steps:
            try:
                step()
            except SetupError:
                print(f"# section {step.__name__} stopped at a setup failure", flush=True)
                if self.a.stop_on_setup_failure:
                    break
            except Exception:  # noqa: BLE001 - e.g. a target answer without an expected field
                import traceback
                msg = f"section {step.__name__} crashed:\n{traceback.format_exc()}"
                self.errors.append(msg)
                print(f"FAIL {msg}", flush=True)
        self.pool.shutdown()
        for f in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, f))
        os.rmdir(self.tmp)
        bad = len(self.diffs) + len(self.errors)
        print(f"# {self.n_ok} passed, {len(self.diffs)} failed" + (f", {len(self.errors)} setup errors"
                                                                 if self.errors else ""), flush=True)
        if self.diffs:
            print("# DIFF: " + " ".join(self.diffs), flush=True)
        return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", required=True, help="real Gnocchi, e.g. http://127.0.0.1:18041")
    ap.add_argument("--target", required=True, help="Altimeter, e.g. http://127.0.0.1:9090")
    ap.add_argument("--venv", default=os.path.join(os.environ.get("ALTIMETER_PEERS", "/var/tmp/altimeter-peers"),
                                                   "gnocchi-venv"))
    ap.add_argument("--only", action="append", help="run only checks whose name contains this (repeatable)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per CLI call")
    ap.add_argument("--jobs", type=int, default=4, help="CLI processes at a time (both sides together)")
    ap.add_argument("--token", help="run token for names (default random)")
    ap.add_argument("--per-side-names", action="store_true",
                    help="give each side its own names (automatic when both URLs are equal)")
    ap.add_argument("--check-reset-deviation", action="store_true",
                    help="also check that a counter reset makes the reference's rate negative and not the target's")
    ap.add_argument("--lab-only", action="store_true", help="only the course lab sequence against the target")
    ap.add_argument("--no-lab", action="store_true", help="skip the course lab sequence")
    ap.add_argument("--stop-on-setup-failure", action="store_true",
                    help="skip later sections after a setup failure (default: go on; their checks that need "
                         "what the failed step should have made report DIFF)")
    a = ap.parse_args()
    for exe in ("gnocchi", "openstack"):
        if not os.access(os.path.join(a.venv, "bin", exe), os.X_OK):
            sys.exit(f"{a.venv}/bin/{exe} missing: run tests/peers/gnocchi.sh install")
    sys.exit(Compare(a).main())


if __name__ == "__main__":
    main()
