#!/usr/bin/env bash
# salesforce_cdc.sh -- Change Data Capture over CometD/Bayeux in the mock
# CRM's Salesforce dialect: handshake, subscribe to /data/ChangeEvents with
# replay -2 (all retained), -1 (new only) or a replayId, long-polling
# connect, ChangeEventHeader (entityName, recordIds, changeType,
# changedFields, transactionKey, sequenceNumber, commitTimestamp,
# commitNumber = the change's seq, commitUser), per-object channels, an
# unknown client (403), no session (401), and a replayId older than the
# retention window rejected as Salesforce rejects it.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
DIR=$(mktemp -d /tmp/crmsync-test.XXXXXX)
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; rm -rf "$DIR"' EXIT
start_crm CRM "$DIR/crm.out" --seed 9 --accounts 20 --changes 600 --rate 400 || exit 1
python3 - "$CRM" <<'PY'
import json, sys, time, urllib.request, urllib.error
crm = sys.argv[1]
failed = 0
def check(what, ok):
    global failed
    print(("ok: " if ok else "FAIL: ") + what)
    failed += 0 if ok else 1
def post(path, body, tok=None, ctype="application/json"):
    h = {"Content-Type": ctype}
    if tok: h["Authorization"] = "OAuth " + tok
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = urllib.request.Request(crm + path, data=data, headers=h, method="POST")
    try:
        with urllib.request.urlopen(r, timeout=20) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
