'use strict';
'require view';
'require ui';
'require smsgw.common as common';

/*
 * Services › SMS Gateway › Send test SMS: number and text, the parts count while typing
 * (as the daemon will split the text), and the daemon's one-line answer (`done <id>` or
 * the reason it refused).
 */

function partsText(text) {
	var p = common.smsParts(text);
	if (!p.units)
		return _('Empty message');
	return _('%s: %d %s, %d %s (%d left in this part)').format(
		p.encoding, p.units, p.encoding === 'UCS-2' ? _('UTF-16 units') : _('septets'),
		p.parts, p.parts === 1 ? _('part') : _('parts'), p.left);
}

return view.extend({
	render: function() {
		var phone = E('input', {
			'id': 'smsgw-phone', 'class': 'cbi-input-text', 'type': 'text', 'inputmode': 'tel',
			'placeholder': '+491701234567', 'style': 'width:20em'
		});
		var message = E('textarea', {
			'id': 'smsgw-message', 'class': 'cbi-input-textarea', 'rows': 5, 'style': 'width:100%;max-width:40em'
		});
		var counter = E('div', { 'id': 'smsgw-parts', 'class': 'cbi-value-description' }, [ partsText('') ]);
		var result = E('div', { 'id': 'smsgw-result' });

		message.addEventListener('input', function() {
			counter.textContent = partsText(message.value);
		});

		var button = E('button', {
			'id': 'smsgw-send',
			'class': 'cbi-button cbi-button-action',
			'click': ui.createHandlerFn(this, function() {
				var number = phone.value.trim();
				if (!common.checkPhone(number)) {
					result.replaceChildren(E('p', { 'class': 'alert-message warning' },
						[ _('Enter a phone number: digits with an optional leading +.') ]));
					return;
				}
				result.replaceChildren(E('p', { 'class': 'spinning' }, [ _('Sending…') ]));
				return common.callSend(number, message.value).then(function(res) {
					var err = common.daemonError(res);
					if (err)
						result.replaceChildren(E('p', { 'class': 'alert-message error' }, [ err ]));
					else
						result.replaceChildren(E('p', { 'class': 'alert-message success' },
							[ (res.text || '').trim() || _('Accepted') ]));
				}).catch(function(e) {
					result.replaceChildren(E('p', { 'class': 'alert-message error' }, [ String(e.message || e) ]));
				});
			})
		}, [ _('Send') ]);

		return E('div', { 'class': 'cbi-map' }, [
			E('h2', {}, [ _('Send test SMS') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('The message is queued by the daemon exactly as an HTTP client\'s would be; the answer below is the daemon\'s.')
			]),
			E('div', { 'class': 'cbi-section' }, [
				E('div', { 'class': 'cbi-value' }, [
					E('label', { 'class': 'cbi-value-title', 'for': 'smsgw-phone' }, [ _('Phone number') ]),
					E('div', { 'class': 'cbi-value-field' }, [ phone ])
				]),
				E('div', { 'class': 'cbi-value' }, [
					E('label', { 'class': 'cbi-value-title', 'for': 'smsgw-message' }, [ _('Message') ]),
					E('div', { 'class': 'cbi-value-field' }, [ message, counter ])
				]),
				E('div', { 'class': 'cbi-value' }, [
					E('label', { 'class': 'cbi-value-title' }, [ ' ' ]),
					E('div', { 'class': 'cbi-value-field' }, [ button ])
				]),
				result
			])
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
