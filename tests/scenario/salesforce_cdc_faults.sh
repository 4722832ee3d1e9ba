#!/usr/bin/env bash
# salesforce_cdc_faults.sh -- Salesforce-only behaviours of Change Data
# Capture in the mock CRM (docs/crm-dialects.md), over CometD:
# 1. cdc_overflow: the changes of a transaction beyond the threshold come
#    as one GAP_OVERFLOW event per entity type (header only, the empty
#    record id 000000000000000AAA); every other change comes as its own
#    event; without the fault no GAP_OVERFLOW at all (no false alarm);
# 2. cdc_merged_events: identical changes to several records of one
#    transaction share one event (recordIds, Crmsync_Seqs__c and
#    Crmsync_Versions__c map each id to its change), every change still
#    delivered exactly once;
# 3. an expired session (expire_sessions) on CometD: a held /meta/connect
#    is answered 401::Authentication invalid with advice reconnect none, a
#    handshake with the old token is 403::Handshake denied (ext.sfdc.
#    failureReason), a new token handshakes again.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
DIR=$(mktemp -d /tmp/crmsync-test.XXXXXX)
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; rm -rf "$DIR"' EXIT
# One CRM per case (a fault from the start of its workload).
scenario() { # name fault-json
        cat >"$DIR/$1.json" <<EOF
{"name":"$1","seed":9,
 "workload":{"accounts":20,"contacts_per_account":2,"changes":600,
             "rate_per_s":400,"txn_max":4},
 "faults":[$2]}
EOF
}
scenario plain ''
scenario overflow '{"at_s":0,"type":"cdc_overflow","threshold":1,"duration_s":60}'
scenario merged '{"at_s":0,"type":"cdc_merged_events","duration_s":60}'
start_crm PLAIN "$DIR/plain.out" --scenario "$DIR/plain.json" || exit 1
start_crm OVF "$DIR/overflow.out" --scenario "$DIR/overflow.json" || exit 1
start_crm MRG "$DIR/merged.out" --scenario "$DIR/merged.json" || exit 1
sleep 2 # every change committed (600 at 400/s)
python3 - "$PLAIN" "$OVF" "$MRG" <<'PY'
import json, sys, threading, time, urllib.request, urllib.error
plain, ovf, mrg = sys.argv[1:4]
failed = 0
def check(what, ok):
    global failed
    print(("ok: " if ok else "FAIL: ") + what)
    failed += 0 if ok else 1
def post(crm, path, body, tok=None, ctype="application/json"):
    h = {"Content-Type": ctype}
    if tok: h["Authorization"] = "OAuth " + tok
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = urllib.request.Request(crm + path, data=data, headers=h, method="POST")
    try:
        with urllib.request.urlopen(r, timeout=20) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
def token(crm):
    return post(crm, "/services/oauth2/token", b"grant_type=password&username=u&password=p",
                ctype="application/x-www-form-urlencoded")[1]["access_token"]
C = "/cometd/59.0"
def handshake(crm, tok):
    st, b = post(crm, C, [{"channel": "/meta/handshake", "version": "1.0",
                           "supportedConnectionTypes": ["long-polling"]}], tok)
    return st, b
def all_events(crm):
    tok = token(crm)
    cid = handshake(crm, tok)[1][0]["clientId"]
    post(crm, C, [{"channel": "/meta/subscribe", "clientId": cid, "subscription": "/data/ChangeEvents",
                   "ext": {"replay": {"/data/ChangeEvents": -2}}}], tok)
    # Every change is committed: a connect answers at once with up to 100
    # events; fewer means the backlog is drained (no held connect).
    out = []
    for _ in range(40):
        st, b = post(crm, C, [{"channel": "/meta/connect", "clientId": cid, "connectionType": "long-polling"}], tok)
        ev = [m for m in b if m["channel"] == "/data/ChangeEvents"]
        out += ev
        if len(ev) < 100: break
    return out
def truth(crm):
    t, cur = {}, ""
    for _ in range(10):
        r = urllib.request.urlopen(crm + "/v1/changes?limit=1000" + (f"&cursor={cur}" if cur else ""), timeout=10)
        page = json.loads(r.read())
        for ev in page["events"]: t[ev["seq"]] = ev
        cur = page["next_cursor"]
        if not page["has_more"]: break
    return t
ENT = {"Account": "account", "Contact": "contact", "Opportunity": "opportunity", "Entitlement": "entitlement"}
num = lambda sfid: int(sfid[3:15])

# 0. No fault: no GAP_OVERFLOW, one record per event.
ev = all_events(plain)
hs = [e["data"]["payload"]["ChangeEventHeader"] for e in ev]
check(f"no fault: {len(ev)} events, none GAP_OVERFLOW, one record each",
      len(ev) == 600 and not any(h["changeType"] == "GAP_OVERFLOW" for h in hs)
      and all(len(h["recordIds"]) == 1 for h in hs))

# 1. Overflow, threshold 1.
T = truth(ovf)
ev = all_events(ovf)
hs = [e["data"]["payload"]["ChangeEventHeader"] for e in ev]
of = [e for e in ev if e["data"]["payload"]["ChangeEventHeader"]["changeType"] == "GAP_OVERFLOW"]
check(f"cdc_overflow threshold 1: {len(of)} GAP_OVERFLOW events", len(of) >= 5)
check("overflow events: header only, recordIds the empty id",
      all(list(e["data"]["payload"]) == ["ChangeEventHeader"]
          and e["data"]["payload"]["ChangeEventHeader"]["recordIds"] == ["000000000000000AAA"] for e in of))
