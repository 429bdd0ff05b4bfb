"""Load through the balancer while instances die: what clients see.

Threads loop over a mix of idempotent searches (GET /v1/loads/search) and load creations
(POST /v1/loads with an Idempotency-Key). A client retries an answer it cannot trust (a
connection error, 502, 503, 504) with the same key, up to 5 times, as a real integration
should; every first answer and every final one is recorded with its phase, so the report
shows both what the balancer let through and what a retrying client ends up with.
A first or final answer that is neither 2xx nor retryable is also kept with its problem+json
(`type`, `detail`), its key and every attempt's status, so a refusal can be traced to the
rule that made it and to the instances' and the balancer's logs.
Phases are read from a file the driver script writes ("steady", "sigterm", "kill", ...).

    python3 loadgen.py BASE_URL SECONDS THREADS PHASE_FILE OUT_JSON
"""

import http.client
import json
import sys
import threading
import time
import uuid
from urllib.parse import urlparse

base, seconds, threads, phase_file, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
u = urlparse(base)
RETRYABLE = {502, 503, 504}


def conn():
    return http.client.HTTPConnection(u.hostname, u.port, timeout=10)


def request(c, method, path, body=None, headers=None):
    h = {"content-type": "application/json"} if body is not None else {}
    h.update(headers or {})
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    data = r.read()
    return r.status, data


def phase():
    try:
        with open(phase_file) as f:
            return f.read().strip() or "steady"
    except OSError:
        return "steady"


def signup():
    c = conn()
    legal = json.loads(request(c, "GET", "/v1/legal")[1])
    email = f"failover-{uuid.uuid4().hex[:8]}@bench.example"
    body = {"organization": {"name": "Failover brokerage", "kind": "broker"}, "name": "Pat",
            "email": email, "password": "failover passphrase 7", "terms_version": legal["terms_version"]}
    status, data = request(c, "POST", "/v1/auth/signup", body)
    assert status == 201, (status, data)
    return json.loads(data)["tokens"]["access_token"]


def load(ref):
    day = time.gmtime(time.time() + 3 * 86400)
    d = time.strftime("%Y-%m-%d", day)
    d2 = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 5 * 86400))
    return {"reference": ref,
            "stops": [{"kind": "pickup", "location": {"place": "Dallas, TX"}, "window": {"start": f"{d}T08:00:00", "end": f"{d}T14:00:00"}},
                      {"kind": "delivery", "location": {"place": "Atlanta, GA"}, "appointment": f"{d2}T09:00:00"}],
            "equipment": "V", "trailer_length_ft": 53, "weight_lbs": 40000, "commodity": "paper",
            "rate": {"kind": "all_in", "amount_cents": 250000}, "max_rate_cents": 300000}


records = []  # (phase, kind, first_status, final_status, attempts, seconds)
created = {}  # idempotency key -> load id (final 201s)
refusals = []  # first or final answers neither 2xx nor retryable, with their problem+json
lock = threading.Lock()


def problem(status, data):
    """The problem+json's type and detail, or the start of whatever else the body was."""
    try:
        p = json.loads(data)
        return {"status": status, "type": p.get("type"), "detail": p.get("detail")}
    except (ValueError, AttributeError):
        return {"status": status, "type": None, "detail": data[:200].decode("utf-8", "replace")}


def worker(token, n, deadline):
    c = conn()
    auth = {"authorization": f"Bearer {token}"}
    i = 0
    while time.time() < deadline:
        i += 1
        write = i % 4 == 0
        key = str(uuid.uuid4())
        if write:
            method, path, body, headers = "POST", "/v1/loads", load(f"F-{n}-{i}"), {**auth, "idempotency-key": key}
        else:
            method, path, body, headers = "GET", "/v1/loads/search?origin=Dallas,%20TX&limit=20", None, auth
        p = phase()
        started = time.time()
        first = final = None
        first_problem = None
        statuses = []
        attempts = 0
        data = b""
        while attempts < 5:
            attempts += 1
            try:
                status, data = request(c, method, path, body, headers)
            except (OSError, http.client.HTTPException):
                status = 0  # connection refused, reset or closed before an answer
                c.close()
                c = conn()
            statuses.append(status)
            refused = status != 0 and status not in RETRYABLE and not 200 <= status < 300
            if first is None:
                first = status
                first_problem = problem(status, data) if refused else None
            final = status
            if status not in RETRYABLE and status != 0:
                break
            time.sleep(0.05 * attempts)
        elapsed = time.time() - started
        with lock:
            records.append((p, "POST" if write else "GET", first, final, attempts, elapsed))
            if write and final == 201:
                created[key] = json.loads(data)["id"]
            final_refused = final != 0 and final not in RETRYABLE and not 200 <= final < 300
            if first_problem or final_refused:
                refusals.append({"phase": p, "method": method, "key": key if write else None,
                                 "reference": body["reference"] if write else None,
                                 "at": started, "statuses": statuses, "first": first_problem,
                                 "final": problem(final, data) if final_refused else None})


token = signup()
deadline = time.time() + seconds
ts = [threading.Thread(target=worker, args=(token, n, deadline)) for n in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
json.dump({"records": records, "created": created, "refusals": refusals}, open(out, "w"))
