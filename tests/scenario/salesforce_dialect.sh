#!/usr/bin/env bash
# salesforce_dialect.sh -- the mock CRM's Salesforce REST dialect over the
# same ground truth as /v1 (docs/crm-dialects.md): the OAuth token (401
# INVALID_SESSION_ID without one, and after expire_sessions), sObject
# reads, SOQL query/queryAll with nextRecordsUrl, MALFORMED_QUERY naming
# what is not supported, INVALID_FIELD/INVALID_TYPE, updated/deleted, and
# 403 REQUEST_LIMIT_EXCEEDED for the rate limit.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
DIR=$(mktemp -d /tmp/crmsync-test.XXXXXX)
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; rm -rf "$DIR"' EXIT
start_crm CRM "$DIR/crm.out" --seed 13 --accounts 150 --changes 1500 || exit 1
start_crm SLOW "$DIR/slow.out" --seed 13 --accounts 5 --changes 40 --rate-limit 2 || exit 1
sleep 1.5 # every change committed (1500 at 2000/s)
python3 - "$CRM" "$SLOW" <<'PY'
import json, sys, urllib.parse, urllib.request, urllib.error
crm, slow = sys.argv[1], sys.argv[2]
failed = 0
def check(what, ok):
    global failed
    print(("ok: " if ok else "FAIL: ") + what)
    failed += 0 if ok else 1
def req(url, tok=None, data=None, headers=None, method=None):
    h = dict(headers or {})
    if tok: h["Authorization"] = "Bearer " + tok
    r = urllib.request.Request(url, data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read() or b"null")
