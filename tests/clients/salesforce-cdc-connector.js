#!/usr/bin/env node
// salesforce-cdc-connector.js -- a CRM-to-Kafka connector on Salesforce
// Change Data Capture: jsforce's Streaming API client (CometD/Bayeux, its
// Replay extension) subscribes to /data/ChangeEvents of crmsync's mock CRM
// (docs/crm-dialects.md) and kafkajs produces each change in the
// connector's wire envelope (docs/wire-contracts.md): event id e-<seq>
// from ChangeEventHeader.commitNumber, version from Crmsync_Version__c,
// changed fields mapped back. Gap events (GAP_*) and moves (an UPDATE
// that changes AccountId) are resolved by reading the record with SOQL
// queryAll and produced as full state (resolved_gap, resolved_move), as
// the reference connector does. The replayId of the last change Kafka
// acknowledged is kept in $CRMSYNC_RUN_DIR/salesforce-cdc.cursor.json;
// a restart replays from it (-2, every retained change, the first time).
//
// GAP_OVERFLOW (a transaction's changes beyond Salesforce's threshold:
// one header-only event per entity type, no record id) is resolved by
// re-reading that type's records changed since its commitTimestamp (SOQL
// queryAll), each produced as full state (poll-<id>-v<N>). An event whose
// recordIds lists several records (identical changes of one transaction)
// is produced once per record, with the change's own event id and
// version from Crmsync_Seqs__c and Crmsync_Versions__c. When the session
// ends (401::Authentication invalid, advice reconnect none: jsforce's
// AuthFailure extension), it logs in again and subscribes anew after the
// last replayId it received.
//
// --bug-skip-gaps: the mistake the harness must catch: gap events carry
// no fields, and this connector drops them instead of reading the record.
// --bug-ignore-overflow: GAP_OVERFLOW events are dropped (no re-read).
'use strict';

const jsforce = require('jsforce');
const jsforceRequest = require('jsforce/lib/request');
const { StreamingExtension } = require('jsforce/lib/api/streaming');
const lib = require('./lib');

const { sleep, pad6, pad8, sfNum } = lib;
const BUG_SKIP_GAPS = process.argv.includes('--bug-skip-gaps');
const BUG_IGNORE_OVERFLOW = process.argv.includes('--bug-ignore-overflow');
const CHANNEL = '/data/ChangeEvents';
const cursor = lib.cursorFile('salesforce-cdc.cursor.json');
const TYPES = Object.fromEntries(lib.SF_TYPES.map((t) => [t.sf, t]));
const log = lib.logger('salesforce-cdc');
const acctOf = (sfId) => 'A-' + pad6(sfNum(sfId));

let stopping = false;
const stats = { events: 0, produced: 0, gaps: 0, moves: 0, lookups: 0,
  overflows: 0, merged: 0, relogins: 0 };

class Connector {
  constructor() {
    const oauth2 = new jsforce.OAuth2({ loginUrl: lib.env.crm,
      clientId: 'crmsync-connected-app', clientSecret: 'crmsync-secret',
      redirectUri: 'http://127.0.0.1/callback' });
    this.conn = new jsforce.Connection({ oauth2, version: '59.0' });
    this.producer = lib.producer('salesforce-cdc');
    this.queue = [];
    this.accounts = new Map(); // record id -> account id
    const cur = cursor.load();
    this.replayId = Number.isInteger(cur.replayId) ? cur.replayId : -2;
  }

  columns(t) {
    return ['Id', 'IsDeleted', 'SystemModstamp', 'Crmsync_Version__c']
      .concat(t.entity === 'account' ? [] : ['AccountId'], Object.keys(t.fields));
  }

  // The record now (deleted ones too), by SOQL queryAll. A record the
  // query does not list yet (its change is still on the way to the
  // query index) is asked for again, for up to 10 s.
  async read(sobject, t, sfId) {
    stats.lookups++;
    for (let attempt = 0; attempt < 40 && !stopping; attempt++) {
      try {
        const res = await this.conn.query(
          `SELECT ${this.columns(t).join(', ')} FROM ${sobject} WHERE Id = '${sfId}'`,
          { scanAll: true });
        if (res.records[0]) return res.records[0];
        await sleep(250);
      } catch (e) {
        await sleep(1100); // limits and 5xx: the mock's Retry-After is 1 s
      }
    }
    throw new Error(`cannot read ${sobject} ${sfId}`);
  }

