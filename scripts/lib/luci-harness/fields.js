// Prints the settings page's fields as JSON lines {"name","widget","tab"} by rendering
// view/smsgw/settings.js against the mock form (scripts/test.d/45-luci compares them with
// the daemon's options).
'use strict';
const { LuciMock, load } = require('./node-load.js');

load('view.smsgw.settings')
  .then((v) => v.render())
  .then(() => {
    for (const o of LuciMock.fields)
      console.log(JSON.stringify({ name: o.option, widget: o.widget, tab: o.tab }));
  })
  .catch((e) => { console.error(e); process.exit(1); });
