#!/usr/bin/env python3
"""Checks of the Prometheus rules, their tests and the Grafana dashboards that promtool does
not make by itself; run by scripts/rules-check.sh, one subcommand a step.

  metrics     every metric the rules and dashboards name is emitted in crates/ (a
              counter!/gauge!/histogram! call with that literal name), with the labels they
              select on and, for _bucket series, as a real histogram (the exporter's bucket
              matchers, read from the code); recording-rule names (with a colon) exist.
              Exporter metrics (up, node_*, kubelet_*, kube_*, pg_*, cnpg_*) and the three
              business metrics being added are exempt from the code check.
  alerts      every alert has a severity (critical|warning), summary, description and a
              runbook_url whose anchor exists in docs/runbooks.md.
  tests       every test file orders every rule group (group_eval_order), every alert fires
              in some test, and every SLO alert is also tested not firing.
  dashboards  every dashboard is valid JSON with uid, title, schemaVersion, namespace and
              instance variables and unique panel ids; every expr (and every variable's
              label_values selector) is parsed by `promtool check rules`, as a recording
              rule in a generated file; the provisioning files parse and say what they must.
  config      writes, for a promtool built without Kubernetes discovery (Debian's), a copy
              of prometheus.yml with each kubernetes_sd_configs block replaced by an empty
              static_configs one, after checking those blocks' shape; prints its path.

Usage: python3 scripts/rules_check.py SUBCOMMAND [PROMTOOL]
"""

import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROM = os.path.join(ROOT, "deploy", "prometheus")
RULE_FILES = sorted(glob.glob(os.path.join(PROM, "rules", "*.yml")))
TEST_FILES = sorted(glob.glob(os.path.join(PROM, "tests", "*.yml")))
DASHBOARDS = sorted(glob.glob(os.path.join(ROOT, "deploy", "grafana", "dashboards", "*.json")))
RUNBOOKS = os.path.join(ROOT, "docs", "runbooks.md")
RUNBOOK_URL = "https://github.com/lanerunner/lanerunner/blob/main/docs/runbooks.md#"

EXPORTER_PREFIXES = ("node_", "kubelet_", "kube_", "pg_", "cnpg_")
EXPORTER_NAMES = {"up"}
# Being added in code by another change, under exactly these names (counter, counter,
# histogram): exempt while absent from crates/, checked like the others once there.
PENDING_BUSINESS = {
    "loads_posted_total": ("counter", set()),
    "loads_booked_total": ("counter", set()),
    "load_time_to_cover_seconds": ("histogram", set()),
}
# Labels scraped series get (prometheus.yml; a PodMonitor adds container and endpoint).
TARGET_LABELS = {"namespace", "pod", "instance", "job", "node", "component", "container", "endpoint"}
KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "inf", "nan", "atan2", "start", "end", "le",
}
SEVERITIES = {"critical", "warning"}

failures = []


def fail(msg):
    failures.append(msg)


def finish(what):
    if failures:
        for f in failures:
            print(f"  FAILED: {f}")
        sys.exit(1)
    print(f"  SUCCESS: {what}")


# ------------------------------------------------------------------------------ PromQL


def strip_strings(expr):
    return re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', expr)


def metric_names(expr):
    """The metric (and recording-rule) names an expression selects, by a tokenizer that
    knows PromQL's shape well enough for these files: strings, label matchers, ranges and
    grouping lists are removed, then every identifier not called as a function and not a
    keyword is a name."""
    exact = set(re.findall(r'__name__\s*=\s*"([^"]+)"', expr))
    e = strip_strings(expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)", e):
        tok = m.group(1)
        if tok.lower() in KEYWORDS:
            continue
        if re.match(r"\s*\(", e[m.end():]):
            continue  # a function
        names.add(tok)
    return names | exact


def selected_labels(expr):
    """(metric, label) pairs: labels matched on a metric's own selector, and labels an
    aggregation groups by when its argument selects exactly one metric."""
    pairs = set()
    for m in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}", expr):
        for lab in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", strip_strings(m.group(2))):
            pairs.add((m.group(1), lab))
    for m in re.finditer(r"\bby\s*\(([^)]*)\)\s*\(", expr):
        start = m.end() - 1
        depth, i = 0, start
        while i < len(expr):
            depth += {"(": 1, ")": -1}.get(expr[i], 0)
            if depth == 0:
                break
            i += 1
        inner = [n for n in metric_names(expr[start:i + 1]) if ":" not in n]
        if len(inner) == 1:
            for lab in re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", m.group(1)):
                pairs.add((inner[0], lab))
    return pairs


# ------------------------------------------------------------------------------ code


