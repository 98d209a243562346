'use strict';
'require view';
'require poll';
'require ui';
'require smsgw.common as common';

/*
 * Services › SMS Gateway › Status: is the service running, what the daemon's /status says
 * (modem, signal, operator, registration, queue, counters), refreshed every 5 seconds.
 */

function row(label, value) {
	return E('tr', { 'class': 'tr' }, [
		E('td', { 'class': 'td left', 'width': '33%' }, [ label ]),
		E('td', { 'class': 'td left' }, [ value ])
	]);
}

function bars(dbm) {
	var n = common.signalBars(dbm), cells = [];
	for (var i = 1; i <= 5; i++)
		cells.push(E('span', {
			'class': 'smsgw-bar' + (i <= n ? ' on' : ''),
			'style': 'display:inline-block;width:5px;margin-right:2px;vertical-align:bottom;' +
				'height:' + (4 + 3 * i) + 'px;background:' + (i <= n ? '#2a2' : '#ccc')
		}));
	return E('span', { 'title': _('%d of 5 bars').format(n) }, cells);
}

function text(v) {
	return (v == null || v === '') ? '-' : String(v);
}

function duration(s) {
	if (s == null || isNaN(s))
		return '-';
	s = Math.floor(s);
	var d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
	return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + m + 'm ' + (s % 60) + 's';
}

return view.extend({
	load: function() {
		return Promise.all([
			common.serviceRunning(),
			L.resolveDefault(common.callStatus(), null)
		]);
	},

	renderTable: function(running, res) {
		var err = common.daemonError(res);
		var st = (!err && res && res.json) ? res.json : null;
		var rows = [];

		var service;
		if (running)
			service = E('strong', { 'style': 'color:#2a2' }, [ _('running') ]);
		else if (st)
			service = E('strong', { 'style': 'color:#2a2' }, [ _('running (not under procd)') ]);
		else
			service = E('strong', { 'style': 'color:#c22' }, [ _('not running') ]);
		rows.push(row(_('Service'), service));

		if (!st) {
			var why = (res && res.reachable === false)
				? (running ? _('The daemon does not answer: %s') : _('The daemon is stopped (%s).')).format(err)
				: _('The daemon answered: %s').format(err);
			rows.push(row(_('Daemon'), E('em', {}, [ why ])));
			if (res && res.listen)
				rows.push(row(_('API address'), res.listen));
			return E('table', { 'class': 'table' }, rows);
		}

		var m = st.modem || {};
		var signal = (m.signal_dbm == null)
			? _('unknown')
			: E('span', {}, [ bars(m.signal_dbm), ' %d dBm (%s)'.format(m.signal_dbm, text(m.signal_quality)) ]);

		rows.push(row(_('Version'), text(st.version)));
		rows.push(row(_('Uptime'), duration(st.uptime_seconds)));
		rows.push(row(_('Modem state'), text(m.state)));
		rows.push(row(_('Signal'), signal));
		rows.push(row(_('Operator'), text(m.operator)));
		rows.push(row(_('Registration'), text(m.registration)));
		if (m.manufacturer || m.model)
			rows.push(row(_('Modem'), [ m.manufacturer, m.model ].filter(Boolean).join(' ')));
		rows.push(row(_('Queue'), _('%s waiting').format(text(st.queue_depth))));

		var counters = [ 'accepted', 'sent', 'failed', 'retried', 'rejected', 'received', 'delivered', 'reports' ];
		var labels = {
			accepted: _('Accepted'), sent: _('Sent'), failed: _('Failed'), retried: _('Retried'),
			rejected: _('Rejected'), received: _('Received'), delivered: _('Delivered'), reports: _('Reports')
		};
		var source = st.counters || st;
		counters.forEach(function(k) {
			if (source[k] != null)
				rows.push(row(labels[k], String(source[k])));
		});
		if (st.last_error)
			rows.push(row(_('Last error'), E('em', {}, [ st.last_error ])));
		if (res.listen)
			rows.push(row(_('API address'), res.listen));
		rows.push(row(_('API authentication'), res.auth === 'none'
			? _('off (no_auth): any allowed client can send')
			: (res.auth === 'token' ? _('token (kept on the router, never shown here)') : _('token not generated yet'))));
		return E('table', { 'class': 'table' }, rows);
	},

	render: function(data) {
		var self = this;
		var box = E('div', { 'id': 'smsgw-status' }, [ this.renderTable(data[0], data[1]) ]);

		poll.add(function() {
			return Promise.all([
				common.serviceRunning(),
				L.resolveDefault(common.callStatus(), null)
			]).then(function(d) {
				box.replaceChildren(self.renderTable(d[0], d[1]));
			});
		}, 5);

		return E('div', { 'class': 'cbi-map' }, [
			E('h2', {}, [ _('SMS Gateway') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('State of the smsgw daemon and the GSM stick, refreshed every 5 seconds.')
			]),
			E('div', { 'class': 'cbi-section' }, [ box ])
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