# Expected: per transaction, in seq order, cumulative weight > 1
# overflows. The fault starts a moment after the CRM's clock: judge the
# transactions after the first one that overflowed (all under the fault).
weight = lambda x: max(1, len(x["fields"] or {})) if x["change_type"] == "update" else 1
first = min(h["commitNumber"] for h in hs if h["changeType"] == "GAP_OVERFLOW")
t0 = T[first]["transaction_key"]
judged = {q for q in T if T[q]["transaction_key"] > t0}
over, acc = set(), {}
for q in sorted(judged):
    x = T[q]; k = x["transaction_key"]
    acc[k] = acc.get(k, 0) + weight(x)
    if acc[k] > 1: over.add(q)
served = [h["commitNumber"] for h in hs if h["changeType"] != "GAP_OVERFLOW" and h["commitNumber"] in judged]
check(f"every change under the threshold is its own event, once ({len(served)} of {len(judged)}; {len(over)} overflowed)",
      sorted(served) == sorted(judged - over) and len(over) > 0 and len(judged) > 500)
want = {}
for q in sorted(over):
    want.setdefault((T[q]["transaction_key"], T[q]["entity"]), q)
got = {(h["transactionKey"], ENT[h["entityName"]]): h["commitNumber"] for h in hs
       if h["changeType"] == "GAP_OVERFLOW" and h["commitNumber"] in judged}
n = sum(1 for h in hs if h["changeType"] == "GAP_OVERFLOW" and h["commitNumber"] in judged)
check(f"one overflow event per transaction and entity type, at its first overflowed change ({len(got)} vs {len(want)})",
      got == want and n == len(want))

# 2. Merged events.
T = truth(mrg)
ev = all_events(mrg)
multi = [e["data"]["payload"] for e in ev if len(e["data"]["payload"]["ChangeEventHeader"]["recordIds"]) > 1]
check(f"cdc_merged_events: {len(multi)} events with several recordIds", len(multi) >= 2)
seen, bad = [], 0
for e in ev:
    p = e["data"]["payload"]; h = p["ChangeEventHeader"]
    if len(h["recordIds"]) == 1:
        seen.append(h["commitNumber"])
        continue
    seqs = [int(x) for x in p["Crmsync_Seqs__c"].split(";")]
    vers = [int(x) for x in p["Crmsync_Versions__c"].split(";")]
    if not (len(seqs) == len(vers) == len(h["recordIds"])): bad += 1; continue
    for sfid, q, v in zip(h["recordIds"], seqs, vers):
        t = T[q]
        if (num(sfid) != int(t["record_id"][2:]) or v != t["version"] or ENT[h["entityName"]] != t["entity"]
                or h["changeType"] != t["change_type"].upper() or h["transactionKey"] != t["transaction_key"]):
            bad += 1
        seen.append(q)
check(f"each id of a merged event maps to its change (seq, version, type, transaction; {bad} do not)", bad == 0)
check(f"every change delivered exactly once ({len(seen)} of {len(T)})", sorted(seen) == sorted(T))
kinds = {(p["ChangeEventHeader"]["changeType"], "AccountId" in p) for p in multi}
check(f"merged: a merge's deletes or its children's moves ({sorted(kinds)})",
      all(k[0] in ("DELETE", "UPDATE") for k in kinds))

# 3. Session expiry on CometD.
tok = token(plain)
cid = handshake(plain, tok)[1][0]["clientId"]
post(plain, C, [{"channel": "/meta/subscribe", "clientId": cid, "subscription": "/data/ChangeEvents",
                 "ext": {"replay": {"/data/ChangeEvents": -1}}}], tok)
res = {}
def held():
    t0 = time.time()
    res["st"], res["b"] = post(plain, C, [{"channel": "/meta/connect", "clientId": cid,
                                          "connectionType": "long-polling", "id": "9"}], tok)
    res["s"] = time.time() - t0
th = threading.Thread(target=held); th.start(); time.sleep(0.5)
st, _ = post(plain, "/_admin/faults", {"type": "expire_sessions"})
th.join(10)
b = res.get("b") or [{}]
check(f"expire_sessions during a held connect: answered in {res.get('s', 99):.1f} s, HTTP {res.get('st')}, "
      f"{b[-1].get('error')}, advice {b[-1].get('advice')}",
      res.get("st") == 200 and res["s"] < 3 and b[-1].get("channel") == "/meta/connect"
      and b[-1].get("successful") is False and b[-1].get("error") == "401::Authentication invalid"
      and b[-1].get("advice", {}).get("reconnect") == "none" and b[-1].get("id") == "9")
st, b = handshake(plain, tok)
check(f"handshake with the expired token: 403::Handshake denied, failureReason 401 ({st}, {b[0].get('error')})",
      st == 200 and b[0]["successful"] is False and b[0]["error"] == "403::Handshake denied"
      and b[0]["ext"]["sfdc"]["failureReason"] == "401::Authentication invalid"
      and b[0]["advice"]["reconnect"] == "none")
st, b = post(plain, C, [{"channel": "/meta/connect", "clientId": cid, "connectionType": "long-polling"}], tok)
check("connect with the expired token: 401::Authentication invalid",
      st == 200 and b[0]["error"] == "401::Authentication invalid" and b[0]["advice"]["reconnect"] == "none")
tok2 = token(plain)
st, b = handshake(plain, tok2)
check("after logging in again: handshake successful", st == 200 and b[0]["successful"])
st, b = handshake(plain, None)
check(f"no token at all: still the REST 401 INVALID_SESSION_ID ({st})", st == 401)
sys.exit(1 if failed else 0)
PY
exit $?