def code_metrics():
    """name -> (kind, label keys) for every metrics macro call in crates/, and the bucket
    matchers the Prometheus exporter is built with."""
    found = {}
    matchers = []
    for path in glob.glob(os.path.join(ROOT, "crates", "**", "*.rs"), recursive=True):
        text = open(path, encoding="utf-8").read()
        for m in re.finditer(r"\b(counter|gauge|histogram)!\(\s*\"([^\"]+)\"", text):
            kind, name = m.group(1), m.group(2)
            j = text.index("(", m.start())
            depth, i = 0, j
            while i < len(text):
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                if depth == 0:
                    break
                i += 1
            labels = set(re.findall(r"\"([a-zA-Z_][a-zA-Z0-9_]*)\"\s*=>", text[j:i]))
            old = found.get(name)
            if old and old[0] != kind:
                fail(f"{name} is both a {old[0]} and a {kind} in crates/")
            found[name] = (kind, (old[1] if old else set()) | labels)
        for m in re.finditer(r"Matcher::(Full|Prefix|Suffix)\(\s*\"([^\"]+)\"", text):
            matchers.append((m.group(1), m.group(2)))
    return found, matchers


def has_buckets(name, matchers):
    for kind, value in matchers:
        if (kind == "Full" and name == value) or (kind == "Prefix" and name.startswith(value)) \
                or (kind == "Suffix" and name.endswith(value)):
            return True
    return False


def load_rules():
    groups = []
    for path in RULE_FILES:
        doc = yaml.safe_load(open(path, encoding="utf-8"))
        for g in doc["groups"]:
            groups.append((path, g))
    return groups


def recorded_names(groups):
    return {r["record"] for _, g in groups for r in g["rules"] if "record" in r}


def check_names(where, expr, records, code, matchers):
    for name in sorted(metric_names(expr)):
        if ":" in name:
            if name not in records:
                fail(f"{where}: recording rule {name} is not defined")
            continue
        if name in EXPORTER_NAMES or name.startswith(EXPORTER_PREFIXES):
            continue
        base, suffix = name, ""
        m = re.match(r"(.+)_(bucket|count|sum)$", name)
        if name not in code and name not in PENDING_BUSINESS and m:
            base, suffix = m.group(1), m.group(2)
        pending = base not in code and base in PENDING_BUSINESS
        if base in code:
            kind, labels = code[base]
        elif pending:
            kind, labels = PENDING_BUSINESS[base]
        else:
            fail(f"{where}: metric {name} is emitted nowhere in crates/")
            continue
        if suffix and kind != "histogram":
            fail(f"{where}: {name}: {base} is a {kind}, it has no _{suffix} series")
        elif suffix == "bucket" and not pending and not has_buckets(base, matchers):
            fail(f"{where}: {name}: the exporter renders {base} as a summary (no bucket matcher)")
        if not suffix and kind == "histogram":
            fail(f"{where}: {name} is a histogram: select its _bucket, _count or _sum")
        for metric, label in selected_labels(expr):
            if metric != name or label in TARGET_LABELS or label == "__name__":
                continue
            allowed = labels | ({"le"} if suffix == "bucket" else set())
            if label not in allowed:
                fail(f"{where}: {name} has no label {label!r} (it has: {sorted(allowed) or 'none'})")


def cmd_metrics():
    groups = load_rules()
    records = recorded_names(groups)
    code, matchers = code_metrics()
    count = 0
    for path, g in groups:
        for r in g["rules"]:
            name = r.get("record") or r.get("alert")
            check_names(f"{os.path.basename(path)}: {name}", r["expr"], records, code, matchers)
            count += 1
    for path, expr in dashboard_exprs():
        check_names(f"{os.path.basename(path)}: {expr[:60]!r}", substitute(expr), records, code, matchers)
        count += 1
    finish(f"{count} rule and dashboard expressions name only metrics emitted in crates/ "
           f"(or exporters', or {', '.join(sorted(PENDING_BUSINESS))}) and defined recording rules")


# ------------------------------------------------------------------------------ alerts


def github_anchor(heading):
    slug = heading.strip().lower()
    slug = re.sub(r"[^\w\- ]", "", slug)
    return slug.replace(" ", "-")


