'use strict';
'require view';
'require form';
'require smsgw.common as common';

/*
 * Services › SMS Gateway › Settings: every UCI option of smsgw.main, one field per option,
 * named as the option. Each option maps onto `smsgw serve --foo-bar VALUE` (option foo_bar);
 * the validation below mirrors what the daemon accepts, so a value saved here does not stop
 * the service from starting. Save & Apply commits /etc/config/smsgw; procd's reload trigger
 * (service_triggers in /etc/init.d/smsgw) then restarts the daemon.
 *
 * scripts/test.d/45-luci checks this field list against the daemon's option table.
 */

var U32 = 4294967295;
var U64 = '18446744073709551615';

function number(max) {
	return function(section_id, value) {
		if (value == null || value === '')
			return true;
		return common.checkNumber(value, max) ? true : _('Expecting a whole number from 0 to %s').format(max);
	};
}

function listen(section_id, value) {
	if (value == null || value === '')
		return true;
	return common.checkListen(value) ? true
		: _('Expecting IP:PORT, [IPv6]:PORT or localhost:PORT (no host names), e.g. 0.0.0.0:8767');
}

function cidr(section_id, value) {
	if (value == null || value === '')
		return true;
	return common.checkCidr(value) ? true : _('Expecting an address or network, e.g. 192.168.1.0/24');
}

function prefix(section_id, value) {
	if (value == null || value === '')
		return true;
	return common.checkPhone(value) ? true : _('Expecting digits with an optional leading +, e.g. +49');
}

function phone(section_id, value) {
	if (value == null || value === '')
		return true;
	return common.checkPhone(value) ? true : _('Expecting a phone number: digits with an optional leading +');
}

function url(section_id, value) {
	if (value == null || value === '')
		return true;
	return /^http:\/\/[^\s\/]+(\/\S*)?$/.test(value) ? true : _('Expecting a plain http:// URL');
}

/* A text field; `check` validates, `placeholder` shows the daemon's default. */
function value(s, tab, name, title, help, placeholder, check) {
	var o = s.taboption(tab, form.Value, name, title, help);
	if (placeholder != null)
		o.placeholder = placeholder;
	if (check)
		o.validate = check;
	o.rmempty = true;
	return o;
}

function seconds(s, tab, name, title, help, placeholder) {
	return value(s, tab, name, title, help ? help + ' ' + _('Seconds.') : _('Seconds.'), placeholder, number(U64));
}

function list(s, tab, name, title, help, check) {
	var o = s.taboption(tab, form.DynamicList, name, title, help);
	if (check)
		o.validate = check;
	return o;
}

function flag(s, tab, name, title, help, dflt) {
	var o = s.taboption(tab, form.Flag, name, title, help);
	o.default = dflt;
	o.rmempty = false;
	return o;
}

