// Harness web server for the smsgw LuCI views (127.0.0.1 only). It stands in for uhttpd +
// rpcd: serves the views and the LuCI mock, answers the mock's ubus calls by running the
// real rpcd plugin (`PLUGIN call METHOD`, arguments as JSON on stdin, as rpcd does) with
// PATH limited to OpenWrt's default busybox applets, refuses calls the package's ACL does
// not grant, and serves /etc/config/smsgw (the test's copy) for uci.load.
//
//   node server.js --port-file F --plugin P --config C --bin-dir D --daemon-pid-file F [--uci-config U]
//
// --config is the UCI file the plugin reads (the test daemon's address and token file);
// --uci-config (default: the same) is what the settings form shows.
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');
const { execFile } = require('child_process');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const app = path.resolve(__dirname, '../../../openwrt-package/luci-app-smsgw');
const resources = path.join(app, 'htdocs/luci-static/resources');
const acl = JSON.parse(fs.readFileSync(path.join(app, 'root/usr/share/rpcd/acl.d/luci-app-smsgw.json'), 'utf8'));
const menu = path.join(app, 'root/usr/share/luci/menu.d/luci-app-smsgw.json');

function granted(object, method) {
  return Object.values(acl).some((g) => ['read', 'write'].some((k) =>
    ((g[k] && g[k].ubus && g[k].ubus[object]) || []).includes(method)));
}

// UCI file -> { section: { option: value | [values] } }, enough for the form mock.
function parseUci(text) {
  const out = {};
  let cur = null;
  for (const line of text.split('\n')) {
    const w = (line.match(/'[^']*'|"[^"]*"|[^\s#]+|#.*/g) || []).filter((x) => !x.startsWith('#'))
      .map((x) => x.replace(/^(['"])(.*)\1$/, '$2'));
    if (w[0] === 'config') cur = out[w[2] || w[1]] = {};
    else if (cur && w[0] === 'option') cur[w[1]] = w[2] ?? '';
    else if (cur && w[0] === 'list') (cur[w[1]] = Array.isArray(cur[w[1]]) ? cur[w[1]] : []).push(w[2] ?? '');
  }
  return out;
}

function daemonRunning() {
  try {
    const pid = parseInt(fs.readFileSync(args['daemon-pid-file'], 'utf8'), 10);
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return false;
  }
}

function send(res, code, type, body) {
  res.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

function serveFile(res, file) {
  fs.readFile(file, (err, data) => {
    if (err) return send(res, 404, 'text/plain', 'not found\n');
    const type = file.endsWith('.js') ? 'application/javascript' : file.endsWith('.css') ? 'text/css'
      : file.endsWith('.json') ? 'application/json' : 'text/html; charset=utf-8';
    send(res, 200, type, data);
  });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  let m;
  if (req.method === 'POST' && (m = /^\/ubus\/([\w.-]+)\/([\w-]+)$/.exec(url.pathname))) {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const [, object, method] = m;
      if (!granted(object, method))
        return send(res, 403, 'application/json', JSON.stringify({ error: `Access denied: ${object}.${method} is not in the ACL` }));
      if (object === 'service' && method === 'list')
        return send(res, 200, 'application/json', JSON.stringify(daemonRunning()
          ? { smsgw: { instances: { main: { running: true } } } } : {}));
      const input = JSON.stringify(Object.assign({ ubus_rpc_session: 'harness' }, JSON.parse(body || '{}')));
      const child = execFile('sh', [args.plugin, 'call', method], {
        env: { PATH: args['bin-dir'], SMSGW_CONFIG: args.config }, timeout: 20000,
      }, (err, stdout, stderr) => {
        try {
          send(res, 200, 'application/json', JSON.stringify(JSON.parse(stdout)));
        } catch (e) {
          send(res, 502, 'application/json', JSON.stringify({ error: `plugin output is not JSON: ${stdout}${stderr}` }));
        }
      });
      child.stdin.end(input);
    });
    return;
  }
  if (url.pathname === '/uci/smsgw')
    return send(res, 200, 'application/json', JSON.stringify(parseUci(fs.readFileSync(args['uci-config'] || args.config, 'utf8'))));
  if (url.pathname === '/menu.json') return serveFile(res, menu);
  if (url.pathname.startsWith('/luci-static/resources/'))
    return serveFile(res, path.join(resources, path.normalize(url.pathname.slice(23)).replace(/^(\.\.\/)+/, '')));
  if (url.pathname === '/' || url.pathname === '/page.html') return serveFile(res, path.join(__dirname, 'page.html'));
  if (/^\/harness\/[\w.-]+$/.test(url.pathname)) return serveFile(res, path.join(__dirname, url.pathname.slice(9)));
  send(res, 404, 'text/plain', 'not found\n');
});

server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(args['port-file'], String(server.address().port));
});