def cmd_alerts():
    anchors = set()
    if os.path.exists(RUNBOOKS):
        for line in open(RUNBOOKS, encoding="utf-8"):
            m = re.match(r"#+\s+(.*)", line)
            if m:
                anchors.add(github_anchor(m.group(1)))
    else:
        fail("docs/runbooks.md is missing")
    n = 0
    for path, g in load_rules():
        for r in g["rules"]:
            if "alert" not in r:
                continue
            n += 1
            name = r["alert"]
            sev = r.get("labels", {}).get("severity")
            if sev not in SEVERITIES:
                fail(f"{name}: severity {sev!r} is not one of {sorted(SEVERITIES)}")
            ann = r.get("annotations", {})
            for key in ("summary", "description", "runbook_url"):
                if not ann.get(key):
                    fail(f"{name}: no {key} annotation")
            url = ann.get("runbook_url", "")
            want = RUNBOOK_URL + "alert-" + name.lower()
            if url != want:
                fail(f"{name}: runbook_url is {url!r}, expected {want!r}")
            elif "alert-" + name.lower() not in anchors:
                fail(f"{name}: docs/runbooks.md has no heading 'Alert: {name}'")
    finish(f"{n} alerts have a severity, summary, description and a runbook section")


# ------------------------------------------------------------------------------ tests


def cmd_tests():
    groups = load_rules()
    alerts = {r["alert"]: g["name"] for _, g in groups for r in g["rules"] if "alert" in r}
    slo_alerts = {a for a, g in alerts.items() if g == "lanerunner-slo-alerts"}
    names = [g["name"] for _, g in groups]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        fail(f"rule group names used twice (group_eval_order needs them unique): {sorted(dupes)}")
    fired, silent = set(), set()
    for path in TEST_FILES:
        doc = yaml.safe_load(open(path, encoding="utf-8"))
        base = os.path.dirname(path)
        files = [os.path.normpath(os.path.join(base, f)) for f in doc.get("rule_files", [])]
        loaded = [g["name"] for f in files for p, g in groups if p == f]
        if doc.get("group_eval_order") != loaded:
            fail(f"{os.path.basename(path)}: group_eval_order must list every group of its rule "
                 f"files in order (recording before alerts): {loaded}")
        for t in doc.get("tests", []):
            for a in t.get("alert_rule_test", []) or []:
                (fired if a.get("exp_alerts") else silent).add(a["alertname"])
    for a in sorted(set(alerts) - fired):
        fail(f"{a} fires in no test")
    for a in sorted(slo_alerts - silent):
        fail(f"{a} is never tested staying silent")
    unknown = (fired | silent) - set(alerts)
    for a in sorted(unknown):
        fail(f"tests name an alert that does not exist: {a}")
    finish(f"{len(TEST_FILES)} test files order every group; all {len(alerts)} alerts fire in "
           f"a test, the {len(slo_alerts)} SLO alerts also stay silent in one")


# ------------------------------------------------------------------------------ dashboards


def walk_panels(panels):
    for p in panels or []:
        yield p
        yield from walk_panels(p.get("panels"))


def dashboard_exprs():
    out = []
    for path in DASHBOARDS:
        try:
            d = json.load(open(path, encoding="utf-8"))
        except ValueError:
            continue  # reported by cmd_dashboards
        for p in walk_panels(d.get("panels")):
            for t in p.get("targets", []) or []:
                if t.get("expr"):
                    out.append((path, t["expr"]))
        for v in d.get("templating", {}).get("list", []):
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            m = re.match(r"label_values\((.*),\s*\w+\)$", q or "") if v.get("type") == "query" else None
            if m:
                out.append((path, m.group(1)))
    return out


def substitute(expr):
    e = expr.replace("$__rate_interval", "5m").replace("${__rate_interval}", "5m")
    e = e.replace("$__interval", "1m").replace("$__range", "1d")
    e = re.sub(r"\$\{(\w+)(?::\w+)?\}", "x", e)
    return re.sub(r"\$(\w+)", "x", e)