def token(base):
    st, _, b = req(base + "/services/oauth2/token", data=b"grant_type=password&client_id=a&client_secret=b&username=u&password=p",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    return st, b
tok = None
def sf_err(st, b, code, err):
    return st == code and isinstance(b, list) and b and b[0].get("errorCode") == err and b[0].get("message")
st, _, b = req(crm + "/services/oauth2/token", data=b"grant_type=magic")
check(f"token with an unknown grant_type: 400 unsupported_grant_type ({st})", st == 400 and b["error"] == "unsupported_grant_type")
st, b = token(crm)
check("token: access_token, instance_url, token_type Bearer", st == 200 and b["instance_url"] == crm and b["token_type"] == "Bearer")
tok = b["access_token"]
D = crm + "/services/data/v59.0"
st, _, b = req(D + "/sobjects/Account/001000000000001AAA")
check("no session: 401 INVALID_SESSION_ID", sf_err(st, b, 401, "INVALID_SESSION_ID"))
def q(soql, all=False, batch=None, t=None):
    return req(D + ("/queryAll" if all else "/query") + "?q=" + urllib.parse.quote(soql), t or tok,
               headers={"Sforce-Query-Options": f"batchSize={batch}"} if batch else None)
# Query with nextRecordsUrl: every live contact once, in (SystemModstamp, Id) order.
st, _, b = q("SELECT Id, Email, AccountId, SystemModstamp, Crmsync_Version__c FROM Contact WHERE SystemModstamp > 2000-01-01T00:00:00Z ORDER BY SystemModstamp, Id", batch=200)
total, recs, pages = b["totalSize"], list(b["records"]), 1
while not b["done"] and pages < 100:
    st, _, b = req(crm + b["nextRecordsUrl"], tok); recs += b["records"]; pages += 1
keys = [(r["SystemModstamp"], r["Id"]) for r in recs]
check(f"query pages through {total} contacts with nextRecordsUrl ({pages} pages of 200), ordered, none twice",
      st == 200 and pages > 1 and len(recs) == total and keys == sorted(set(keys)))
r0 = recs[len(recs) // 2]
st, _, one = req(D + "/sobjects/Contact/" + r0["Id"], tok)
st2, _, v1 = req(crm + "/v1/objects/contact/C-%06d" % int(r0["Id"][3:15]))
check("sObject read = the /v1 record: version, email, account",
      st == 200 and st2 == 200 and one["Crmsync_Version__c"] == v1["version"] == r0["Crmsync_Version__c"]
      and one["Email"] == v1["fields"]["email"] and one["AccountId"] == "001%012dAAA" % int(v1["account_id"][2:]))
mid = recs[len(recs) // 2]["SystemModstamp"]
st, _, b = q(f"SELECT Id, SystemModstamp FROM Contact WHERE SystemModstamp >= {mid} AND SystemModstamp <= {mid}")
check("WHERE SystemModstamp >= t AND <= t: exactly that time", st == 200 and b["totalSize"] >= 1 and all(r["SystemModstamp"] == mid for r in b["records"]))
st, _, b = q(f"SELECT Id FROM Contact ORDER BY SystemModstamp DESC, Id DESC LIMIT 5")
check("LIMIT 5 and DESC", st == 200 and b["totalSize"] == 5 and b["done"])
for soql, names in [("SELECT Id FROM Account GROUP BY Name", "GROUP"), ("SELECT COUNT() FROM Account", "COUNT"),
                    ("SELECT Id FROM Account WHERE Name = 'x'", "Name"), ("SELECT Id FROM Account WHERE SystemModstamp > 2020-01-01T00:00:00Z OR Id = 'a'", "OR"),
                    ("SELECT Id FROM Account ORDER BY Name", "Name"), ("SELECT Id FROM Account WHERE SystemModstamp > yesterday", "yesterday"),
                    ("SELECT Id FROM Account LIMIT 0", "LIMIT"), ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "(")]:
    st, _, b = q(soql)
    check(f"MALFORMED_QUERY names '{names}': {b[0]['message'] if isinstance(b, list) else b}", sf_err(st, b, 400, "MALFORMED_QUERY") and names in b[0]["message"])
st, _, b = q("SELECT Id, Foo__c FROM Account")
check("unknown field: 400 INVALID_FIELD naming it", sf_err(st, b, 400, "INVALID_FIELD") and "Foo__c" in b[0]["message"])
st, _, b = q("SELECT Id FROM Lead")
check("unknown object: 400 INVALID_TYPE", sf_err(st, b, 400, "INVALID_TYPE"))
st, _, b = q("SELECT Id, IsDeleted, MasterRecordId FROM Account WHERE SystemModstamp > 2000-01-01T00:00:00Z", all=True)
dele = [r for r in b["records"] if r["IsDeleted"]]
merged = [r for r in dele if r["MasterRecordId"]]
st2, _, b2 = q("SELECT Id FROM Account")
check(f"queryAll adds {len(dele)} deleted accounts ({len(merged)} merged, with MasterRecordId) to the {b2['totalSize']} live ones",
      st == 200 and dele and merged and b["totalSize"] == b2["totalSize"] + len(dele))
st, _, b = req(D + "/sobjects/Account/" + dele[0]["Id"], tok)
check("read of a deleted account: 404 ENTITY_IS_DELETED", sf_err(st, b, 404, "ENTITY_IS_DELETED"))
st, _, b = req(D + "/sobjects/Account/001999999999999AAA", tok)
check("read of an unknown id: 404 NOT_FOUND", sf_err(st, b, 404, "NOT_FOUND"))
w = "?start=2000-01-01T00%3A00%3A00%2B00%3A00&end=2100-01-01T00%3A00%3A00%2B00%3A00"
st, _, b = req(D + "/sobjects/Account/deleted/" + w, tok)
check("deleted/: the deleted accounts", st == 200 and sorted(d["id"] for d in b["deletedRecords"]) == sorted(r["Id"] for r in dele))
st, _, b = req(D + "/sobjects/Account/updated/" + w, tok)
check("updated/: the live accounts", st == 200 and len(b["ids"]) == b2["totalSize"] and b["latestDateCovered"])
st, _, b = req(D + "/sobjects/Account/updated/?start=x&end=y", tok)
check("updated/ with bad dates: 400", st == 400 and isinstance(b, list))
st, _, b = req(crm + "/_admin/faults", data=b'{"type":"expire_sessions"}', headers={"Content-Type": "application/json"})
st, _, b = req(D + "/sobjects/Contact/" + r0["Id"], tok)
check("after expire_sessions: 401 INVALID_SESSION_ID", sf_err(st, b, 401, "INVALID_SESSION_ID"))
st, b = token(crm)
st, _, b = req(D + "/sobjects/Contact/" + r0["Id"], b["access_token"])
check("a new session works", st == 200)
st, b = token(slow); stok = b["access_token"]
seen = None
for _ in range(20):
    st, h, b = req(slow + "/services/data/v59.0/query?q=SELECT+Id+FROM+Account", stok)
    if st != 200: seen = (st, h, b); break
check("over the rate limit: 403 REQUEST_LIMIT_EXCEEDED (with Retry-After)",
      seen is not None and sf_err(seen[0], seen[2], 403, "REQUEST_LIMIT_EXCEEDED") and "Retry-After" in seen[1])
sys.exit(1 if failed else 0)
PY
exit $?
