// node --test: what the status and messages views render for the plugin's answers (the
// mock's E() builds plain objects in node; the tests look for the texts a user reads).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { load } = require('../node-load.js');

// All text in a tree built by E().
function texts(node) {
  if (node == null || node === false) return [];
  if (typeof node !== 'object') return [String(node)];
  if (Array.isArray(node)) return node.flatMap(texts);
  return texts(node.children);
}
const joined = (node) => texts(node).join(' | ');

test('outbox entries show their delivery state', async () => {
  const v = await load('view.smsgw.messages');
  const out = joined(v.renderBox('outbox', { reachable: true, code: 200, json: [
    { id: 'smsgw-1', to: '+491701234567', text: 'Backup finished', state: 'delivered', sent: '2026-11-28 22:47:15' },
    { id: 'smsgw-2', to: '+491701234567', text: 'Disk full', state: 'failed' },
  ] }));
  assert.match(out, /delivered/);
  assert.match(out, /failed/);
  assert.match(out, /Backup finished/);
  assert.match(out, /\+491701234567/);
});

test('inbox entries show the sender and a delete button', async () => {
  const v = await load('view.smsgw.messages');
  const out = joined(v.renderBox('inbox', { reachable: true, code: 200,
    json: [{ id: 'in-1', from: '+4930123456', text: 'Hallo', received: '26-11-28 10:00:00' }] }));
  assert.match(out, /\+4930123456/);
  assert.match(out, /Delete/);
});

test('a daemon without the messages API: the page says so', async () => {
  const v = await load('view.smsgw.messages');
  const out = joined(v.renderBox('inbox', { reachable: true, code: 404, json: { error: 'not found: use /cgi-bin/sms, /status or /metrics' } }));
  assert.match(out, /not available with this daemon version/);
});

test('messages with the daemon stopped say it is stopped', async () => {
  const v = await load('view.smsgw.messages');
  const out = joined(v.renderBox('outbox', { reachable: false, error: 'Connection refused at 127.0.0.1:8767' }));
  assert.match(out, /stopped \(Connection refused/);
});

test('status with the daemon stopped says not running and why', async () => {
  const v = await load('view.smsgw.status');
  const out = joined(v.renderTable(false, { reachable: false, error: 'Connection refused at 127.0.0.1:8767', listen: '0.0.0.0:8767' }));
  assert.match(out, /not running/);
  assert.match(out, /The daemon is stopped \(Connection refused/);
});

test('status of a running daemon shows signal, operator and counters', async () => {
  const v = await load('view.smsgw.status');
  const out = joined(v.renderTable(true, { reachable: true, code: 200, auth: 'token', listen: '0.0.0.0:8767', json: {
    version: '0.1.0', uptime_seconds: 3725, queue_depth: 2, sent: 7, failed: 1, accepted: 9, retried: 0, rejected: 3,
    last_error: '', modem: { state: 'ready', signal_dbm: -69, signal_quality: 'Excellent', registration: 'home', operator: 'Telekom.de' } } }));
  for (const want of [/running/, /-69 dBm \(Excellent\)/, /Telekom\.de/, /home/, /2 waiting/, /1h 2m 5s/, /never shown/])
    assert.match(out, want);
  assert.doesNotMatch(out, /not running/);
});

test('status shows the daemon refusal line', async () => {
  const v = await load('view.smsgw.status');
  const out = joined(v.renderTable(true, { reachable: true, code: 403, text: 'client address 127.0.0.1 not allowed\n' }));
  assert.match(out, /The daemon answered: client address 127.0.0.1 not allowed/);
});
