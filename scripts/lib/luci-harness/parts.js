// Reads JSON strings, one per line, on stdin; prints the parts count the send page shows
// for each (common.smsParts). scripts/test.d/45-luci compares it with `smsgw encode`.
'use strict';
const { load } = require('./node-load.js');

let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  load('smsgw.common').then((common) => {
    for (const line of input.split('\n').filter(Boolean))
      console.log(common.smsParts(JSON.parse(line)).parts);
  }).catch((e) => { console.error(e); process.exit(1); });
});
