'use strict';
'require view';
'require ui';
'require smsgw.common as common';

/*
 * Services › SMS Gateway › Messages: the inbox (received messages, with delete) and the
 * outbox (sent and queued messages with their delivery state), newest first, from the
 * daemon's GET /messages. A daemon without that endpoint answers 404: the page says so.
 */

var LIMIT = 50;

function text(v) {
	return (v == null || v === '') ? '-' : String(v);
}

function peer(msg, box) {
	if (box === 'inbox')
		return text(msg.from);
	var to = msg.to != null ? msg.to : msg.recipients;
	return Array.isArray(to) ? to.join(', ') : text(to);
}

function when(msg, box) {
	return text(box === 'inbox' ? (msg.received || msg.sent) : (msg.sent || msg.queued || msg.created));
}

function stateBadge(state) {
	var colours = { queued: '#888', sending: '#c80', sent: '#27c', delivered: '#2a2', failed: '#c22' };
	return E('span', {
		'class': 'label',
		'style': 'color:#fff;padding:1px 6px;border-radius:3px;background:' + (colours[state] || '#888')
	}, [ text(state) ]);
}

return view.extend({
	load: function() {
		return Promise.all([
			L.resolveDefault(common.callMessages('inbox', LIMIT), null),
			L.resolveDefault(common.callMessages('outbox', LIMIT), null)
		]);
	},

	renderBox: function(box, res) {
		var err = common.daemonError(res);
		if (res && res.reachable && res.code === 404)
			return E('p', { 'class': 'alert-message notice' }, [
				_('Messages are not available with this daemon version (it answered: %s).').format(err)
			]);
		if (err)
			return E('p', { 'class': 'alert-message warning' }, [
				res && res.reachable === false ? _('The daemon is stopped (%s).').format(err) : err
			]);

		var list = Array.isArray(res.json) ? res.json : ((res.json && res.json.messages) || []);
		if (!list.length)
			return E('p', { 'class': 'cbi-value-description' },
				[ box === 'inbox' ? _('No received messages.') : _('No sent messages.') ]);

		var self = this;
		var head = E('tr', { 'class': 'tr table-titles' }, [
			E('th', { 'class': 'th' }, [ box === 'inbox' ? _('From') : _('To') ]),
			E('th', { 'class': 'th' }, [ _('Time') ]),
			E('th', { 'class': 'th' }, [ _('Text') ]),
			E('th', { 'class': 'th' }, [ box === 'inbox' ? '' : _('State') ])
		]);
		var rows = list.map(function(msg) {
			var last;
			if (box === 'inbox')
				last = E('button', {
					'class': 'cbi-button cbi-button-remove',
					'click': ui.createHandlerFn(self, 'handleDelete', msg.id)
				}, [ _('Delete') ]);
			else
				last = stateBadge(msg.state);
			return E('tr', { 'class': 'tr' }, [
				E('td', { 'class': 'td' }, [ peer(msg, box) ]),
				E('td', { 'class': 'td' }, [ when(msg, box) ]),
				E('td', { 'class': 'td', 'style': 'white-space:pre-wrap' }, [ text(msg.text) ]),
				E('td', { 'class': 'td' }, [ last ])
			]);
		});
		return E('table', { 'class': 'table' }, [ head ].concat(rows));
	},

	handleDelete: function(id) {
		if (!confirm(_('Delete this message from the router?')))
			return;
		return common.callDelete(id).then(function(res) {
			var err = common.daemonError(res);
			if (err)
				ui.addNotification(null, E('p', {}, [ err ]), 'error');
			else
				location.reload();
		});
	},

	render: function(data) {
		return E('div', { 'class': 'cbi-map' }, [
			E('h2', {}, [ _('Messages') ]),
			E('div', { 'class': 'cbi-map-descr' }, [ _('The newest %d messages in each box.').format(LIMIT) ]),
			E('div', { 'class': 'cbi-section', 'id': 'smsgw-inbox' }, [
				E('h3', {}, [ _('Inbox') ]), this.renderBox('inbox', data[0])
			]),
			E('div', { 'class': 'cbi-section', 'id': 'smsgw-outbox' }, [
				E('h3', {}, [ _('Outbox') ]), this.renderBox('outbox', data[1])
			])
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
