// Prints the settings page's fields as JSON lines by rendering view/smsgw/settings.js
// against the mock form: {"name","widget","tab","accepts":{SAMPLE:true|false}} where accepts
// says whether the field's validation lets each sample value through (SAMPLES: JSON array
// in argv[2]). scripts/test.d/45-luci compares this with the daemon's options and checks.
'use strict';
const { LuciMock, load } = require('./node-load.js');

const samples = JSON.parse(process.argv[2] || '[]');
load('view.smsgw.settings')
  .then((v) => v.render())
  .then(() => {
    for (const o of LuciMock.fields) {
      const accepts = {};
      for (const s of samples) accepts[s] = o.validate ? o.validate('main', s) === true : true;
      console.log(JSON.stringify({ name: o.option, widget: o.widget, tab: o.tab, accepts }));
    }
  })
  .catch((e) => { console.error(e); process.exit(1); });
