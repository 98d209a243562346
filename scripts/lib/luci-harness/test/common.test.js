// node --test: the send page's parts counter and the settings page's validators
// (htdocs/luci-static/resources/smsgw/common.js), loaded through the LuCI mock.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { load } = require('../node-load.js');

const common = () => load('smsgw.common');
const parts = async (t) => (await common()).smsParts(t);

test('gsm text fits 160 septets in one part and 153 per part after that', async () => {
  assert.strictEqual((await parts('a'.repeat(160))).parts, 1);
  assert.strictEqual((await parts('a'.repeat(161))).parts, 2);
  assert.strictEqual((await parts('a'.repeat(306))).parts, 2);
  assert.strictEqual((await parts('a'.repeat(307))).parts, 3);
  assert.strictEqual((await parts('a'.repeat(161))).left, 306 - 161);
  assert.strictEqual((await parts('')).parts, 0);
});

test('extension characters count two septets', async () => {
  const p = await parts('€'.repeat(80));
  assert.strictEqual(p.encoding, 'GSM 7-bit');
  assert.strictEqual(p.units, 160);
  assert.strictEqual(p.parts, 1);
  assert.strictEqual((await parts('€'.repeat(80) + 'a')).parts, 2);
  assert.strictEqual((await parts('{}[]~|^\\\f')).units, 18);
});

test('an escape pair is never split at the 153-septet boundary', async () => {
  // 152 + ESC,e at 153/154: the pair moves to part 2, so 152 + 154 = 306 septets need 3 parts
  assert.strictEqual((await parts('a'.repeat(152) + '€' + 'a'.repeat(152))).parts, 3);
  // the same length without the pair straddling fits 2 parts
  assert.strictEqual((await parts('a'.repeat(151) + '€' + 'a'.repeat(153))).parts, 2);
});

test('non-gsm text is UCS-2 with 70 units alone and 67 per part', async () => {
  assert.strictEqual((await parts('ж'.repeat(70))).parts, 1);
  assert.strictEqual((await parts('ж'.repeat(71))).parts, 2);
  assert.strictEqual((await parts('ж'.repeat(134))).parts, 2);
  assert.strictEqual((await parts('ж'.repeat(135))).parts, 3);
  assert.strictEqual((await parts('a€ж')).encoding, 'UCS-2');
});

test('surrogate pairs count two units and are never split', async () => {
  assert.strictEqual((await parts('😀'.repeat(35))).units, 70);
  assert.strictEqual((await parts('😀'.repeat(35))).parts, 1);
  // 66 + pair at 67/68: the pair moves, each part carries 33 emoji (66 units)
  assert.strictEqual((await parts('😀'.repeat(66))).parts, 2);
  assert.strictEqual((await parts('😀'.repeat(67))).parts, 3);
});

test('listen addresses are checked like the daemon (IP:PORT, no host names)', async () => {
  const c = await common();
  for (const ok of ['0.0.0.0:8767', '127.0.0.1:1', '[::1]:80', '[::]:8767', 'localhost:8767', ' 10.0.0.1:65535 '])
    assert.ok(c.checkListen(ok), ok);
  for (const bad of ['router.lan:80', '0.0.0.0', '1.2.3.4:65536', '01.2.3.4:1', '::1:80', '[::1]', '1.2.3:80', ''])
    assert.ok(!c.checkListen(bad), bad);
});

test('client networks are checked like the daemon', async () => {
  const c = await common();
  for (const ok of ['192.168.0.0/16', '10.0.0.1', '::1/128', 'fc00::/7', '0.0.0.0/0'])
    assert.ok(c.checkCidr(ok), ok);
  for (const bad of ['10.0.0.0/33', '::/129', 'lan', '10.0.0.0/', '300.1.1.1'])
    assert.ok(!c.checkCidr(bad), bad);
});

test('numbers are checked against the daemon type range', async () => {
  const c = await common();
  assert.ok(c.checkNumber('4294967295', 4294967295));
  assert.ok(!c.checkNumber('4294967296', 4294967295));
  assert.ok(c.checkNumber(' 60 ', 4294967295));
  assert.ok(!c.checkNumber('-1', 4294967295));
  assert.ok(!c.checkNumber('1.5', 4294967295));
  assert.ok(c.checkNumber('18446744073709551615', '18446744073709551615'));
  assert.ok(!c.checkNumber('18446744073709551616', '18446744073709551615'));
});

test('the daemon error line is what the page shows', async () => {
  const c = await common();
  assert.strictEqual(c.daemonError({ reachable: true, code: 200, text: 'done x' }), null);
  assert.strictEqual(c.daemonError({ reachable: true, code: 403, text: 'wrong token\n' }), 'wrong token');
  assert.strictEqual(c.daemonError({ reachable: true, code: 404, json: { error: 'not found' } }), 'not found');
  assert.strictEqual(c.daemonError({ reachable: false, error: 'Connection refused' }), 'Connection refused');
});

test('signal bars follow dBm', async () => {
  const c = await common();
  assert.strictEqual(c.signalBars(null), 0);
  assert.strictEqual(c.signalBars(-113), 0);
  assert.strictEqual(c.signalBars(-69), 5);
  assert.strictEqual(c.signalBars(-90), 2);
});
