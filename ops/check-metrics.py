#!/usr/bin/env python3
"""Checks that the alert rules and the Grafana dashboard use only metrics lyt exports.

The exported names are read from src/metrics.rs (every `lyt_…` name registered there; a
histogram also exports `_bucket`, `_sum` and `_count`), plus `up`, which Prometheus records
itself. Every dashboard panel must have a query, and every query and every alert expression
must name at least one metric and only exported ones. With --promtool, the dashboard's
queries are also parsed as PromQL by promtool (as recording rules in a temporary file).

Usage: check-metrics.py --metrics-src src/metrics.rs --rules FILE... --dashboard FILE...
                        [--promtool promtool]
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile

import yaml

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "bool", "offset", "inf", "nan", "Inf", "NaN"}
PROMETHEUS_OWN = {"up"}


def exported(src_path):
    src = open(src_path, encoding="utf-8").read()
    names = set(re.findall(r'"(lyt_[a-z0-9_]+)"', src))
    for hist in re.findall(r'HistogramOpts::new\(\s*"(lyt_[a-z0-9_]+)"', src):
        names |= {hist + "_bucket", hist + "_sum", hist + "_count"}
    if not names:
        sys.exit(f"{src_path}: no lyt_ metric names found")
    return names | PROMETHEUS_OWN


def metric_names(expr):
    e = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    out = set()
    for m in re.finditer(r"(?<![0-9.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", e):
        name, call = m.group(1), m.group(2)
        if call or name in KEYWORDS:
            continue
        out.add(name)
    return out


def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--metrics-src", required=True)
    ap.add_argument("--rules", nargs="*", default=[])
    ap.add_argument("--dashboard", nargs="*", default=[])
    ap.add_argument("--promtool")
    a = ap.parse_args()
    known = exported(a.metrics_src)
    errors = []
    checked = 0

    def check(where, expr):
        nonlocal checked
        names = metric_names(expr)
        if not names:
            errors.append(f"{where}: names no metric: {expr}")
        for n in sorted(names - known):
            errors.append(f"{where}: `{n}` is not exported by lyt ({a.metrics_src})")
        checked += 1

    for path in a.rules:
        doc = yaml.safe_load(open(path, encoding="utf-8"))
        for g in doc["groups"]:
            for r in g["rules"]:
                check(f"{path}: {r.get('alert') or r.get('record')}", r["expr"])

    exprs = []
    for path in a.dashboard:
        dash = json.load(open(path, encoding="utf-8"))
        for key in ("title", "uid", "panels"):
            if key not in dash:
                errors.append(f"{path}: no `{key}`")
        ids = set()
        for p in panels(dash.get("panels", [])):
            if p.get("id") in ids:
                errors.append(f"{path}: panel id {p.get('id')} used twice")
            ids.add(p.get("id"))
            if p.get("type") == "row":
                continue
            if "gridPos" not in p:
                errors.append(f"{path}: panel `{p.get('title')}` has no gridPos")
            targets = [t for t in p.get("targets", []) if t.get("expr", "").strip()]
            if not targets:
                errors.append(f"{path}: panel `{p.get('title')}` has no query")
            for t in targets:
                check(f"{path}: panel `{p.get('title')}` {t.get('refId')}", t["expr"])
                exprs.append(t["expr"])

    if a.promtool and exprs:
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:query{i}", "expr": e} for i, e in enumerate(exprs)]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            yaml.safe_dump(rules, f)
            f.flush()
            r = subprocess.run([a.promtool, "check", "rules", f.name], capture_output=True, text=True)
            if r.returncode != 0:
                errors.append("dashboard queries are not valid PromQL:\n" + r.stdout + r.stderr)

    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)
    print(f"metrics: {checked} expressions name only the {len(known)} exported metrics")


if __name__ == "__main__":
    main()