def cmd_dashboards(promtool):
    ids_seen = {}
    for path in DASHBOARDS:
        name = os.path.basename(path)
        try:
            d = json.load(open(path, encoding="utf-8"))
        except ValueError as e:
            fail(f"{name}: not valid JSON: {e}")
            continue
        for key in ("uid", "title", "schemaVersion"):
            if not d.get(key):
                fail(f"{name}: no {key}")
        if d.get("uid") in ids_seen:
            fail(f"{name}: uid {d['uid']} also used by {ids_seen[d['uid']]}")
        ids_seen[d.get("uid")] = name
        variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
        for v in ("datasource", "namespace", "instance"):
            if v not in variables:
                fail(f"{name}: no template variable {v}")
        panel_ids = [p.get("id") for p in walk_panels(d.get("panels"))]
        if len(panel_ids) != len(set(panel_ids)) or None in panel_ids:
            fail(f"{name}: panel ids missing or repeated")
        for p in walk_panels(d.get("panels")):
            if p.get("type") == "row":
                continue
            ds = (p.get("datasource") or {}).get("uid")
            if ds != "${datasource}":
                fail(f"{name}: panel {p.get('title')!r} does not use the datasource variable")
            if not p.get("targets"):
                fail(f"{name}: panel {p.get('title')!r} has no query")
        for v in variables.values():
            q = v.get("query")
            if isinstance(q, dict):
                q = q.get("query")
            if v.get("type") == "query" and q:
                m = re.match(r"label_values\((.*),\s*\w+\)$", q)
                if not m:
                    fail(f"{name}: variable {v['name']}: query {q!r} is not label_values(selector, label)")
    prov = os.path.join(ROOT, "deploy", "grafana", "provisioning")
    try:
        sources = yaml.safe_load(open(os.path.join(prov, "datasources", "prometheus.yml")))["datasources"]
        if not any(s.get("type") == "prometheus" and s.get("url") for s in sources):
            fail("provisioning/datasources/prometheus.yml: no prometheus data source with a url")
        providers = yaml.safe_load(open(os.path.join(prov, "dashboards", "lanerunner.yml")))["providers"]
        if not all(p.get("type") == "file" and (p.get("options") or {}).get("path") for p in providers):
            fail("provisioning/dashboards/lanerunner.yml: every provider needs type file and options.path")
    except (OSError, KeyError, TypeError, yaml.YAMLError) as e:
        fail(f"grafana provisioning: {e!r}")
    exprs = dashboard_exprs()
    with tempfile.TemporaryDirectory() as tmp:
        rules = {"groups": [{"name": "dashboards", "rules": [
            {"record": f"dashboard:expr:{i}", "expr": substitute(e)} for i, (_, e) in enumerate(exprs)]}]}
        f = os.path.join(tmp, "dashboards.yml")
        yaml.safe_dump(rules, open(f, "w"))
        r = subprocess.run([promtool, "check", "rules", f], capture_output=True, text=True)
        if r.returncode != 0:
            out = (r.stdout + r.stderr).replace(f, "dashboards")
            bad = sorted({int(i) for i in re.findall(r"dashboard:expr:(\d+)", out)})
            fail("promtool rejects dashboard expressions:\n" + out.strip() + "\n" + "\n".join(
                f"    dashboard:expr:{i} is {os.path.basename(exprs[i][0])}: {exprs[i][1]}" for i in bad))
    finish(f"{len(DASHBOARDS)} dashboards valid; promtool parses their {len(exprs)} expressions")


# ------------------------------------------------------------------------------ config

SD_KEYS = {"role", "namespaces", "selectors", "api_server", "kubeconfig_file", "attach_metadata",
           "follow_redirects", "enable_http2", "tls_config", "authorization", "basic_auth",
           "oauth2", "proxy_url", "bearer_token", "bearer_token_file"}
SD_ROLES = {"pod", "service", "endpoints", "endpointslice", "node", "ingress"}


def cmd_config():
    src = os.path.join(PROM, "prometheus.yml")
    doc = yaml.safe_load(open(src, encoding="utf-8"))

    def swap(block, where):
        sds = block.pop("kubernetes_sd_configs", None)
        if sds is None:
            return
        for sd in sds:
            extra = set(sd) - SD_KEYS
            if extra:
                fail(f"{where}: unknown kubernetes_sd_configs keys {sorted(extra)}")
            if sd.get("role") not in SD_ROLES:
                fail(f"{where}: kubernetes_sd_configs role {sd.get('role')!r} is not one of {sorted(SD_ROLES)}")
            names = (sd.get("namespaces") or {}).get("names")
            if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
                fail(f"{where}: namespaces.names must be a list of names")
        block["static_configs"] = [{"targets": []}]

    for sc in doc.get("scrape_configs", []):
        swap(sc, f"scrape job {sc.get('job_name')}")
    for am in (doc.get("alerting") or {}).get("alertmanagers", []):
        swap(am, "alertmanagers")
    doc["rule_files"] = [os.path.join(PROM, f) for f in doc.get("rule_files", [])]
    if failures:
        finish("")
    out = os.path.join(tempfile.mkdtemp(prefix="rules-check-"), "prometheus-static-sd.yml")
    yaml.safe_dump(doc, open(out, "w"), sort_keys=False)
    print(out)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    cmd = sys.argv[1]
    if cmd == "metrics":
        cmd_metrics()
    elif cmd == "alerts":
        cmd_alerts()
    elif cmd == "tests":
        cmd_tests()
    elif cmd == "dashboards":
        cmd_dashboards(sys.argv[2] if len(sys.argv) > 2 else "promtool")
    elif cmd == "config":
        cmd_config()
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