  // Every record of sobject changed at or after ms (deleted ones too).
  async readSince(sobject, t, ms) {
    stats.lookups++;
    const q = `SELECT ${this.columns(t).join(', ')} FROM ${sobject} ` +
      `WHERE SystemModstamp >= ${new Date(ms).toISOString()} ` +
      'ORDER BY SystemModstamp, Id';
    for (let attempt = 0; attempt < 40 && !stopping; attempt++) {
      try {
        const res = await this.conn.query(q,
          { scanAll: true, autoFetch: true, maxFetch: 100000 });
        return res.records;
      } catch (e) {
        await sleep(1100);
      }
    }
    throw new Error(`cannot read ${sobject} since ${ms}`);
  }

  // A record read back as a full-state wire record (rec: its envelope).
  fullState(t, r, rid, rec, flag) {
    const account = t.entity === 'account' ? rid
      : r.AccountId ? acctOf(r.AccountId) : rid;
    this.accounts.set(rid, account);
    return Object.assign(rec, { entity: t.entity, record_id: rid,
      account_id: account, change_type: r.IsDeleted ? 'delete' : 'update',
      version: Number(r.Crmsync_Version__c),
      fields: r.IsDeleted ? {} : lib.sfFields(t, r), full_state: true,
      [flag]: true });
  }

  async accountOf(sobject, t, rid, sfId) {
    if (t.entity === 'account') return rid;
    if (!this.accounts.has(rid)) {
      const r = await this.read(sobject, t, sfId);
      if (r && r.AccountId) this.accounts.set(rid, acctOf(r.AccountId));
    }
    return this.accounts.get(rid) || rid;
  }

  // One CDC message -> its wire records (none to skip).
  async toRecords(msg) {
    const p = msg.payload, h = p.ChangeEventHeader;
    const t = TYPES[h.entityName];
    if (!t) return [];
    const cursor = { source_cursor: String(msg.event.replayId),
      ingest_ts_ms: Date.now(), via: 'cdc' };
    if (h.changeType === 'GAP_OVERFLOW') {
      if (BUG_IGNORE_OVERFLOW) return [];
      stats.overflows++;
      const rs = await this.readSince(h.entityName, t, h.commitTimestamp);
      return rs.map((r) => {
        const rid = t.pfx + '-' + pad6(sfNum(r.Id));
        const v = Number(r.Crmsync_Version__c);
        return this.fullState(t, r, rid, { event_id: `poll-${rid}-v${v}`,
          connector: cursor }, 'polled');
      });
    }
    // Several records: each its own change (seq and version by id).
    const seqs = p.Crmsync_Seqs__c ? p.Crmsync_Seqs__c.split(';').map(Number)
      : [h.commitNumber];
    const vers = p.Crmsync_Versions__c
      ? p.Crmsync_Versions__c.split(';').map(Number) : [p.Crmsync_Version__c];
    if (h.recordIds.length > 1) stats.merged++;
    const out = [];
    for (let i = 0; i < h.recordIds.length; i++) {
      const one = Object.assign({}, p, { Crmsync_Version__c: vers[i] });
      const r = await this.toRecord(h, t, one, h.recordIds[i], seqs[i], cursor);
      if (r) out.push(r);
    }
    return out;
  }

