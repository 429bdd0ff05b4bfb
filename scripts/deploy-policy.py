#!/usr/bin/env python3
"""LaneRunner's own rules for its deployment files: what schema validators and generic
policy scanners cannot know, checked against the code base itself.

    python3 scripts/deploy-policy.py [DEPLOY_ROOT [SOURCE_ROOT]]

DEPLOY_ROOT holds deploy/, .github/ (default: the repository); SOURCE_ROOT holds crates/
(default: the repository). Run by scripts/deploy-check.sh; needs PyYAML. Exits 1 listing
every violation.

Checked:
  - configuration: every LANERUNNER_* variable (config.env, backup.env, the manifests' env)
    and every key of the example secrets.toml is a key of crates/platform/src/config.rs,
    with a value of the right kind (LaneRunner refuses unknown keys at start-up); and no
    secret sits in plain configuration (a password, a key, a URL with credentials);
  - services: every group runs known services, all of them together, identity wherever
    the API is served (authentication needs it in the process), and the pairs registry.rs
    requires in one process (documents with storage, voice with negotiation, reporting
    with analytics);
  - routing: every API route a service declares (#[utoipa::path]) reaches, through the
    Ingress, a group that runs that service, read both as ingress-nginx does and as the
    Ingress specification does; probes and metrics are not routed;
  - pods: enableServiceLinks off (Kubernetes' service variables are LANERUNNER_* names
    here), probes and ports matching the configured listeners, a grace period that covers
    the preStop sleep and http.shutdown_grace_ms, the keyring and the secret configuration
    file mounted where the configuration says;
  - wiring: Services, HPAs, PDBs and PodMonitors select existing pods, the backup job's
    pg_dump comes from the cluster's own PostgreSQL image, the deploy workflow pins the
    image by digest, PgBouncer used only in transaction mode with a direct URL;
  - custom resources (CloudNativePG, Prometheus Operator): known kinds, and the settings
    docs/operations.md relies on. With LANERUNNER_CRD_DIR naming a directory of CRD files
    (e.g. `kubectl get crd clusters.postgresql.cnpg.io -o yaml`), they are also validated
    against those schemas, unknown fields refused.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from pathlib import Path

import yaml

DEPLOY = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
SOURCE = Path(sys.argv[2] if len(sys.argv) > 2 else DEPLOY).resolve()
K8S = DEPLOY / "deploy" / "kubernetes"

errors: list[str] = []
notes: list[str] = []


def err(msg: str) -> None:
    errors.append(msg)


# Custom resources these manifests use (not in Kubernetes' schemas).
CUSTOM_KINDS = {
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"),
    ("postgresql.cnpg.io/v1", "Pooler"),
    ("barmancloud.cnpg.io/v1", "ObjectStore"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
}
APP_IMAGE = "ghcr.io/lanerunner/lanerunner"


# ---------------------------------------------------------------------------------------
# Manifests
# ---------------------------------------------------------------------------------------
def load_manifests() -> list[tuple[Path, dict]]:
    docs = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        try:
            for doc in yaml.safe_load_all(path.read_text()):
                if doc:
                    docs.append((path, doc))
        except yaml.YAMLError as e:
            err(f"{path}: not YAML: {e}")
    return docs


MANIFESTS = load_manifests()


def rel(path: Path) -> str:
    return str(path.relative_to(DEPLOY))


def kustomization_resources(directory: Path) -> list[Path]:
    k = yaml.safe_load((directory / "kustomization.yaml").read_text())
    return [directory / r for r in k.get("resources", [])]


APPLIED = {p.resolve() for p in kustomization_resources(K8S)}
APPLIED_PG = {p.resolve() for p in kustomization_resources(K8S / "postgres")}


def applied(kind: str) -> list[tuple[Path, dict]]:
    return [(p, d) for p, d in MANIFESTS if d.get("kind") == kind and p.resolve() in APPLIED]


def pod_spec(doc: dict) -> dict | None:
    kind = doc.get("kind")
    if kind in ("Deployment", "Job"):
        return doc["spec"]["template"]["spec"]
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def pod_labels(doc: dict) -> dict:
    kind = doc.get("kind")
    if kind in ("Deployment", "Job"):
        return doc["spec"]["template"]["metadata"].get("labels", {})
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["metadata"].get("labels", {})
    return {}


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def read_env_file(path: Path) -> dict[str, str]:
    out = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            err(f"{rel(path)}:{n}: not KEY=VALUE: {line}")
            continue
        k, v = line.split("=", 1)
        if k in out:
            err(f"{rel(path)}:{n}: {k} set twice")
        out[k] = v
    return out


CONFIG_ENV = read_env_file(K8S / "config.env")
BACKUP_ENV = read_env_file(K8S / "backup.env")


# ---------------------------------------------------------------------------------------
# The configuration keys, from crates/platform/src/config.rs
# ---------------------------------------------------------------------------------------
def config_schema():
    text = (SOURCE / "crates/platform/src/config.rs").read_text()
    structs: dict[str, list[tuple[str, str]]] = {}
    enums: dict[str, list[str]] = {}
    for m in re.finditer(r"((?:#\[[^\]]*\]\s*)*)pub struct (\w+) \{(.*?)\n\}", text, re.S):
        fields = re.findall(r"^\s*pub (\w+): ([^\n]+?),\s*$", m.group(3), re.M)
        structs[m.group(2)] = fields
    for m in re.finditer(r"((?:#\[[^\]]*\]\s*)*)pub enum (\w+) \{(.*?)\n\}", text, re.S):
        attrs, name, body = m.groups()
        variants = re.findall(r"^\s*(\w+),?\s*$", re.sub(r"///[^\n]*", "", body), re.M)
        rule = re.search(r'rename_all = "([\w-]+)"', attrs)

        def rename(v: str, rule=rule.group(1) if rule else None) -> str:
            words = re.findall(r"[A-Z][a-z0-9]*", v) or [v]
            if rule == "kebab-case":
                return "-".join(w.lower() for w in words)
            if rule == "snake_case":
                return "_".join(w.lower() for w in words)
            if rule == "lowercase":
                return v.lower()
            return v

        enums[name] = [rename(v) for v in variants]
    aliases = dict(re.findall(r'\("(\w+)", "([\w.]+)"\)', text.split("const ENV_ALIASES", 1)[1].split("];", 1)[0]))
    leaves: dict[str, str] = {}

    def walk(struct: str, prefix: str) -> None:
        for field, ty in structs.get(struct, []):
            inner = re.sub(r"^Option<(.*)>$", r"\1", ty.strip())
            path = f"{prefix}{field}"
            if inner in structs:
                walk(inner, path + ".")
            else:
                leaves[path] = inner

    walk("Config", "")
    return leaves, enums, aliases


LEAVES, ENUMS, ALIASES = config_schema()
if not LEAVES or "database.url" not in LEAVES or "http.ops_listen" not in LEAVES:
    err("could not read the configuration keys from crates/platform/src/config.rs")


def check_value(where: str, key: str, ty: str, value: str) -> None:
    v = value.strip()
    if ty in ENUMS:
        if v.strip('"') not in ENUMS[ty]:
            err(f"{where}: {key}={value}: must be one of {', '.join(ENUMS[ty])}")
    elif ty == "bool":
        if v not in ("true", "false"):
            err(f"{where}: {key}={value}: must be true or false")
    elif ty in ("u16", "u32", "u64", "usize", "i32", "i64"):
        if not re.fullmatch(r"-?\d+", v):
            err(f"{where}: {key}={value}: must be an integer")
    elif ty == "f64":
        if not re.fullmatch(r"-?\d+(\.\d+)?", v):
            err(f"{where}: {key}={value}: must be a number")
    elif ty == "SocketAddr":
        if not re.fullmatch(r"(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):\d{1,5}", v):
            err(f"{where}: {key}={value}: must be an address:port")
    elif ty.startswith("Vec<"):
        if not (v.startswith("[") and v.endswith("]")):
            err(f"{where}: {key}={value}: a list, written [\"a\", \"b\"]")


def check_env_key(where: str, key: str, value: str | None) -> None:
    if not key.startswith("LANERUNNER_"):
        return
    name = key[len("LANERUNNER_"):].lower()
    if name == "config" or name.startswith("test_"):
        return  # read by clap / the test harness, not configuration keys
    path = ALIASES.get(name, name.replace("__", "."))
    if path not in LEAVES:
        err(f"{where}: {key} is not a configuration key (it would be read as `{path}`; "
            "LaneRunner refuses unknown keys at start-up)")
        return
    if value is not None:
        check_value(where, key, LEAVES[path], value)


# Secrets never in plain configuration: config.env and backup.env become ConfigMaps, and a
# literal `value:` is readable by anyone who can read the manifests (checkov's secret
# scanner does not read .env files). Secret settings go in lanerunner-secrets' TOML file.
SECRET_LEAVES = {"password", "secret_key", "secret_access_key", "kms_secret_access_key",
                 "access_key_id", "kms_access_key_id", "auth_token", "api_key", "web_key",
                 "webhook_secrets", "smtp_url"}
SECRET_PATHS = {"database.url", "database.read_url", "database.direct_url", "bus.url", "cache.url", "tracking.mqtt.url"}
URL_CREDENTIALS = re.compile(r"://[^/@\s:]*:[^/@\s]+@")


def check_no_secret(where: str, key: str, value: str | None) -> None:
    name = key[len("LANERUNNER_"):].lower() if key.startswith("LANERUNNER_") else key.lower()
    path = ALIASES.get(name, name.replace("__", "."))
    secret_key = path in SECRET_PATHS or path.rsplit(".", 1)[-1] in SECRET_LEAVES
    if value and (secret_key or URL_CREDENTIALS.search(value)):
        err(f"{where}: {key} holds a secret in plain configuration; put it in the "
            "lanerunner-secrets TOML file (secret.example.yaml)")


for k, v in CONFIG_ENV.items():
    check_no_secret("deploy/kubernetes/config.env", k, v)
for k, v in BACKUP_ENV.items():
    check_no_secret("deploy/kubernetes/backup.env", k, v)
for path, doc in MANIFESTS:
    spec = pod_spec(doc)
    for c in (spec or {}).get("containers", []) + (spec or {}).get("initContainers", []):
        for e in c.get("env", []):
            check_no_secret(f"{rel(path)} {doc['kind']}/{doc['metadata']['name']}", e["name"], e.get("value"))

for k, v in CONFIG_ENV.items():
    check_env_key("deploy/kubernetes/config.env", k, v)
for k, v in BACKUP_ENV.items():
    check_env_key("deploy/kubernetes/backup.env", k, v)
    if not k.startswith("LANERUNNER_BACKUP__"):
        err(f"deploy/kubernetes/backup.env: {k}: only backup.* settings belong here")
for k in CONFIG_ENV:
    if k.startswith("LANERUNNER_BACKUP__"):
        err(f"deploy/kubernetes/config.env: {k}: backup.* settings go in backup.env "
            "(every pod of an older image would refuse them)")

for path, doc in MANIFESTS:
    spec = pod_spec(doc)
    if not spec:
        continue
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        for e in c.get("env", []):
            check_env_key(f"{rel(path)} {doc['kind']}/{doc['metadata']['name']}", e["name"], e.get("value"))


def check_toml_keys(where: str, table: dict, prefix: str = "") -> None:
    for k, v in table.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            check_toml_keys(where, v, path + ".")
        elif path not in LEAVES:
            err(f"{where}: `{path}` is not a configuration key")


for path, doc in MANIFESTS:
    if doc.get("kind") == "Secret" and "secrets.toml" in doc.get("stringData", {}):
        try:
            check_toml_keys(f"{rel(path)} secrets.toml", tomllib.loads(doc["stringData"]["secrets.toml"]))
        except tomllib.TOMLDecodeError as e:
            err(f"{rel(path)}: secrets.toml is not TOML: {e}")


# ---------------------------------------------------------------------------------------
# Services and groups, from registry.rs
# ---------------------------------------------------------------------------------------
def services_from_source():
    crate_service: dict[str, str] = {}
    dir_service: dict[str, str] = {}
    for lib in sorted((SOURCE / "crates/services").glob("*/src/lib.rs")):
        m = re.search(r'pub const SERVICE: &str = "(\w+)";', lib.read_text())
        if not m:
            continue
        cargo = (lib.parent.parent / "Cargo.toml").read_text()
        pkg = re.search(r'^name = "([\w-]+)"', cargo, re.M).group(1).replace("-", "_")
        crate_service[pkg] = m.group(1)
        dir_service[lib.parent.parent.name] = m.group(1)
    registry = (SOURCE / "crates/lanerunner/src/registry.rs").read_text()
    body = registry.split("pub const SERVICES: &[ServiceSpec] = &[", 1)[1].split("\n];", 1)[0]
    blocks = re.split(r"\n    (?=ServiceSpec \{|service!\()", body)
    registered, requires, optional = [], {}, {}
    for block in blocks:
        m = re.search(r"(lanerunner_\w+)::(?:SERVICE|\w+Service\))", block)
        if not m:
            continue
        svc = crate_service.get(m.group(1))
        if not svc:
            err(f"registry.rs: cannot tell which service {m.group(1)} is")
            continue
        registered.append(svc)
        for peer in re.findall(r"peers\s*\.get::<(lanerunner_\w+)::", block):
            peer_svc = crate_service.get(peer, peer)
            if "run them together" in block:
                requires.setdefault(svc, set()).add(peer_svc)
            else:
                optional.setdefault(svc, set()).add(peer_svc)
    return registered, requires, optional, dir_service


REGISTERED, REQUIRES, OPTIONAL, DIR_SERVICE = services_from_source()
if len(REGISTERED) < 10:
    err(f"registry.rs: found only {len(REGISTERED)} services; the parser needs updating")

GROUPS: dict[str, dict] = {}  # Deployment name -> {services, labels, doc, path}
for path, doc in applied("Deployment"):
    spec = pod_spec(doc)
    for c in spec["containers"]:
        args = c.get("args", [])
        if args[:1] != ["serve"]:
            err(f"{rel(path)}: {doc['metadata']['name']}: the container does not run `serve`")
            continue
        if "--services" not in args:
            err(f"{rel(path)}: {doc['metadata']['name']}: no --services (it would run every service)")
            continue
        services = args[args.index("--services") + 1].split(",")
        GROUPS[doc["metadata"]["name"]] = {
            "services": services, "labels": pod_labels(doc), "doc": doc, "path": path, "container": c}

seen: dict[str, str] = {}
for name, g in GROUPS.items():
    where = f"{rel(g['path'])} {name}"
    for s in g["services"]:
        if s not in REGISTERED:
            err(f"{where}: unknown service {s!r} (registry.rs has {', '.join(REGISTERED)})")
        if len(set(g["services"])) != len(g["services"]):
            err(f"{where}: a service is listed twice")
    if g["labels"].get("lanerunner.dev/serves-api") == "true" and "identity" not in g["services"]:
        err(f"{where}: serves the API without identity: every signed-in call would be 503 "
            "(a process authenticates only with identity in it)")
    for s in g["services"]:
        for needed in REQUIRES.get(s, ()):
            if needed not in g["services"]:
                err(f"{where}: {s} needs {needed} in the same process (registry.rs refuses to start it)")
        for wanted in OPTIONAL.get(s, ()):
            if wanted not in g["services"]:
                notes.append(f"{name}: {s} runs without {wanted} (optional in registry.rs)")
        if s != "identity":
            if s in seen:
                err(f"{where}: {s} also runs in {seen[s]}: each service belongs to one group")
            seen[s] = name
for s in REGISTERED:
    if s != "identity" and s not in seen:
        err(f"no group runs the {s} service")


# ---------------------------------------------------------------------------------------
# Routing: every declared route reaches a group that runs its service
# ---------------------------------------------------------------------------------------
SERVICES_BY_NAME = {d["metadata"]["name"]: d for _, d in applied("Service")}


def group_of_service(service_name: str) -> str | None:
    svc = SERVICES_BY_NAME.get(service_name)
    if not svc:
        return None
    for name, g in GROUPS.items():
        if selects(svc["spec"]["selector"], g["labels"]):
            return name
    return None


INGRESS_PATHS = []  # (path, pathType, backend service, regex?)
for path, doc in applied("Ingress"):
    annotations = doc["metadata"].get("annotations", {})
    use_regex = annotations.get("nginx.ingress.kubernetes.io/use-regex") == "true"
    for rule in doc["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            backend = p["backend"]["service"]["name"]
            if backend not in SERVICES_BY_NAME:
                err(f"{rel(path)}: path {p['path']} goes to {backend}, which is not a Service here")
            INGRESS_PATHS.append((p["path"], p["pathType"], backend, use_regex))


def route_nginx(url: str) -> str | None:
    """ingress-nginx with use-regex: exact locations first, then regex locations, the
    longest path first, each matching from the start, case-insensitively."""
    for p, t, b, _ in INGRESS_PATHS:
        if t == "Exact" and url == p:
            return b
    for p, t, b, _ in sorted(INGRESS_PATHS, key=lambda x: -len(x[0])):
        if t != "Exact" and re.match(p, url, re.I):
            return b
    return None


def route_spec(url: str) -> str | None:
    """The Ingress specification: Exact, then the longest Prefix matched element-wise;
    ImplementationSpecific paths read as regular expressions (the only reading here)."""
    best, best_len = None, -1
    for p, t, b, _ in INGRESS_PATHS:
        if t == "Exact" and url == p:
            return b
    for p, t, b, _ in INGRESS_PATHS:
        if t == "Prefix":
            ok = url == p or url.startswith(p.rstrip("/") + "/") or p == "/"
            length = len(p)
        elif t == "ImplementationSpecific":
            ok = re.match(p + r"(/|$)", url) is not None
            length = len(p)
        else:
            continue
        if ok and length > best_len:
            best, best_len = b, length
    return best


def sample(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


route_count = 0
for crate_dir, service in sorted(DIR_SERVICE.items()):
    for rs in sorted((SOURCE / "crates/services" / crate_dir / "src").rglob("*.rs")):
        for m in re.finditer(r'path = "(/v1/[^"]*)"', rs.read_text()):
            route_count += 1
            url = sample(m.group(1))
            a, b = route_nginx(url), route_spec(url)
            if a != b:
                err(f"ingress: {m.group(1)} ({service}) goes to {a} by ingress-nginx's rules but to {b} by the Ingress specification")
            group = group_of_service(a) if a else None
            if not group:
                err(f"ingress: {m.group(1)} ({service}) is not routed to any group")
            elif service not in GROUPS[group]["services"]:
                err(f"ingress: {m.group(1)} is a route of {service} but goes to {group}, "
                    f"which runs {','.join(GROUPS[group]['services'])}")
if route_count < 100:
    err(f"found only {route_count} API routes in crates/services; the parser needs updating")

for url in ("/", "/console/app.js", "/docs", "/v1/openapi.json"):
    b = route_nginx(url)
    g = group_of_service(b) if b else None
    env = {e["name"]: e.get("value") for e in GROUPS[g]["container"].get("env", [])} if g else {}
    if not g or env.get("LANERUNNER_HTTP__CONSOLE") != "true" or env.get("LANERUNNER_HTTP__PUBLIC_DOCS") != "true":
        err(f"ingress: {url} must reach the group that serves the console and the docs")
for url in ("/healthz", "/readyz", "/metrics"):
    if route_nginx(url) or route_spec(url):
        err(f"ingress: {url} is routed; probes and metrics stay private")


# ---------------------------------------------------------------------------------------
# Pods
# ---------------------------------------------------------------------------------------
def port_of(addr: str) -> int:
    return int(addr.rsplit(":", 1)[1])


LISTEN = port_of(CONFIG_ENV.get("LANERUNNER_LISTEN", "127.0.0.1:8080"))
OPS = CONFIG_ENV.get("LANERUNNER_HTTP__OPS_LISTEN")
GRACE_S = int(CONFIG_ENV.get("LANERUNNER_HTTP__SHUTDOWN_GRACE_MS", "20000")) / 1000
if not OPS:
    err("config.env: LANERUNNER_HTTP__OPS_LISTEN is not set: /metrics would be on the public API port")
OPS = port_of(OPS) if OPS else 9090

for path, doc in MANIFESTS:
    spec = pod_spec(doc)
    if spec is None:
        continue
    where = f"{rel(path)} {doc['kind']}/{doc['metadata']['name']}"
    runs_lanerunner = any(
        c.get("image", "").startswith(APP_IMAGE) and c.get("command") is None or
        "lanerunner" in " ".join(c.get("command", []))
        for c in spec.get("containers", []))
    if not runs_lanerunner:
        continue
    if spec.get("enableServiceLinks") is not False:
        err(f"{where}: enableServiceLinks must be false: Kubernetes' <SERVICE>_SERVICE_HOST "
            "variables of Services named lanerunner-* are LANERUNNER_* names, which LaneRunner "
            "refuses as unknown configuration keys")
    if spec.get("automountServiceAccountToken") is not False:
        err(f"{where}: automountServiceAccountToken must be false (LaneRunner never calls the API)")
    mounts_by_container = {}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for c in spec["containers"]:
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        mounts_by_container[c["name"]] = mounts
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        conf = env.get("LANERUNNER_CONFIG")
        if conf:
            d = str(Path(conf).parent)
            vol = volumes.get(mounts.get(d, ""), {})
            if vol.get("secret", {}).get("secretName") != "lanerunner-secrets":
                err(f"{where}: LANERUNNER_CONFIG={conf} but {d} is not the lanerunner-secrets volume")
        data_dir = CONFIG_ENV.get("LANERUNNER_DATA_DIR")
        if data_dir and data_dir not in mounts:
            err(f"{where}: the data directory {data_dir} is not a mounted volume (read-only root)")
        keyring = CONFIG_ENV.get("LANERUNNER_STORAGE__KEYRING_FILE")
        if doc["kind"] in ("Deployment", "CronJob") and keyring:
            d = str(Path(keyring).parent)
            vol = volumes.get(mounts.get(d, ""), {})
            if vol.get("secret", {}).get("secretName") != "lanerunner-keyring":
                err(f"{where}: storage.keyring_file {keyring} is not on the lanerunner-keyring volume "
                    "(each pod would make a keyring of its own)")
    if doc["kind"] != "Deployment":
        continue
    c = spec["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    if ports.get("http") != LISTEN or ports.get("ops") != OPS:
        err(f"{where}: container ports http={ports.get('http')} ops={ports.get('ops')}, "
            f"but config.env listens on {LISTEN} and {OPS}")
    for probe, want in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        p = c.get(probe, {}).get("httpGet", {})
        if p.get("path") != want or p.get("port") not in ("ops", OPS):
            err(f"{where}: {probe} must be GET {want} on the operations port")
    sleep = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    if not sleep:
        err(f"{where}: no preStop sleep: the endpoint removal races SIGTERM")
    tgp = spec.get("terminationGracePeriodSeconds", 30)
    if tgp < sleep + GRACE_S + 5:
        err(f"{where}: terminationGracePeriodSeconds {tgp} < preStop {sleep} s + "
            f"http.shutdown_grace_ms {GRACE_S:g} s + 5 s")


# ---------------------------------------------------------------------------------------
# Wiring
# ---------------------------------------------------------------------------------------
DEPLOYMENTS = {d["metadata"]["name"]: d for _, d in applied("Deployment")}
for path, svc in applied("Service"):
    if not any(selects(svc["spec"]["selector"], pod_labels(d)) for d in DEPLOYMENTS.values()):
        err(f"{rel(path)}: Service {svc['metadata']['name']} selects no Deployment's pods")
HPA_TARGETS = set()
for path, hpa in applied("HorizontalPodAutoscaler"):
    target = hpa["spec"]["scaleTargetRef"]["name"]
    HPA_TARGETS.add(target)
    if target not in DEPLOYMENTS:
        err(f"{rel(path)}: HPA {hpa['metadata']['name']} scales {target}, which does not exist")
    elif "replicas" in DEPLOYMENTS[target]["spec"]:
        err(f"{rel(path)}: {target} sets spec.replicas and has an HPA: every apply would reset the scale")
for name, d in DEPLOYMENTS.items():
    if name not in HPA_TARGETS and "replicas" not in d["spec"]:
        err(f"{name}: no HPA and no spec.replicas: it would run one pod")
pdb_covered = set()
for path, pdb in applied("PodDisruptionBudget"):
    sel = pdb["spec"]["selector"]["matchLabels"]
    hits = [n for n, d in DEPLOYMENTS.items() if selects(sel, pod_labels(d))]
    if not hits:
        err(f"{rel(path)}: PDB {pdb['metadata']['name']} selects no pods")
    pdb_covered.update(hits)
for name in DEPLOYMENTS:
    if name not in pdb_covered:
        err(f"{name}: no PodDisruptionBudget")

# NetworkPolicy: the API port open to the ingress controller, the ops port to Prometheus.
open_ports = {}
for path, np in applied("NetworkPolicy"):
    for rule in np["spec"].get("ingress", []):
        for p in rule.get("ports", []):
            open_ports.setdefault(p.get("port"), []).append(np["spec"]["podSelector"].get("matchLabels", {}))
for name, d in DEPLOYMENTS.items():
    labels = pod_labels(d)
    for port in (LISTEN, OPS):
        if not any(selects(sel, labels) for sel in open_ports.get(port, [])):
            err(f"{name}: no NetworkPolicy lets traffic in on port {port}")

# The backup job's pg_dump comes from the cluster's image.
cluster_images = [d["spec"].get("imageName") for p, d in MANIFESTS if d.get("kind") == "Cluster"]
for path, cj in [(p, d) for p, d in MANIFESTS if d.get("kind") == "CronJob"]:
    for c in pod_spec(cj)["containers"]:
        if "backup" in c.get("args", []) and c.get("image") not in cluster_images:
            err(f"{rel(path)}: the backup container's image {c.get('image')} is not the cluster's "
                f"imageName {cluster_images}: pg_dump must match the server's major version")

# The release deploys by digest.
deploy_wf = (DEPLOY / ".github/workflows/deploy.yml").read_text()
if not re.search(r'kustomize edit set image "?' + re.escape(APP_IMAGE) + r'=\$\{IMAGE\}@\$\{DIGEST\}', deploy_wf):
    err(".github/workflows/deploy.yml: the image is not set by digest with `kustomize edit set image`")
kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
if APP_IMAGE not in [i.get("name") for i in kust.get("images", [])]:
    err(f"deploy/kubernetes/kustomization.yaml: no images entry for {APP_IMAGE}")

# LaneRunner reaches PostgreSQL through the PgBouncers (postgres/pooler.yaml, transaction
# mode) only when it is told so (database.pooling = "transaction"), and reaches PostgreSQL
# itself for migrations and backups (database.direct_url): docs/operations.md, "PgBouncer".
THROUGH_POOLER = re.compile(r"pooler|:6432/")
pooling = CONFIG_ENV.get("LANERUNNER_DATABASE_POOLING", CONFIG_ENV.get("LANERUNNER_DATABASE__POOLING", "session"))
for _, d in MANIFESTS:
    if d.get("kind") == "Secret" and "secrets.toml" in d.get("stringData", {}):
        try:
            db = tomllib.loads(d["stringData"]["secrets.toml"]).get("database", {})
        except tomllib.TOMLDecodeError:
            continue
        pooled = [k for k in ("url", "read_url") if THROUGH_POOLER.search(db.get(k, ""))]
        if pooled and pooling != "transaction":
            err(f"secret.example.yaml: database.{pooled[0]} points LaneRunner at PgBouncer, but "
                f"config.env's database.pooling is {pooling!r}: set LANERUNNER_DATABASE_POOLING=transaction")
        if pooling == "transaction" and not db.get("direct_url"):
            err("secret.example.yaml: database.pooling is transaction but database.direct_url is "
                "not set (migrations and backups need PostgreSQL itself)")
        if THROUGH_POOLER.search(db.get("direct_url", "")):
            err("secret.example.yaml: database.direct_url points at PgBouncer; it must name "
                "PostgreSQL itself (lanerunner-pg-rw)")
        if pooled and (K8S / "postgres" / "pooler.yaml").resolve() not in APPLIED_PG:
            err("secret.example.yaml points LaneRunner at PgBouncer, but "
                "postgres/kustomization.yaml does not apply pooler.yaml")


# ---------------------------------------------------------------------------------------
# Custom resources
# ---------------------------------------------------------------------------------------
customs = [(p, d) for p, d in MANIFESTS if (d.get("apiVersion"), d.get("kind")) in CUSTOM_KINDS]
by_kind: dict[str, list[dict]] = {}
for p, d in customs:
    by_kind.setdefault(d["kind"], []).append(d)
    if not d.get("metadata", {}).get("name") or not d.get("metadata", {}).get("namespace"):
        err(f"{rel(p)}: {d['kind']} needs metadata.name and metadata.namespace")
for p, d in MANIFESTS:
    api, kind = d.get("apiVersion", ""), d.get("kind", "")
    if "." in api.split("/")[0] and not api.startswith(("apps/", "batch/", "networking.k8s.io/", "policy/", "autoscaling/", "rbac.authorization.k8s.io/")) \
            and (api, kind) not in CUSTOM_KINDS:
        err(f"{rel(p)}: {api} {kind} is neither a Kubernetes kind nor a known custom resource")

clusters = by_kind.get("Cluster", [])
stores = {d["metadata"]["name"] for d in by_kind.get("ObjectStore", [])}
if len(clusters) != 1:
    err(f"postgres: expected one CloudNativePG Cluster, found {len(clusters)}")
for c in clusters:
    s = c["spec"]
    if s.get("instances") != 3:
        err("postgres/cluster.yaml: instances must be 3 (a primary and two replicas)")
    if not s.get("postgresql", {}).get("synchronous"):
        err("postgres/cluster.yaml: synchronous replication is off (docs promise no loss on failover)")
    archivers = [pl for pl in s.get("plugins", []) if pl.get("isWALArchiver")]
    if not archivers or archivers[0].get("parameters", {}).get("barmanObjectName") not in stores:
        err("postgres/cluster.yaml: WAL archiving must go to an ObjectStore defined in postgres/")
    for sb in by_kind.get("ScheduledBackup", []):
        if sb["spec"]["cluster"]["name"] != c["metadata"]["name"] or sb["spec"].get("method") != "plugin":
            err("postgres/scheduled-backup.yaml: must back up the Cluster through the Barman Cloud plugin")
    if not by_kind.get("ScheduledBackup"):
        err("postgres: no ScheduledBackup")
    for pooler in by_kind.get("Pooler", []):
        if pooler["spec"]["cluster"]["name"] != c["metadata"]["name"]:
            err("postgres/pooler.yaml: pools another cluster")
        if pooler["spec"]["pgbouncer"].get("poolMode") != "transaction":
            err("postgres/pooler.yaml: poolMode is not transaction")
    if f"cnpg.io/cluster" not in yaml.safe_dump([d for _, d in applied("NetworkPolicy")]):
        err("networkpolicies.yaml: LaneRunner's pods may not reach PostgreSQL")
for pm in by_kind.get("PodMonitor", []):
    sel = pm["spec"]["selector"]["matchLabels"]
    if pm["metadata"]["name"] == "lanerunner":
        if not all(selects(sel, pod_labels(d)) for d in DEPLOYMENTS.values()):
            err("monitoring/podmonitors.yaml: the lanerunner PodMonitor misses some groups' pods")
        ports = {ep["port"] for ep in pm["spec"]["podMetricsEndpoints"]}
        if "ops" not in ports:
            err("monitoring/podmonitors.yaml: LaneRunner's metrics are on the `ops` port")

# prometheus-adapter defines the metric the HPAs scale on.
adapter = [d for p, d in MANIFESTS if d.get("kind") == "ConfigMap" and d["metadata"]["name"] == "adapter-config"]
hpa_metrics = {m["pods"]["metric"]["name"] for _, h in applied("HorizontalPodAutoscaler")
               for m in h["spec"]["metrics"] if m["type"] == "Pods"}
adapter_metrics = set()
for a in adapter:
    for rule in yaml.safe_load(a["data"]["config.yaml"]).get("rules", []):
        adapter_metrics.add(rule.get("name", {}).get("as"))
for m in hpa_metrics - adapter_metrics:
    err(f"HPAs scale on {m}, which monitoring/prometheus-adapter-rules.yaml does not define")

# Optionally, the custom resources against their CRDs' schemas.
crd_dir = os.environ.get("LANERUNNER_CRD_DIR")
if crd_dir:
    import jsonschema

    def strict(s):
        if isinstance(s, dict):
            if s.get("type") == "object" and "properties" in s and "additionalProperties" not in s \
                    and not s.get("x-kubernetes-preserve-unknown-fields"):
                s["additionalProperties"] = False
            for v in s.values():
                strict(v)
        elif isinstance(s, list):
            for v in s:
                strict(v)

    schemas = {}
    for f in Path(crd_dir).glob("*.y*ml"):
        for crd in yaml.safe_load_all(f.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            for v in crd["spec"]["versions"]:
                schema = v["schema"]["openAPIV3Schema"]
                strict(schema)
                schemas[(f"{crd['spec']['group']}/{v['name']}", crd["spec"]["names"]["kind"])] = schema
    for p, d in customs:
        schema = schemas.get((d["apiVersion"], d["kind"]))
        if schema is None:
            notes.append(f"{rel(p)}: no CRD for {d['apiVersion']} {d['kind']} in {crd_dir}: shape checks only")
            continue
        for e in jsonschema.Draft7Validator(schema).iter_errors(d):
            if list(e.absolute_path)[:1] != ["metadata"]:
                err(f"{rel(p)}: {d['kind']}/{d['metadata']['name']} {'.'.join(map(str, e.absolute_path))}: {e.message}")
        notes.append(f"{rel(p)}: {d['kind']}/{d['metadata']['name']} validated against its CRD")


for n in notes:
    print(f"note: {n}")
if errors:
    for e in errors:
        print(f"policy: {e}", file=sys.stderr)
    print(f"{len(errors)} policy violation(s)", file=sys.stderr)
    sys.exit(1)
print(f"policy: {len(GROUPS)} groups, {len(REGISTERED)} services, {route_count} API routes, "
      f"{len(LEAVES)} configuration keys, {len(customs)} custom resources: all rules hold")
