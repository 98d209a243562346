'use strict';
'require baseclass';
'require rpc';

/*
 * Shared by the smsgw views: the rpc calls (every ubus method the pages use is declared
 * here and nowhere else), the SMS parts counter, and the validators that mirror the
 * daemon's own checks (src/config, src/http/cidr.rs).
 *
 * The rpc methods are answered by the rpcd plugin /usr/libexec/rpcd/smsgw, which talks to
 * the daemon's HTTP API with the API token; the browser never sees the token. Each answer
 * is { reachable, code, json | text, error }: `error` when the daemon could not be reached,
 * else the daemon's HTTP status and its body.
 */

var callStatus = rpc.declare({
	object: 'smsgw',
	method: 'status',
	expect: { '': {} }
});

var callSend = rpc.declare({
	object: 'smsgw',
	method: 'send',
	params: [ 'phone', 'message' ],
	expect: { '': {} }
});

var callMessages = rpc.declare({
	object: 'smsgw',
	method: 'messages',
	params: [ 'box', 'limit' ],
	expect: { '': {} }
});

var callDelete = rpc.declare({
	object: 'smsgw',
	method: 'delete',
	params: [ 'id' ],
	expect: { '': {} }
});

var callServiceList = rpc.declare({
	object: 'service',
	method: 'list',
	params: [ 'name' ],
	expect: { '': {} }
});

/* GSM 03.38 default alphabet (one septet each) and extension table (two septets each). */
var GSM7_BASIC = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
	'¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
var GSM7_EXTENSION = '\f^{}\\[~]|€';

/* Cuts `units` (an array) like the daemon's pdu::split: one part if it fits `single`, else
 * parts of `perPart`, moving a cut back by one when the last unit starts a pair. */
function countParts(units, single, perPart, joinsNext) {
	if (units.length <= single)
		return 1;
	var parts = 0, pos = 0;
	while (pos < units.length) {
		var cut = Math.max(1, Math.min(perPart, units.length - pos));
		if (pos + cut < units.length && cut > 1 && joinsNext(units[pos + cut - 1]))
			cut--;
		pos += cut;
		parts++;
	}
	return parts;
}

/* How the daemon will send `text`: { encoding: 'GSM 7-bit' | 'UCS-2', units, parts,
 * perPart, left } where units are septets (GSM) or UTF-16 code units (UCS-2), perPart is
 * what one part holds (160/70 alone, 153/67 in a multipart message) and left is what still
 * fits in the last part. Escape pairs and surrogate pairs are never split across parts. */
function smsParts(text) {
	var septets = [], gsm = true;
	text = String(text == null ? '' : text);
	for (var i = 0; i < text.length && gsm; i++) {
		var c = text.charAt(i);
		if (c !== '\x1b' && GSM7_BASIC.indexOf(c) >= 0) {
			septets.push(0);
		}
		else if (GSM7_EXTENSION.indexOf(c) >= 0) {
			septets.push(27, 0);
		}
		else {
			gsm = false;
		}
	}
	var units, single, multi, joins;
	if (gsm) {
		units = septets;
		single = 160; multi = 153;
		joins = function(u) { return u === 27; };
	}
	else {
		units = [];
		for (var j = 0; j < text.length; j++)
			units.push(text.charCodeAt(j));
		single = 70; multi = 67;
		joins = function(u) { return u >= 0xD800 && u <= 0xDBFF; };
	}
	var parts = units.length ? countParts(units, single, multi, joins) : 0;
	var perPart = parts > 1 ? multi : single;
	var left = parts > 1 ? (parts * multi - units.length) : (single - units.length);
	return {
		encoding: gsm ? 'GSM 7-bit' : 'UCS-2',
		units: units.length,
		parts: parts,
		perPart: perPart,
		left: Math.max(0, left)
	};
}

