#!/usr/bin/env node
// hubspot-connector.js -- a small CRM-to-Kafka connector built on HubSpot's
// official Node SDK (@hubspot/api-client) and kafkajs, as a team would
// write one, pointed at crmsync's mock CRM (HubSpot dialect,
// docs/crm-dialects.md). Plugged in through pipeline.connector.command.
//
// It polls POST /crm/v3/objects/{type}/search on hs_lastmodifieddate
// (GTE the watermark, ascending; ties paged with `after`), re-reads a
// lookback window for late (lagging index) changes, lists archived records
// (deletes and merged-away records) and produces each record's full state
// in the connector's wire envelope (docs/wire-contracts.md: event id
// poll-<record id>-v<version>, full_state, polled) keyed by account id.
// The watermarks live in $CRMSYNC_RUN_DIR/hubspot-connector.cursor.json,
// written only after Kafka acknowledged what came before them.
//
// --page-size N (1..200, default 100): results per search page.
// --bug-strict-gt: the mistake this harness must catch: treat
// hs_lastmodifieddate as a strictly increasing cursor (GT the last value,
// no lookback), so records sharing the boundary millisecond are skipped.
'use strict';

const hubspot = require('@hubspot/api-client');
const lib = require('./lib');

const BUG_STRICT_GT = process.argv.includes('--bug-strict-gt');
const { sleep, pad6 } = lib;
const TOKEN = process.env.HUBSPOT_ACCESS_TOKEN || 'pat-na1-crmsync-test';
const PAGE = lib.argNum('--page-size', 100);
const LOOKBACK_MS = 3000;
const IDLE_MS = 250;
const CAP = 10000; // HubSpot: results one search query can page through
const cursor = lib.cursorFile('hubspot-connector.cursor.json');

// HubSpot object type -> crmsync entity, id prefix and field mapping
// (property -> [field, type]); docs/wire-contracts.md#hubspot-dialect.
const TYPES = [
  { hs: 'companies', entity: 'account', pfx: 'A', props: {
    name: ['name', 's'], industry: ['industry', 's'], tier: ['tier', 's'],
    hubspot_owner_id: ['owner', 's'], annualrevenue: ['annual_revenue', 'i'] } },
  { hs: 'contacts', entity: 'contact', pfx: 'C', props: {
    email: ['email', 's'], firstname: ['first_name', 's'],
    lastname: ['last_name', 's'], jobtitle: ['title', 's'],
    consent_email: ['consent_email', 'b'], consent_sms: ['consent_sms', 'b'] } },
  { hs: 'deals', entity: 'opportunity', pfx: 'O', props: {
    dealname: ['name', 's'], dealstage: ['stage', 's'], amount: ['amount', 'i'] } },
  // A custom object, reached through the generic objects API.
  { hs: 'p_entitlements', entity: 'entitlement', pfx: 'E', custom: true, props: {
    sku: ['sku', 's'], seats: ['seats', 'i'], ends_on: ['ends_on', 's'] } },
];

const log = lib.logger('hubspot-connector');

let stopping = false;
const stats = { requests: 0, produced: 0, throttled: 0, errors5xx: 0 };

// One SDK call with HubSpot etiquette: 429 and 5xx wait Retry-After (or
// the policy's interval), then retry; bounded in count.
async function call(what, fn) {
  for (let attempt = 0; attempt < 60 && !stopping; attempt++) {
    stats.requests++;
    try {
      return await fn();
    } catch (e) {
      const code = e && e.code;
      const h = (e && e.headers) || {};
      const ra = Number(h['retry-after']);
      if (code === 429) {
        stats.throttled++;
        const daily = e.body && e.body.policyName === 'DAILY';
        await sleep(ra > 0 ? ra * 1000 + 20 : daily ? 60000 : 10000);
      } else if (code >= 500 && code < 600) {
        stats.errors5xx++;
        await sleep(ra > 0 ? ra * 1000 + 20 : 1000);
      } else if (code === undefined || code === 0) {
        await sleep(500); // connection refused or reset
      } else {
        throw new Error(`${what}: HTTP ${code}: ${JSON.stringify(e.body)}`);
      }
    }
  }
  throw new Error(`${what}: giving up`);
}

// The wire envelope of one HubSpot object (full state).
function toRecord(t, obj) {
  const p = obj.properties || {};
  const rid = t.pfx + '-' + pad6(obj.id);
  const version = Number(p.crmsync_version);
  const lm = Date.parse(p.hs_lastmodifieddate);
  if (!Number.isInteger(version) || !Number.isFinite(lm)) return null;
  let account = rid;
  if (t.entity === 'contact' && p.associatedcompanyid)
    account = 'A-' + pad6(p.associatedcompanyid);
  else if (t.entity !== 'account' && p.crmsync_company_id)
    account = 'A-' + pad6(p.crmsync_company_id);
  const fields = {};
  if (!obj.archived) {
    for (const [prop, [field, type]] of Object.entries(t.props)) {
      const v = p[prop];
      if (v === undefined || v === null) continue;
      fields[field] = type === 'i' ? Number(v) : type === 'b' ? v === 'true' : v;
    }
  }
  return {
    event_id: `poll-${rid}-v${version}`, entity: t.entity, record_id: rid,
    account_id: account, change_type: obj.archived ? 'delete' : 'update',
    version, commit_ts_ms: lm, fields, polled: true, full_state: true,
    connector: { source_cursor: `${t.hs}@${lm}/${obj.id}`,
      ingest_ts_ms: Date.now(), via: 'poll' },
  };
}

