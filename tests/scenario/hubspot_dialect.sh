#!/usr/bin/env bash
# hubspot_dialect.sh -- the mock CRM's HubSpot CRM v3 dialect over the same
# ground truth as /v1 (docs/crm-dialects.md): the private-app token (401
# without), list paging with after, search (filters, sort, limit, the
# 10,000-result cap), a merged-away id answered with the primary, the
# association contact -> company, HubSpot's error shape for malformed
# input, and 429 with X-HubSpot-RateLimit-* headers. Also: /v1 unchanged.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
DIR=$(mktemp -d /tmp/crmsync-test.XXXXXX)
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; rm -rf "$DIR"' EXIT

start_crm CRM "$DIR/crm.out" --seed 11 --accounts 40 --changes 1500 || exit 1
start_crm SLOW "$DIR/slow.out" --seed 11 --accounts 5 --changes 40 --rate-limit 2 || exit 1
# 10,200 contacts: more than one search may page through.
start_crm BIG "$DIR/big.out" --seed 11 --accounts 5100 --changes 15300 --rate 200000 || exit 1
sleep 1.5 # every change committed (1500 at 2000/s)
python3 - "$CRM" "$SLOW" "$BIG" <<'PY'
import json, sys, urllib.request, urllib.error
crm, slow, big = sys.argv[1], sys.argv[2], sys.argv[3]
TOK = {"Authorization": "Bearer pat-na1-test"}
failed = 0
def check(what, ok):
    global failed
    print(("ok: " if ok else "FAIL: ") + what)
    failed += 0 if ok else 1
def req(url, body=None, headers=TOK, ctype="application/json"):
    h = dict(headers)
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if ctype: h["Content-Type"] = ctype
    r = urllib.request.Request(url, data=data, headers=h,
                               method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())
def hs_error(st, b, code, cat):
    return st == code and b.get("status") == "error" and b.get("category") == cat \
        and b.get("message") and b.get("correlationId")
O = crm + "/crm/v3/objects/"
st, _, b = req(O + "contacts", headers={})
check("no token: 401 INVALID_AUTHENTICATION in HubSpot's shape", hs_error(st, b, 401, "INVALID_AUTHENTICATION"))
st, _, b = req(O + "contacts", headers={"Authorization": "Bearer nope"})
check("a token that is not a private-app token: 401", st == 401)
# List with after paging: every live contact once, in id order.
ids, after = [], None
for _ in range(1000):
    st, _, b = req(O + "contacts?limit=7" + (f"&after={after}" if after else ""))
    if st != 200: break
    ids += [int(o["id"]) for o in b["results"]]
    after = b.get("paging", {}).get("next", {}).get("after")
    if not after: break
check(f"list pages through {len(ids)} contacts in id order, none twice",
      st == 200 and ids == sorted(set(ids)) and len(ids) > 7)
