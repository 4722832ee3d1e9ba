#!/usr/bin/env bash
# hubspot_webhooks.sh -- the mock CRM's webhooks in HubSpot's format: an
# app's settings (PUT /webhooks/v3/{appId}/settings, hapikey) subscribe a
# receiver; every change arrives as HubSpot events (batches of at most
# 100; subscriptionType, eventId, subscriptionId, portalId, occurredAt,
# attemptNumber, objectId; merges with primaryObjectId/mergedObjectIds)
# signed with X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp. A
# 500 is retried with the next attemptNumber. Every event maps back to
# the /v1 change of the same seq (eventId), record and field value.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
DIR=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
# The script starts the CRM itself once its receiver is up, and subscribes
# at once: the CRM serves its 700 changes (2 s at 350/s) from its start, so
# a subscription made late (a slow interpreter start on a busy machine)
# would see few of them or none.
python3 - "$BIN" "$DIR" <<'PY'
import atexit, base64, hashlib, hmac, http.server, json, re, subprocess, sys, threading, time
import urllib.request, urllib.error
SECRET = "app-client-secret"
failed = 0
def check(what, ok):
    global failed
    print(("ok: " if ok else "FAIL: ") + what)
    failed += 0 if ok else 1
posts = []
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        posts.append((dict(self.headers), body))
        self.send_response(500 if len(posts) == 1 else 204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{srv.server_port}/hubspot/hook"
out = open(sys.argv[2] + "/crm.out", "w+")
proc = subprocess.Popen([sys.argv[1], "crm", "--seed", "5", "--accounts", "20",
                         "--changes", "700", "--rate", "350"],
                        stdout=out, stderr=subprocess.STDOUT)
atexit.register(proc.kill)
def crm_url():
    for _ in range(50):
        m = re.search(r"http://127\.0\.0\.1:[0-9]+", open(out.name).read())
        if m:
            return m.group(0)
        time.sleep(0.1)
    return None
crm = crm_url()
if not crm:
    print("FAIL: the CRM did not start"); print(open(out.name).read())
    proc.kill(); sys.exit(1)
def call(method, u, body=None):
    r = urllib.request.Request(u, data=json.dumps(body).encode() if body is not None else None,
                               method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
S = crm + "/webhooks/v3/4242/settings"
st, b = call("PUT", S, {"targetUrl": url, "clientSecret": SECRET})
check(f"PUT settings without hapikey: 401 ({st})", st == 401 and json.loads(b)["category"] == "INVALID_AUTHENTICATION")
st, b = call("PUT", S + "?hapikey=dev-key", {"targetUrl": url})
check(f"PUT settings without clientSecret: 400 VALIDATION_ERROR ({st})", st == 400 and json.loads(b)["category"] == "VALIDATION_ERROR")
st, b = call("PUT", S + "?hapikey=dev-key", {"targetUrl": url, "clientSecret": SECRET,
             "throttling": {"maxConcurrentRequests": 10, "period": "SECONDLY"}})
check(f"PUT settings: 200 with targetUrl ({st})", st == 200 and json.loads(b)["targetUrl"] == url)
# 700 changes at 350/s, plus the retry's backoff: until no POST came for
# 1.5 s after the last change's commit time (at most 30 s).
t0, n, last = time.monotonic(), -1, time.monotonic()
while time.monotonic() - t0 < 30:
    if len(posts) != n:
        n, last = len(posts), time.monotonic()
    elif time.monotonic() - t0 > 2.5 and time.monotonic() - last > 1.5:
        break
    time.sleep(0.1)
hs = [json.loads(b) for _, b in posts]
check(f"{len(posts)} POSTs, each a JSON array of 1..100 events",
      len(posts) > 2 and all(isinstance(a, list) and 1 <= len(a) <= 100 for a in hs))
sig_ok = True
for h, b in posts:
    ts = h.get("X-HubSpot-Request-Timestamp", "")
    mac = hmac.new(SECRET.encode(), b"POST" + url.encode() + b + ts.encode(), hashlib.sha256)
    sig_ok &= base64.b64encode(mac.digest()).decode() == h.get("X-HubSpot-Signature-v3") \
        and "X-Crmsync-Attempt" not in h and "X-Crmsync-Signature-v3" not in h
check("every POST signed: X-HubSpot-Signature-v3 = base64 HMAC-SHA256(secret, POST+url+body+timestamp)", sig_ok)
first = hs[0]
again = [a for a in hs[1:] if a and a[0]["eventId"] == first[0]["eventId"]]
check("the batch answered 500 comes again with attemptNumber 1",
      all(e["attemptNumber"] == 0 for e in first) and again and all(e["attemptNumber"] == 1 for e in again[0]))
evs = [e for a in hs for e in a]
need = {"eventId", "subscriptionId", "portalId", "appId", "occurredAt", "subscriptionType", "attemptNumber", "objectId"}
check("every event has " + ", ".join(sorted(need)) + " (appId 4242)",
      all(need <= e.keys() and e["appId"] == 4242 for e in evs))
types = {e["subscriptionType"] for e in evs}
check(f"subscription types {sorted(types)} include contact.propertyChange, contact.creation, company.merge",
      {"contact.propertyChange", "contact.creation", "company.merge"} <= types)
merges = [e for e in evs if e["subscriptionType"] == "company.merge"]
check("a merge carries primaryObjectId and mergedObjectIds",
      merges and all(e["primaryObjectId"] == e["objectId"] and e["mergedObjectIds"] for e in merges))
# The ground truth of every eventId: /v1/changes in commit order.
truth, cur = {}, ""
for _ in range(100):
    st, b = call("GET", crm + "/v1/changes?limit=1000" + (f"&cursor={cur}" if cur else ""))
    page = json.loads(b)
    for ev in page["events"]:
        truth[ev["seq"]] = ev
    cur = page["next_cursor"]
    if not page["has_more"]: break
ent = {"company": "account", "contact": "contact", "deal": "opportunity", "object": "entitlement"}
prop = {"firstname": "first_name", "lastname": "last_name", "jobtitle": "title",
        "hubspot_owner_id": "owner", "annualrevenue": "annual_revenue",
        "dealname": "name", "dealstage": "stage"}
bad = []
for e in evs:
    t = truth.get(e["eventId"])
    kind = e["subscriptionType"].split(".")
    if not t or ent.get(kind[0]) != t["entity"] or int(t["record_id"].split("-")[1]) != e["objectId"] \
            or e["occurredAt"] != t["commit_ts_ms"]:
        bad.append(e); continue
    if kind[1] == "propertyChange":
        f = prop.get(e["propertyName"], e["propertyName"])
        v = t["fields"].get(f)
        if json.dumps(v).strip('"') != e["propertyValue"] and str(v).lower() != e["propertyValue"]:
            bad.append(e)
check(f"every event maps to the /v1 change of its eventId (seq): entity, record, time, value ({len(bad)} do not: {bad[:1]})",
      not bad and evs)
st, _ = call("DELETE", S + "?hapikey=dev-key")
check(f"DELETE settings: 204 ({st})", st == 204)
sys.exit(1 if failed else 0)
PY
exit $?
