// lib.js -- what the test connectors (hubspot-connector.js,
// salesforce-connector.js, salesforce-cdc-connector.js) share: their
// environment (docs/wire-contracts.md, pipeline.connector.command), a
// log line prefix, the cursor file in the run folder, the Kafka producer
// and the wire message, the Salesforce sObject mapping, and main()'s
// frame (stop on SIGTERM/SIGINT, fatal errors exit 1).
'use strict';

const fs = require('fs');
const path = require('path');
const { Kafka, Partitioners, logLevel } = require('kafkajs');

const env = {
  crm: process.env.CRMSYNC_CRM_URL,
  bootstrap: process.env.CRMSYNC_BOOTSTRAP_SERVERS,
  topic: process.env.CRMSYNC_TOPIC || 'crm.changes',
  runDir: process.env.CRMSYNC_RUN_DIR || '.',
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pad6 = (n) => String(n).padStart(6, '0');
const pad8 = (n) => String(n).padStart(8, '0');
// Salesforce "001000000000017AAA" -> 17
const sfNum = (id) => Number(String(id).slice(3, 15));

function logger(name) {
  return (msg) => process.stderr.write(`${name}: ${msg}\n`);
}

// The number after option name on the command line, or def.
function argNum(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

// A JSON cursor file in the run folder, replaced atomically.
function cursorFile(name) {
  const file = path.join(env.runDir, name);
  return {
    load() {
      try {
        return JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (e) {
        return {}; // first start
      }
    },
    save(value) {
      fs.writeFileSync(file + '.tmp', JSON.stringify(value));
      fs.renameSync(file + '.tmp', file);
    },
  };
}

function producer(clientId) {
  const kafka = new Kafka({ clientId, brokers: env.bootstrap.split(','),
    logLevel: logLevel.WARN, retry: { retries: 10 } });
  return kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
}

// The Kafka message of a wire record: keyed by its account (the ordering
// scope), its event id in a header.
function message(rec) {
  return { key: rec.account_id, value: JSON.stringify(rec),
    headers: { event_id: rec.event_id, schema_version: '1' } };
}

// sObject -> crmsync entity, id letter, field mapping [field, type]
// (docs/wire-contracts.md#salesforce).
const SF_TYPES = [
  { sf: 'Account', entity: 'account', pfx: 'A', fields: {
    Name: ['name', 's'], Industry: ['industry', 's'], Tier__c: ['tier', 's'],
    Owner__c: ['owner', 's'], AnnualRevenue: ['annual_revenue', 'i'] } },
  { sf: 'Contact', entity: 'contact', pfx: 'C', fields: {
    Email: ['email', 's'], FirstName: ['first_name', 's'],
    LastName: ['last_name', 's'], Title: ['title', 's'],
    Consent_Email__c: ['consent_email', 'b'], Consent_SMS__c: ['consent_sms', 'b'] } },
  { sf: 'Opportunity', entity: 'opportunity', pfx: 'O', fields: {
    Name: ['name', 's'], StageName: ['stage', 's'], Amount: ['amount', 'i'] } },
  { sf: 'Entitlement', entity: 'entitlement', pfx: 'E', fields: {
    Name: ['sku', 's'], Seats__c: ['seats', 'i'], EndDate: ['ends_on', 's'] } },
];

// The crmsync fields of a Salesforce record or change event payload.
function sfFields(t, obj) {
  const fields = {};
  for (const [name, [field, type]] of Object.entries(t.fields)) {
    const v = obj[name];
    if (v === undefined || v === null) continue;
    fields[field] = type === 'i' ? Number(v) : type === 'b' ? Boolean(v) : String(v);
  }
  return fields;
}

// main()'s frame: the environment checked, stop() on SIGTERM and SIGINT,
// run() awaited (an error exits 1 unless stopping() says it was asked
// to stop), then finish() and exit 0.
async function main({ log, stop, stopping, run, finish }) {
  if (!env.crm || !env.bootstrap) {
    log('CRMSYNC_CRM_URL and CRMSYNC_BOOTSTRAP_SERVERS must be set');
    process.exit(2);
  }
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    await run();
  } catch (e) {
    if (!stopping()) {
      log(`fatal: ${e.message}`);
      process.exit(1);
    }
  }
  await finish();
  process.exit(0);
}

module.exports = { env, sleep, pad6, pad8, sfNum, logger, argNum, cursorFile,
  producer, message, SF_TYPES, sfFields, main };