class Connector {
  constructor() {
    this.client = new hubspot.Client({ accessToken: TOKEN, basePath: lib.env.crm });
    this.producer = lib.producer('hubspot-connector');
    this.wm = cursor.load(); // hs type -> last_modified ms (GTE)
    this.seen = new Map();  // entity/id -> version produced
    this.lastLookback = 0;
    this.props = TYPES.map((t) => Object.keys(t.props).concat(
      ['crmsync_version', 'hs_lastmodifieddate', 'associatedcompanyid',
        'crmsync_company_id']));
  }

  // Produce the records not produced yet at their version; resolves once
  // Kafka acknowledged them.
  async produce(t, objs) {
    const msgs = [];
    for (const o of objs) {
      const rec = toRecord(t, o);
      if (!rec) continue;
      const key = `${t.entity}/${rec.record_id}`;
      if ((this.seen.get(key) || 0) >= rec.version) continue;
      this.seen.set(key, rec.version);
      msgs.push(lib.message(rec));
    }
    if (msgs.length === 0) return;
    await this.producer.send({ topic: lib.env.topic, acks: -1, messages: msgs });
    stats.produced += msgs.length;
  }

  // Search one type from `since`; returns the newest timestamp delivered.
  async searchType(i, since) {
    const t = TYPES[i];
    let from = since, after = 0, newest = since;
    for (let page = 0; page < 100000 && !stopping; page++) {
      const req = {
        filterGroups: [{ filters: [{ propertyName: 'hs_lastmodifieddate',
          operator: BUG_STRICT_GT ? 'GT' : 'GTE', value: String(from) }] }],
        sorts: [{ propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING' }],
        properties: this.props[i], limit: PAGE,
      };
      if (after) req.after = String(after);
      const res = await call(`search ${t.hs}`, () => (t.custom
        ? this.client.crm.objects.searchApi.doSearch(t.hs, req)
        : this.client.crm[t.hs].searchApi.doSearch(req)));
      await this.produce(t, res.results);
      const lms = res.results.map((o) => Date.parse(o.properties.hs_lastmodifieddate));
      if (lms.length) newest = Math.max(newest, lms[lms.length - 1]);
      const next = res.paging && res.paging.next && Number(res.paging.next.after);
      if (!next) break;
      const last = lms[lms.length - 1];
      if (BUG_STRICT_GT) { from = last; after = 0; continue; }
      // Keyset paging: go on from the last timestamp (GTE; its records
      // come again and are skipped as seen). A page of one timestamp
      // pages on with `after` inside it, up to the 10,000-result cap.
      if (lms[0] < last) { from = last; after = 0; }
      else if (next + PAGE <= CAP) after = next;
      else { log(`${t.hs}: over ${CAP} records at ${last}`); from = last + 1; after = 0; }
    }
    return newest;
  }

  // Archived records (deletes, merged-away records): list them all.
  async archived(i) {
    const t = TYPES[i];
    let after;
    for (let page = 0; page < 100000 && !stopping; page++) {
      const res = await call(`list archived ${t.hs}`, () => (t.custom
        ? this.client.crm.objects.basicApi.getPage(t.hs, PAGE, after,
          this.props[i], undefined, undefined, true)
        : this.client.crm[t.hs].basicApi.getPage(PAGE, after,
          this.props[i], undefined, undefined, true)));
      await this.produce(t, res.results);
      after = res.paging && res.paging.next && res.paging.next.after;
      if (!after) break;
    }
  }

  async round() {
    // Every LOOKBACK_MS / 4: re-read the lookback window, list archived.
    const now = Date.now();
    const periodic = now - this.lastLookback >= LOOKBACK_MS / 4;
    const lookback = periodic && !BUG_STRICT_GT;
    if (periodic) this.lastLookback = now;
    for (let i = 0; i < TYPES.length && !stopping; i++) {
      const t = TYPES[i];
      const wm = this.wm[t.hs] || 0;
      const since = lookback ? Math.max(0, wm - LOOKBACK_MS) : wm;
      const newest = await this.searchType(i, since);
      if (!stopping && periodic) await this.archived(i);
      if (!stopping) this.wm[t.hs] = Math.max(wm, newest);
    }
    if (!stopping) cursor.save(this.wm);
  }

  async run() {
    await this.producer.connect();
    log(`polling ${lib.env.crm} (search API, lookback ${LOOKBACK_MS} ms)` +
      (BUG_STRICT_GT ? ' with bug strict-gt' : ''));
    let lastStats = Date.now();
    while (!stopping) {
      await this.round();
      if (Date.now() - lastStats > 5000) {
        lastStats = Date.now();
        log(`requests ${stats.requests} produced ${stats.produced} ` +
          `throttled ${stats.throttled} 5xx ${stats.errors5xx}`);
      }
      await sleep(IDLE_MS);
    }
  }
}

if (!(PAGE >= 1 && PAGE <= 200 && Number.isInteger(PAGE))) {
  log('--page-size must be an integer in 1..200');
  process.exit(2);
}
let c = null;
lib.main({ log, stop: () => { stopping = true; }, stopping: () => stopping,
  run: () => (c = new Connector()).run(),
  finish: async () => {
    await c.producer.disconnect().catch(() => {});
    log(`stopped: requests ${stats.requests} produced ${stats.produced}`);
  } });