# Search: everything (no filter) = the live list; sorted by lastmodified.
allr, after, total = [], 0, None
for _ in range(1000):
    st, _, b = req(O + "contacts/search", {"sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}], "limit": 200, "after": str(after)})
    if st != 200: break
    total = b["total"]; allr += b["results"]
    nxt = b.get("paging", {}).get("next", {}).get("after")
    if not nxt: break
    after = int(nxt)
lms = [o["properties"]["hs_lastmodifieddate"] for o in allr]
check(f"search pages through the same {total} contacts, ascending hs_lastmodifieddate",
      st == 200 and total == len(ids) and sorted(int(o["id"]) for o in allr) == ids and lms == sorted(lms))
mid = allr[len(allr) // 2]["properties"]["hs_lastmodifieddate"]
st, _, b = req(O + "contacts/search", {"filterGroups": [{"filters": [
    {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": mid},
    {"propertyName": "hs_lastmodifieddate", "operator": "LTE", "value": mid}]}], "limit": 200})
check("filter GTE and LTE one time (ISO 8601) = EQ on it",
      st == 200 and b["total"] >= 1 and all(o["properties"]["hs_lastmodifieddate"] == mid for o in b["results"]))
st, _, b = req(O + "contacts/search", {"filterGroups": [{"filters": [
    {"propertyName": "hs_object_id", "operator": "EQ", "value": str(ids[3])}]}]})
check("filter hs_object_id EQ: that contact only", st == 200 and [o["id"] for o in b["results"]] == [str(ids[3])])
for body, what, code in [(b"{", "broken JSON", 400), ({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "x"}]}]}, "unsupported property", 400),
                         ({"limit": 201}, "limit 201", 400), ({"after": "10000"}, "after past the 10,000 cap", 400),
                         ({"query": "ada"}, "full-text query", 400), ({"sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "UP"}]}, "bad sort direction", 400)]:
    st, _, b = req(O + "contacts/search", body)
    check(f"search with {what}: {code} VALIDATION_ERROR ({b.get('message','')[:60]})", hs_error(st, b, code, "VALIDATION_ERROR"))
st, _, b = req(O + "contacts/search", b"{}", ctype=None)
check("search without Content-Type: 415", st == 415 and b.get("status") == "error")
# The 10,000-result cap: a page stops at 10,000 and says no more.
B = big + "/crm/v3/objects/contacts/search"
st, _, b = req(B, {"sorts": ["hs_lastmodifieddate"], "limit": 200, "after": "9900"})
check(f"cap: {b.get('total')} matches; after 9900 with limit 200 gives 100 results and no paging.next",
      st == 200 and b["total"] > 10000 and len(b["results"]) == 100 and "paging" not in b)
st, _, b = req(B, {"limit": 200, "after": "9800"})
check("cap: after 9800 gives 200 results ending at 10,000, without paging.next; after 10000 is refused",
      st == 200 and len(b["results"]) == 200 and "paging" not in b and req(B, {"limit": 10, "after": "10000"})[0] == 400)
st, _, b = req(B, {"limit": 200, "after": "9600"})
check("below the cap paging goes on (after 9600: paging.next.after 9800)",
      st == 200 and b.get("paging", {}).get("next", {}).get("after") == "9800")
st, _, b = req(O + "widgets/1")
check("unknown object type: 404 OBJECT_NOT_FOUND", hs_error(st, b, 404, "OBJECT_NOT_FOUND"))
# Merges: the primary names the merged ids; a merged id answers with it.
winners, after = [], None
for _ in range(100):
    st, _, b = req(O + "companies?limit=100" + (f"&after={after}" if after else ""))
    winners += [o for o in b["results"] if "hs_merged_object_ids" in o["properties"]]
    after = b.get("paging", {}).get("next", {}).get("after")
    if not after: break
check(f"{len(winners)} companies carry hs_merged_object_ids", len(winners) > 0)
if winners:
    w = winners[0]; loser = w["properties"]["hs_merged_object_ids"].split(";")[0]
    st, _, b = req(O + "companies/" + loser)
    # the loser's primary may itself have been merged later: follow it too
    check(f"GET of merged-away company {loser} answers with a primary, not {loser}",
          st == 200 and b["id"] != loser and b["archived"] is False)
    st, _, b = req(O + "companies/" + loser + "?archived=true")
    check("GET ?archived=true of it: the archived record", st == 200 and b["id"] == loser and b["archived"] is True)
c = allr[0]
st, _, b = req(O + f"contacts/{c['id']}/associations/companies")
check("association contact -> company = associatedcompanyid",
      st == 200 and b["results"][0]["id"] == c["properties"]["associatedcompanyid"] and b["results"][0]["type"] == "contact_to_company")
st, _, b = req(crm + "/v1/objects/contact/C-%06d" % int(c["id"]))
st2, _, c2 = req(O + f"contacts/{c['id']}")
check("/v1 serves the same record: same version, last-modified time, email",
      st == 200 and st2 == 200 and str(b["version"]) == c2["properties"]["crmsync_version"]
      and b["fields"]["email"] == c2["properties"]["email"]
      and b["last_modified_ms"] == __import__("calendar").timegm(__import__("time").strptime(c2["updatedAt"][:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(c2["updatedAt"][20:23]))
# Rate limit: 429 in HubSpot's shape with its headers.
seen = None
for _ in range(20):
    st, h, b = req(slow + "/crm/v3/objects/companies?limit=1")
    if st == 429: seen = (h, b); break
h = {k.lower(): v for k, v in (seen[0] if seen else {}).items()}
check("429 with X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds and Retry-After",
      seen is not None and all(k in h for k in ("x-hubspot-ratelimit-max", "x-hubspot-ratelimit-remaining", "x-hubspot-ratelimit-interval-milliseconds", "retry-after")))
check("429 body: errorType RATE_LIMIT, policyName TEN_SECONDLY_ROLLING",
      seen is not None and seen[1].get("errorType") == "RATE_LIMIT" and seen[1].get("policyName") == "TEN_SECONDLY_ROLLING")
sys.exit(1 if failed else 0)
PY
exit $?