  // The change of one record (sfId) of a change event.
  async toRecord(h, t, p, sfId, seq, cursor) {
    const rid = t.pfx + '-' + pad6(sfNum(sfId));
    const rec = { event_id: 'e-' + pad8(seq), seq,
      entity: t.entity, record_id: rid, transaction_key: h.transactionKey,
      sequence_number: h.sequenceNumber - 1, commit_ts_ms: h.commitTimestamp,
      connector: Object.assign({}, cursor) };
    const gap = h.changeType.startsWith('GAP_');
    const move = h.changeType === 'UPDATE' && h.changedFields.includes('AccountId');
    if (gap && BUG_SKIP_GAPS) return null;
    if (gap || move) {
      // Read the record and produce its whole state.
      const r = await this.read(h.entityName, t, sfId);
      if (!r) return null;
      if (gap) stats.gaps++; else stats.moves++;
      return this.fullState(t, r, rid, rec,
        gap ? 'resolved_gap' : 'resolved_move');
    }
    if (p.AccountId) this.accounts.set(rid, acctOf(p.AccountId));
    const account = await this.accountOf(h.entityName, t, rid, sfId);
    return Object.assign(rec, { account_id: account,
      change_type: h.changeType.toLowerCase(), version: Number(p.Crmsync_Version__c),
      fields: h.changeType === 'DELETE' ? {} : lib.sfFields(t, p) });
  }

  // Drain the queue in order, a batch at a time; the cursor moves only
  // after Kafka acknowledged the batch.
  async pump() {
    while (!stopping) {
      if (this.queue.length === 0) { await sleep(20); continue; }
      const batch = this.queue.splice(0, 200);
      const msgs = [];
      for (const m of batch) {
        stats.events++;
        for (const rec of await this.toRecords(m))
          if (Number.isInteger(rec.version)) msgs.push(lib.message(rec));
      }
      if (msgs.length)
        await this.producer.send({ topic: lib.env.topic, acks: -1, messages: msgs });
      stats.produced += msgs.length;
      this.replayId = batch[batch.length - 1].event.replayId;
      cursor.save({ replayId: this.replayId });
    }
  }

  // A CometD client after the last replayId received (queued), with
  // jsforce's AuthFailure extension: a session that ended is answered
  // with advice reconnect none, and the client is replaced.
  subscribe() {
    const from = this.received !== undefined ? this.received : this.replayId;
    const onAuthFailure = (m) => {
      if (this.client !== client || stopping) return;
      log(`session ended (${m.error || (m.ext && m.ext.sfdc && m.ext.sfdc.failureReason)}): logging in again`);
      this.relogin(client).catch((e) => { log(`fatal: ${e.message}`); process.exit(1); });
    };
    const client = this.conn.streaming.createClient([
      new StreamingExtension.Replay(CHANNEL, from),
      new StreamingExtension.AuthFailure(onAuthFailure)]);
    this.client = client;
    client.subscribe(CHANNEL, (m) => {
      if (this.client !== client) return;
      this.received = m.event.replayId;
      this.queue.push(m);
    });
    log(`subscribed to ${CHANNEL} at ${this.conn.instanceUrl} from replayId ` +
      `${from}` + (BUG_SKIP_GAPS ? ' with bug skip-gaps' : '') +
      (BUG_IGNORE_OVERFLOW ? ' with bug ignore-overflow' : ''));
  }

  async login() {
    for (let attempt = 0; ; attempt++) {
      try { await this.conn.login('connector@example.test', 'password'); return; }
      catch (e) { if (attempt > 30) throw e; await sleep(1100); }
    }
  }

  async relogin(old) {
    stats.relogins++;
    try { old.disconnect(); } catch (e) { /* the session is gone anyway */ }
    await this.login();
    this.subscribe();
  }

  async run() {
    jsforceRequest.setDefaults({ retry: { maxRetries: 0 } });
    await this.producer.connect();
    await this.login();
    this.subscribe();
    const timer = setInterval(() => log(`events ${stats.events} produced ` +
      `${stats.produced} gaps ${stats.gaps} moves ${stats.moves} lookups ` +
      `${stats.lookups} overflows ${stats.overflows} merged ${stats.merged} ` +
      `relogins ${stats.relogins}`), 2000);
    await this.pump();
    clearInterval(timer);
    this.client.disconnect();
  }
}

let c = null;
lib.main({ log, stop: () => { stopping = true; }, stopping: () => stopping,
  run: () => (c = new Connector()).run(),
  finish: async () => {
    await c.producer.disconnect().catch(() => {});
    log(`stopped: events ${stats.events} produced ${stats.produced} gaps ` +
      `${stats.gaps} overflows ${stats.overflows} merged ${stats.merged} ` +
      `relogins ${stats.relogins}`);
  } });
