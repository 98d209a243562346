// Loads smsgw's LuCI modules in node through luci-mock.js (no DOM, no network): module
// sources come from openwrt-package/luci-app-smsgw/htdocs/luci-static/resources/.
'use strict';
const fs = require('fs');
const path = require('path');
const LuciMock = require('./luci-mock.js');

const resources = path.resolve(__dirname, '../../../openwrt-package/luci-app-smsgw/htdocs/luci-static/resources');
LuciMock.readSource = (name) => fs.readFileSync(path.join(resources, name.replace(/\./g, '/') + '.js'), 'utf8');
LuciMock.ubus = () => Promise.reject(new Error('no ubus in node'));
LuciMock.uciLoad = () => Promise.resolve({});

module.exports = { LuciMock, load: (name) => LuciMock.L.require(name) };
