// Runs a Zabbix webhook media type script the way Zabbix does: the script body is a function of
// `value` (the media type parameters as a JSON string) and may use Zabbix's `HttpRequest`
// object (addHeader, post, getStatus). This shim implements HttpRequest with curl, synchronously
// like Zabbix's own. Usage: node zabbix_webhook_shim.js SCRIPT.js PARAMS_JSON
'use strict';
const fs = require('fs');
const { execFileSync } = require('child_process');

class HttpRequest {
    constructor() { this.headers = []; this.status = 0; }
    addHeader(line) { this.headers.push(line); }
    getStatus() { return this.status; }
    post(url, data) {
        const args = ['-s', '-w', '\n%{http_code}', '--data-binary', '@-'];
        for (const h of this.headers) args.push('-H', h);
        args.push(url);
        const out = execFileSync('curl', args, { input: data }).toString();
        const cut = out.lastIndexOf('\n');
        this.status = Number(out.slice(cut + 1));
        return out.slice(0, cut);
    }
}

const [script, params] = process.argv.slice(2);
const run = new Function('value', 'HttpRequest', fs.readFileSync(script, 'utf8'));
try {
    console.log(run(params, HttpRequest));
} catch (e) {
    console.error('script failed: ' + e);
    process.exit(1);
}