return view.extend({
	render: function() {
		var m = new form.Map('smsgw', _('SMS Gateway'),
			_('Settings of the smsgw daemon (/etc/config/smsgw). Save & Apply restarts the service. ' +
			  'Empty fields use the default shown in grey.'));

		var s = m.section(form.NamedSection, 'main', 'smsgw');
		s.addremove = false;
		s.tab('modem', _('Modem'));
		s.tab('http', _('HTTP & security'));
		s.tab('spool', _('Spool'));
		s.tab('receiving', _('Receiving'));

		/* modem */
		flag(s, 'modem', 'enabled', _('Enable service'), _('Start smsgw at boot and keep it running.'), '1');
		value(s, 'modem', 'device', _('Device'),
			_('AT port of the stick in serial mode (usually /dev/ttyUSB0), "sim" for the built-in simulated modem, or the http:// address of a HiLink stick.'),
			'/dev/ttyUSB0', function(id, v) {
				return (v == null || v === '' || String(v).trim() !== '') ? true : _('Expecting a device path');
			});
		value(s, 'modem', 'baud', _('Baud rate'), null, '115200', number(U32));
		var pin = value(s, 'modem', 'pin', _('SIM PIN'), _('Only when the SIM asks for one.'), null, function(id, v) {
			return (v == null || v === '' || /^[0-9]{4,8}$/.test(String(v).trim())) ? true : _('Expecting 4 to 8 digits');
		});
		pin.password = true;
		value(s, 'modem', 'smsc', _('SMS centre'), _('Number of the SMS centre; empty uses the one stored on the SIM.'), null, phone);
		list(s, 'modem', 'init', _('Extra init commands'), _('AT commands sent after the basic initialisation, e.g. AT^CURC=0.'));
		seconds(s, 'modem', 'registration_timeout', _('Registration timeout'),
			_('How long a send waits for network registration before it counts as a transient failure.'), '60');
		seconds(s, 'modem', 'command_timeout', _('AT command timeout'),
			_('Timeout of one AT command (sending waits six times this).'), '10');
		seconds(s, 'modem', 'poll_interval', _('Poll interval'),
			_('How often the modem is asked for signal, registration and new messages.'), null);
		value(s, 'modem', 'hilink_user', _('HiLink user'), _('Login of a HiLink stick\'s web API, if it has one.'), null);
		var hp = value(s, 'modem', 'hilink_password', _('HiLink password'), null, null);
		hp.password = true;
		value(s, 'modem', 'hilink_password_file', _('HiLink password file'),
			_('File whose first line is the password; used when HiLink password is empty.'), null);

		/* HTTP & security */
		value(s, 'http', 'listen', _('Listen address'), _('Where the HTTP API listens.'), '0.0.0.0:8767', listen);
		var token = value(s, 'http', 'token', _('API token'),
			_('Empty: the daemon generates one and keeps it in the token file (readable by root only).'), null);
		token.password = true;
		value(s, 'http', 'token_file', _('Token file'), _('Where the generated token is kept.'), '/etc/smsgw/token');
		flag(s, 'http', 'no_auth', _('No authentication'), _('Any allowed client can send without a token.'), '0');
		list(s, 'http', 'allow_client', _('Allowed clients'),
			_('Networks allowed to use the HTTP API. Empty: loopback, private IPv4 networks and IPv6 ULA.'), cidr);
		list(s, 'http', 'allow_recipient', _('Allowed recipients'),
			_('Number prefixes messages may go to, e.g. +49. Empty: any number with at least 7 digits.'), prefix);
		value(s, 'http', 'rate_limit', _('Rate limit'), _('Messages accepted per hour, all clients together (0 = off).'), '60', number(U32));
		seconds(s, 'http', 'duplicate_window', _('Duplicate window'),
			_('The same text to the same recipient within this time is refused (0 = off).'), '300');
		value(s, 'http', 'max_parts', _('Maximum parts'), _('Longer messages are refused.'), '6', number(U32));
		value(s, 'http', 'max_connections', _('Maximum connections'), _('Connections served at once.'), '16', number(U32));
		seconds(s, 'http', 'request_timeout', _('Request timeout'), _('Deadline for receiving one whole HTTP request.'), '10');
		list(s, 'http', 'alert_to', _('Alert recipients'),
			_('Numbers that get an SMS for each Prometheus Alertmanager notification posted to /alertmanager.'), phone);

		/* spool */
		value(s, 'spool', 'spool', _('Spool directory'), _('smstools3-compatible queue (outgoing/, sent/, failed/, incoming/).'), '/var/spool/sms');
		value(s, 'spool', 'max_attempts', _('Send attempts'), _('Tries per message before it goes to failed/.'), '5', number(U32));
		value(s, 'spool', 'keep_sent', _('Keep sent'), _('Files kept in sent/.'), '200', number(U32));
		value(s, 'spool', 'keep_failed', _('Keep failed'), _('Files kept in failed/.'), '200', number(U32));
		value(s, 'spool', 'keep_days', _('Keep days'), _('Older files in sent/ and failed/ are removed.'), '7', number(U64));
		value(s, 'spool', 'hook', _('Event hook'), _('Program run as: HOOK SENT|FAILED|RECEIVED|REPORT FILE.'), null);
		seconds(s, 'spool', 'hook_timeout', _('Hook timeout'), null, '10');

		/* receiving */
		flag(s, 'receiving', 'no_receive', _('Do not receive'), _('Leave incoming messages on the SIM.'), '0');
		seconds(s, 'receiving', 'multipart_timeout', _('Multipart timeout'),
			_('A long message still missing parts after this time is stored with what arrived.'), '3600');
		flag(s, 'receiving', 'report', _('Delivery reports'), _('Ask the network for a delivery report for every message.'), '0');
		seconds(s, 'receiving', 'report_timeout', _('Report timeout'),
			_('A message whose delivery report has not come after this time shows report: none.'), '172800');
		list(s, 'receiving', 'forward_url', _('Forward to URL'),
			_('Every received message and report is POSTed there as JSON.'), url);
		var ft = value(s, 'receiving', 'forward_token', _('Forward token'),
			_('Sent as a bearer token with every forwarded event.'), null);
		ft.password = true;
		value(s, 'receiving', 'forward_token_file', _('Forward token file'),
			_('File whose first line is the token; used when Forward token is empty.'), null);

		return m.render();
	}
});
