#!/usr/bin/env node
// salesforce-connector.js -- a small CRM-to-Kafka connector built on
// jsforce (the widely used Salesforce JS library) and kafkajs, pointed at
// crmsync's mock CRM (Salesforce dialect, docs/crm-dialects.md). Plugged
// in through pipeline.connector.command.
//
// It logs in with the OAuth 2.0 password flow (jsforce logs in again when
// a session expires: 401 INVALID_SESSION_ID), polls
// each object with SOQL through queryAll (deleted and merged-away records
// included, IsDeleted true):
//   SELECT ... FROM Account WHERE SystemModstamp >= <watermark>
//   ORDER BY SystemModstamp, Id
// following nextRecordsUrl, re-reads a lookback window for late changes,
// and produces each record's full state in the connector's wire envelope
// (docs/wire-contracts.md: poll-<record id>-v<version>, full_state,
// polled) keyed by account id. Watermarks live in
// $CRMSYNC_RUN_DIR/salesforce-connector.cursor.json, written after Kafka
// acknowledged what came before them.
//
// jsforce retries a 5xx GET by itself after 0.5, 1, 2, 4, 8 s, whatever
// Retry-After says (lib/request.js); a retry 0.5 s after a 503 with
// Retry-After: 1 breaks the API etiquette the harness judges, so this
// connector turns it off and waits itself (--sdk-retry leaves it on).
// --bug-retry-storm: the mistake the harness must catch: jsforce's retry
// at a fixed 100 ms interval, no backoff, Retry-After ignored (a retry
// storm against a CRM answering 5xx).
//
// --page-size N (LIMIT of one query, default 1000), --batch-size N
// (Sforce-Query-Options batchSize, default 200: nextRecordsUrl pages).
// --bug-strict-gt: the mistake the harness must catch: SystemModstamp >
// the last value seen, no lookback (records sharing the boundary
// millisecond are skipped).
'use strict';

const jsforce = require('jsforce');
const jsforceRequest = require('jsforce/lib/request');
const lib = require('./lib');

const BUG_STRICT_GT = process.argv.includes('--bug-strict-gt');
const KEEP_SDK_RETRY = process.argv.includes('--sdk-retry');
const BUG_RETRY_STORM = process.argv.includes('--bug-retry-storm');
const { sleep, pad6, sfNum } = lib;
const PAGE = lib.argNum('--page-size', 1000);  // LIMIT of one keyset query
const BATCH = lib.argNum('--batch-size', 200); // Sforce-Query-Options batchSize
const LOOKBACK_MS = 3000;
const IDLE_MS = 250;
const cursor = lib.cursorFile('salesforce-connector.cursor.json');
const TYPES = lib.SF_TYPES;
const log = lib.logger('salesforce-connector');
const soqlTime = (ms) => new Date(ms).toISOString(); // ...sssZ

let stopping = false;
const stats = { requests: 0, produced: 0, limited: 0, errors5xx: 0, relogins: 0 };

// One call with Salesforce etiquette: REQUEST_LIMIT_EXCEEDED and 5xx wait
// (no Retry-After reaches jsforce's errors: 2 s and 1 s cover the mock's),
// then retry; bounded in count.
async function call(what, fn) {
  for (let attempt = 0; attempt < 60 && !stopping; attempt++) {
    stats.requests++;
    try {
      return await fn();
    } catch (e) {
      const code = (e && (e.errorCode || e.name)) || '';
      if (code === 'REQUEST_LIMIT_EXCEEDED') {
        stats.limited++;
        await sleep(2100);
      } else if (/SERVER_UNAVAILABLE|UNKNOWN_EXCEPTION|ERROR_HTTP_5/.test(code)) {
        stats.errors5xx++;
        await sleep(1100);
      } else if (/ECONNREFUSED|ECONNRESET|FetchError/.test(code + (e && e.message))) {
        await sleep(500);
      } else {
        throw new Error(`${what}: ${code}: ${e && e.message}`);
      }
    }
  }
  throw new Error(`${what}: giving up`);
}

// The wire envelope of one sObject record (full state).
function toRecord(t, r) {
  const rid = t.pfx + '-' + pad6(sfNum(r.Id));
  const version = Number(r.Crmsync_Version__c);
  const lm = Date.parse(r.SystemModstamp.replace('+0000', 'Z'));
  if (!Number.isInteger(version) || !Number.isFinite(lm)) return null;
  const account = t.entity === 'account' ? rid
    : r.AccountId ? 'A-' + pad6(sfNum(r.AccountId)) : rid;
  const fields = r.IsDeleted ? {} : lib.sfFields(t, r);
  const rec = {
    event_id: `poll-${rid}-v${version}`, entity: t.entity, record_id: rid,
    account_id: account, change_type: r.IsDeleted ? 'delete' : 'update',
    version, commit_ts_ms: lm, fields, polled: true, full_state: true,
    connector: { source_cursor: `${t.sf}@${lm}/${r.Id}`,
      ingest_ts_ms: Date.now(), via: 'poll' },
  };
  if (r.IsDeleted && r.MasterRecordId)
    rec.merged_into = 'A-' + pad6(sfNum(r.MasterRecordId));
  return rec;
}