/* A decimal the daemon's number parser takes (`trim().parse::<u64>()`, at most `max`). */
function checkNumber(value, max) {
	var v = String(value == null ? '' : value).trim();
	if (!/^\+?[0-9]+$/.test(v))
		return false;
	v = v.replace(/^\+/, '').replace(/^0+(?=[0-9])/, '');
	var limit = String(max);
	return v.length < limit.length || (v.length === limit.length && v <= limit);
}

function isIPv4(s) {
	var m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
	if (!m)
		return false;
	for (var i = 1; i <= 4; i++)
		if ((m[i].length > 1 && m[i].charAt(0) === '0') || +m[i] > 255)
			return false;
	return true;
}

function isIPv6(s) {
	if (!/^[0-9A-Fa-f:.]+$/.test(s) || s.indexOf(':') < 0)
		return false;
	try {
		return new URL('http://[' + s + ']/').hostname.length > 2;
	}
	catch (e) {
		return false;
	}
}

/* The daemon's parse_socket_addr: IPv4:PORT, [IPv6]:PORT or localhost:PORT, no host names. */
function checkListen(value) {
	var v = String(value == null ? '' : value).trim();
	var m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):([0-9]{1,5})$/.exec(v);
	if (!m || +m[3] > 65535 || (m[3].length > 1 && m[3].charAt(0) === '0'))
		return false;
	return m[1] != null ? isIPv6(m[1].replace(/%[0-9]+$/, '')) : (m[2] === 'localhost' || isIPv4(m[2]));
}

/* The daemon's Cidr::parse: an address, optionally /prefix (<= 32 or <= 128). */
function checkCidr(value) {
	var v = String(value == null ? '' : value).trim();
	var slash = v.indexOf('/');
	var addr = slash < 0 ? v : v.substring(0, slash);
	var prefix = slash < 0 ? null : v.substring(slash + 1);
	var max = isIPv4(addr) ? 32 : (isIPv6(addr) ? 128 : -1);
	if (max < 0)
		return false;
	return prefix === null || (/^[0-9]{1,3}$/.test(prefix) && +prefix <= max);
}

/* A phone number as the daemon takes it: digits with an optional leading +. */
function checkPhone(value) {
	return /^\+?[0-9]+$/.test(String(value == null ? '' : value).trim());
}

/* The one line the daemon answered (or why it could not be asked). */
function daemonError(res) {
	if (!res)
		return _('No answer from the rpcd plugin');
	if (res.error)
		return res.error;
	if (res.code >= 200 && res.code < 300)
		return null;
	if (res.json && typeof res.json.error === 'string')
		return res.json.error;
	if (typeof res.text === 'string' && res.text.trim() !== '')
		return res.text.trim().split('\n')[0];
	return _('HTTP status %d').format(res.code);
}

/* Signal bars 0..5 from dBm, the steps most modems' LEDs use (-113 dBm is CSQ 0). */
function signalBars(dbm) {
	if (dbm == null || isNaN(dbm))
		return 0;
	var steps = [ -105, -97, -89, -81, -73 ];
	var bars = 0;
	for (var i = 0; i < steps.length; i++)
		if (dbm >= steps[i])
			bars++;
	return bars;
}

return baseclass.extend({
	callStatus: callStatus,
	callSend: callSend,
	callMessages: callMessages,
	callDelete: callDelete,
	callServiceList: callServiceList,
	smsParts: smsParts,
	checkNumber: checkNumber,
	checkListen: checkListen,
	checkCidr: checkCidr,
	checkPhone: checkPhone,
	daemonError: daemonError,
	signalBars: signalBars,

	/* procd's view of the service: true (running), false (not running) */
	serviceRunning: function() {
		return L.resolveDefault(callServiceList('smsgw'), {}).then(function(res) {
			var instances = (res && res.smsgw && res.smsgw.instances) || {};
			for (var name in instances)
				if (instances[name] && instances[name].running)
					return true;
			return false;
		});
	}
});