st, b = post("/services/oauth2/token", b"grant_type=password&username=u&password=p", ctype="application/x-www-form-urlencoded")
tok = b["access_token"]
C = "/cometd/59.0"
st, b = post(C, [{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}])
check(f"handshake without a session: 401 INVALID_SESSION_ID ({st})", st == 401)
def handshake():
    st, b = post(C, [{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"], "id": "1"}], tok)
    return st, b, b[0].get("clientId")
st, b, cid = handshake()
check("handshake: successful, clientId, long-polling, replay ext",
      st == 200 and b[0]["successful"] and cid and b[0]["supportedConnectionTypes"] == ["long-polling"] and b[0]["ext"]["replay"])
st, b = post(C, [{"channel": "/meta/subscribe", "clientId": cid, "subscription": "/data/ChangeEvents",
                  "ext": {"replay": {"/data/ChangeEvents": -2}}, "id": "2"}], tok)
check("subscribe /data/ChangeEvents with replay -2", st == 200 and b[0]["successful"] and b[0]["subscription"] == "/data/ChangeEvents")
events, t0 = [], time.time()
while len(events) < 600 and time.time() - t0 < 20:
    st, b = post(C, [{"channel": "/meta/connect", "clientId": cid, "connectionType": "long-polling", "id": "3"}], tok)
    events += [m for m in b if m["channel"] == "/data/ChangeEvents"]
    conn = [m for m in b if m["channel"] == "/meta/connect"]
    if not (conn and conn[0]["successful"]): break
seqs = [e["data"]["payload"]["ChangeEventHeader"]["commitNumber"] for e in events]
rids = [e["data"]["event"]["replayId"] for e in events]
check(f"connect delivers every change once, in commit order ({len(events)} events)",
      seqs == list(range(1, 601)) and rids == sorted(rids))
h = [e["data"]["payload"]["ChangeEventHeader"] for e in events]
need = {"entityName", "recordIds", "changeType", "changedFields", "transactionKey", "sequenceNumber", "commitTimestamp", "commitNumber", "commitUser"}
check("every event has a ChangeEventHeader with " + ", ".join(sorted(need)), all(need <= x.keys() for x in h))
# The ground truth: /v1/changes in commit order.
truth, cur = {}, ""
for _ in range(10):
    r = urllib.request.urlopen(crm + "/v1/changes?limit=1000" + (f"&cursor={cur}" if cur else ""), timeout=10)
    page = json.loads(r.read())
    for ev in page["events"]: truth[ev["seq"]] = ev
    cur = page["next_cursor"]
    if not page["has_more"]: break
ent = {"Account": "account", "Contact": "contact", "Opportunity": "opportunity", "Entitlement": "entitlement"}
ctype = {"create": "CREATE", "update": "UPDATE", "delete": "DELETE", "undelete": "UNDELETE"}
bad = [x for x in h if ent[x["entityName"]] != truth[x["commitNumber"]]["entity"]
       or int(x["recordIds"][0][3:15]) != int(truth[x["commitNumber"]]["record_id"][2:])
       or ctype[truth[x["commitNumber"]]["change_type"]] != x["changeType"]
       or x["commitTimestamp"] != truth[x["commitNumber"]]["commit_ts_ms"]
       or x["transactionKey"] != truth[x["commitNumber"]]["transaction_key"]]
check(f"every event maps to the /v1 change of its commitNumber (entity, record, type, time, transaction; {len(bad)} do not)", not bad)
ver = [e["data"]["payload"].get("Crmsync_Version__c") == truth[e["data"]["payload"]["ChangeEventHeader"]["commitNumber"]]["version"]
       for e in events]
check("Crmsync_Version__c is the change's version", ver and all(ver))
upd = [e for e in events if e["data"]["payload"]["ChangeEventHeader"]["changeType"] == "UPDATE"
       and "Name" in e["data"]["payload"]["ChangeEventHeader"]["changedFields"]]
check("an UPDATE carries its changed fields", upd and all("Name" in e["data"]["payload"] for e in upd))
# Resume after a replayId; a per-object channel.
st, b, cid2 = handshake()
st, b = post(C, [{"channel": "/meta/subscribe", "clientId": cid2, "subscription": "/data/AccountChangeEvent",
                  "ext": {"replay": {"/data/AccountChangeEvent": 300}}}], tok)
st, b = post(C, [{"channel": "/meta/connect", "clientId": cid2, "connectionType": "long-polling"}], tok)
acc = [m["data"]["payload"]["ChangeEventHeader"] for m in b if m["channel"] == "/data/AccountChangeEvent"]
check(f"/data/AccountChangeEvent from replayId 300: accounts only, after it ({len(acc)})",
      acc and all(x["entityName"] == "Account" and x["commitNumber"] > 300 for x in acc))
# Replay -1: nothing old; the connect is held, then answered empty.
st, b, cid3 = handshake()
post(C, [{"channel": "/meta/subscribe", "clientId": cid3, "subscription": "/data/ChangeEvents", "ext": {"replay": {"/data/ChangeEvents": -1}}}], tok)
t0 = time.time()
st, b = post(C, [{"channel": "/meta/connect", "clientId": cid3, "connectionType": "long-polling"}], tok)
held = time.time() - t0
check(f"replay -1 after the last change: the connect is held {held:.1f} s, then answered without events",
      held >= 4 and [m["channel"] for m in b] == ["/meta/connect"] and b[0]["successful"])
# A client that leaves while its connect is held: the CRM forgets it.
import socket
body = json.dumps([{"channel": "/meta/connect", "clientId": cid3, "connectionType": "long-polling"}]).encode()
sk = socket.create_connection(("127.0.0.1", int(crm.rsplit(":", 1)[1])))
sk.sendall(b"POST /cometd/59.0 HTTP/1.1\r\nHost: x\r\nAuthorization: OAuth " + tok.encode() +
           b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
time.sleep(0.5); sk.close(); time.sleep(0.3)
st, b = post(C, [{"channel": "/meta/connect", "clientId": cid3, "connectionType": "long-polling"}, {"channel": "/meta/disconnect", "clientId": cid3}], tok)
check("after a client left a held connect, its next connect (with a disconnect) is answered",
      st == 200 and b[-1]["channel"] == "/meta/connect" and b[-1]["successful"])
st, b = post(C, [{"channel": "/meta/connect", "clientId": "nobody", "connectionType": "long-polling"}], tok)
check("connect of an unknown client: 403::Unknown client, advice handshake",
      b[0]["successful"] is False and b[0]["error"].startswith("403::") and b[0]["advice"]["reconnect"] == "handshake")
# Retention: a replayId older than the window is rejected.
r = urllib.request.Request(crm + "/_admin/faults", data=b'{"type":"retention_cut","params":{"keep_s":0}}',
                           headers={"Content-Type": "application/json"}, method="POST")
urllib.request.urlopen(r, timeout=10)
st, b, cid4 = handshake()
st, b = post(C, [{"channel": "/meta/subscribe", "clientId": cid4, "subscription": "/data/ChangeEvents", "ext": {"replay": {"/data/ChangeEvents": 5}}}], tok)
check(f"replayId 5 after retention_cut: 400::The replayId {{5}} you provided was invalid... ({b[0].get('error', '')[:60]})",
      b[0]["successful"] is False and b[0]["error"].startswith("400::The replayId {5} you provided was invalid"))
sys.exit(1 if failed else 0)
PY
exit $?