class Connector {
  constructor() {
    const oauth2 = new jsforce.OAuth2({ loginUrl: lib.env.crm,
      clientId: 'crmsync-connected-app', clientSecret: 'crmsync-secret',
      redirectUri: 'http://127.0.0.1/callback' });
    this.oauth2 = oauth2;
    // After login() jsforce logs in again by itself when a request gets
    // 401 INVALID_SESSION_ID (its username-password refresh), then emits
    // 'refresh'.
    this.conn = new jsforce.Connection({ oauth2, version: '59.0' });
    this.conn.on('refresh', () => { stats.relogins++; });
    this.producer = lib.producer('salesforce-connector');
    this.wm = cursor.load(); // sObject -> SystemModstamp ms (GTE)
    this.seen = new Map();  // entity/id -> version produced
    this.lastLookback = 0;
  }

  async produce(t, recs) {
    const msgs = [];
    for (const r of recs) {
      const rec = toRecord(t, r);
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

  // One SOQL query through every batch (nextRecordsUrl); produces and
  // returns its records.
  async queryAll(t, where) {
    const cols = ['Id', 'IsDeleted', 'SystemModstamp', 'Crmsync_Version__c',
      'MasterRecordId'].concat(t.entity === 'account' ? [] : ['AccountId'],
      Object.keys(t.fields));
    const soql = `SELECT ${cols.join(', ')} FROM ${t.sf} WHERE ${where} ` +
      `ORDER BY SystemModstamp, Id LIMIT ${PAGE}`;
    let res = await call(`query ${t.sf}`, () => this.conn.query(soql, {
      scanAll: true, autoFetch: false,
      headers: { 'Sforce-Query-Options': `batchSize=${BATCH}` } }));
    const all = [];
    for (let page = 0; page < 100000 && !stopping; page++) {
      await this.produce(t, res.records);
      all.push(...res.records);
      if (res.done || !res.nextRecordsUrl) break;
      const next = res.nextRecordsUrl;
      res = await call(`queryMore ${t.sf}`, () => this.conn.queryMore(next));
    }
    return all;
  }

  // One object from `since`, keyset paging on (SystemModstamp, Id):
  // each query goes on GTE the last timestamp (its records come again
  // and are skipped as seen); a page of one timestamp goes on with
  // Id > the last id inside it. Returns the newest timestamp delivered.
  async pollType(t, since) {
    const ms = (r) => Date.parse(r.SystemModstamp.replace('+0000', 'Z'));
    let from = since, newest = since;
    for (let q = 0; q < 100000 && !stopping; q++) {
      const recs = await this.queryAll(t,
        `SystemModstamp ${BUG_STRICT_GT ? '>' : '>='} ${soqlTime(from)}`);
      if (recs.length) newest = Math.max(newest, ms(recs[recs.length - 1]));
      if (recs.length < PAGE) break;
      const last = ms(recs[recs.length - 1]);
      if (BUG_STRICT_GT || ms(recs[0]) < last) { from = last; continue; }
      let lastId = recs[recs.length - 1].Id;
      for (let k = 0; k < 100000 && !stopping; k++) {
        const tie = await this.queryAll(t, `SystemModstamp = ${soqlTime(last)}` +
          ` AND Id > '${lastId}'`);
        if (tie.length < PAGE) break;
        lastId = tie[tie.length - 1].Id;
      }
      from = last + 1;
    }
    return newest;
  }

  async round() {
    const now = Date.now();
    const lookback = !BUG_STRICT_GT && now - this.lastLookback >= LOOKBACK_MS / 4;
    if (lookback) this.lastLookback = now;
    for (const t of TYPES) {
      if (stopping) break;
      const wm = this.wm[t.sf] || 0;
      const since = lookback ? Math.max(0, wm - LOOKBACK_MS) : wm;
      const newest = await this.pollType(t, since);
      if (!stopping) this.wm[t.sf] = Math.max(wm, newest);
    }
    if (!stopping) cursor.save(this.wm);
  }

  async run() {
    if (BUG_RETRY_STORM)
      jsforceRequest.setDefaults({ retry: { maxRetries: 50, minTimeout: 100,
        timeoutFactor: 1 } });
    else if (!KEEP_SDK_RETRY)
      jsforceRequest.setDefaults({ retry: { maxRetries: 0 } });
    await this.producer.connect();
    await call('login', () => this.conn.login('connector@example.test', 'password'));
    log(`polling ${this.conn.instanceUrl} (SOQL queryAll, lookback ${LOOKBACK_MS} ms)` +
      (BUG_STRICT_GT ? ' with bug strict-gt' : '') +
      (BUG_RETRY_STORM ? ' with bug retry-storm' : ''));
    let lastStats = Date.now();
    while (!stopping) {
      await this.round();
      if (Date.now() - lastStats > 2000) {
        lastStats = Date.now();
        log(`requests ${stats.requests} produced ${stats.produced} ` +
          `limited ${stats.limited} 5xx ${stats.errors5xx} relogins ${stats.relogins}`);
      }
      await sleep(IDLE_MS);
    }
  }
}

let c = null;
lib.main({ log, stop: () => { stopping = true; }, stopping: () => stopping,
  run: () => (c = new Connector()).run(),
  finish: async () => {
    await c.producer.disconnect().catch(() => {});
    log(`stopped: requests ${stats.requests} produced ${stats.produced} ` +
      `relogins ${stats.relogins}`);
  } });
