/*
 * A small stand-in for LuCI 24.10's client-side API, enough to load and render the smsgw
 * views outside a router: L (require, resolveDefault), E, _, String.prototype.format and the
 * modules baseclass, view, form, rpc, ui, poll, uci. Real LuCI cannot run here (it needs
 * rpcd, ubus and uhttpd); this mock keeps the views' own code unchanged and sends every
 * rpc call to the harness server (server.js), which answers it by running the real rpcd
 * plugin against a real smsgw daemon.
 *
 * Works in a browser (screenshots) and in node (field extraction, logic tests): in node,
 * set LuciMock.readSource(name) to read module files and leave out DOM rendering.
 */
(function(root) {
	'use strict';

	var hasDom = typeof document !== 'undefined';

	/* ---- strings */
	if (!String.prototype.format) {
		String.prototype.format = function() {
			var args = arguments, i = 0;
			return this.replace(/%([sdf%])/g, function(m, t) {
				if (t === '%')
					return '%';
				var v = args[i++];
				if (t === 'd')
					return String(Math.trunc(Number(v)));
				return String(v);
			});
		};
	}
	function _(s) { return s; }

	/* ---- DOM builder (LuCI's E()) */
	function appendChildren(node, children) {
		if (children == null)
			return;
		if (!Array.isArray(children))
			children = [ children ];
		children.forEach(function(c) {
			if (c == null || c === false)
				return;
			if (Array.isArray(c))
				return appendChildren(node, c);
			node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
		});
	}
	function E(tag, attrs, children) {
		if (!hasDom)
			return { tag: tag, attrs: attrs, children: children };
		if (Array.isArray(attrs) || typeof attrs === 'string') {
			children = attrs;
			attrs = null;
		}
		var node = document.createElement(tag);
		Object.keys(attrs || {}).forEach(function(k) {
			var v = attrs[k];
			if (v == null)
				return;
			if (typeof v === 'function')
				node.addEventListener(k, v);
			else
				node.setAttribute(k, v);
		});
		appendChildren(node, children);
		return node;
	}

	/* ---- classes (LuCI's baseclass.extend, simplified) */
	function extend(parent, proto) {
		var cls = function() {
			if (this.__init__)
				this.__init__.apply(this, arguments);
		};
		cls.prototype = Object.create(parent.prototype);
		Object.keys(proto || {}).forEach(function(k) { cls.prototype[k] = proto[k]; });
		cls.prototype.constructor = cls;
		cls.extend = function(p) { return extend(cls, p); };
		cls.prototype.super = function(name, args) { return parent.prototype[name].apply(this, args || []); };
		return cls;
	}
	var Base = function() {};
	Base.extend = function(p) { return extend(Base, p); };

	/* ---- rpc: every call goes to the harness server, which enforces the ACL */
	var rpcLog = [];
	var rpc = {
		declare: function(opts) {
			return function() {
				var params = {}, args = arguments;
				(opts.params || []).forEach(function(p, i) {
					if (args[i] !== undefined)
						params[p] = args[i];
				});
				rpcLog.push(opts.object + '.' + opts.method);
				return LuciMock.ubus(opts.object, opts.method, params).then(function(res) {
					var key = opts.expect ? Object.keys(opts.expect)[0] : null;
					if (key)
						return res[key] !== undefined ? res[key] : opts.expect[key];
					return res;
				});
			};
		}
	};

	/* ---- uci: values from the harness server (the test's /etc/config/smsgw) */
	var uciData = {};
	var uci = {
		load: function(conf) {
			return LuciMock.uciLoad(conf).then(function(d) { uciData[conf] = d; });
		},
		get: function(conf, sid, opt) {
			var s = (uciData[conf] || {})[sid];
			return s ? (opt ? s[opt] : s) : null;
		}
	};

	/* ---- poll, ui */
	var poll = {
		add: function(fn, interval) {
			if (typeof setInterval === 'function' && hasDom)
				setInterval(fn, (interval || 5) * 1000);
		}
	};
	var ui = {
		createHandlerFn: function(ctx, fn) {
			var extra = Array.prototype.slice.call(arguments, 2);
			return function(ev) {
				var f = typeof fn === 'string' ? ctx[fn] : fn;
				return f.apply(ctx, extra.concat([ ev ]));
			};
		},
		addNotification: function(title, body, cls) {
			var n = E('div', { 'class': 'alert-message ' + (cls || '') }, [ body ]);
			document.getElementById('notifications').appendChild(n);
		}
	};

	/* ---- form: Map / NamedSection / Value / DynamicList / Flag */
	var fieldLog = [];
	var AbstractValue = Base.extend({
		__init__: function(map, section, option, title, description) {
			this.map = map; this.section = section; this.option = option;
			this.title = title; this.description = description;
		}
	});
	var Value = AbstractValue.extend({ widget: 'value' });
	var DynamicList = AbstractValue.extend({ widget: 'list' });
	var Flag = AbstractValue.extend({ widget: 'flag' });

	var NamedSection = Base.extend({
		__init__: function(map, sid, type) {
			this.map = map; this.sid = sid; this.type = type; this.tabs = []; this.fields = [];
		},
		tab: function(name, title) { this.tabs.push({ name: name, title: title }); },
		option: function(cls, name, title, descr) { return this.taboption(null, cls, name, title, descr); },
		taboption: function(tab, cls, name, title, descr) {
			var o = new cls(this.map, this, name, title, descr);
			o.tab = tab;
			this.fields.push(o);
			fieldLog.push(o);
			return o;
		}
	});

	function renderField(o, sid) {
		var v = uci.get(o.map.config, sid, o.option);
		var shown = v == null ? (o.widget === 'flag' ? o.default : '') : v;
		var valid = true;
		var values = Array.isArray(shown) ? shown : [ shown ];
		if (o.validate)
			values.forEach(function(x) {
				var r = o.validate(sid, x);
				if (r !== true)
					valid = r;
			});
		var input;
		if (o.widget === 'flag') {
			input = E('input', { 'type': 'checkbox', 'class': 'cbi-input-checkbox' });
			input.checked = (String(shown) === '1');
		}
		else if (o.widget === 'list') {
			input = E('div', { 'class': 'cbi-dynlist' }, values.filter(function(x) { return x !== ''; }).map(function(x) {
				return E('div', { 'class': 'item' }, [ E('span', {}, [ x ]) ]);
			}).concat([ E('div', { 'class': 'add-item' }, [ E('input', { 'class': 'cbi-input-text', 'type': 'text', 'placeholder': '' }) ]) ]));
		}
		else {
			input = E('input', {
				'type': o.password ? 'password' : 'text', 'class': 'cbi-input-text' + (valid === true ? '' : ' cbi-input-invalid'),
				'placeholder': o.placeholder || ''
			});
			input.value = shown == null ? '' : shown;
		}
		return E('div', { 'class': 'cbi-value', 'data-name': o.option, 'data-widget': o.widget }, [
			E('label', { 'class': 'cbi-value-title' }, [ o.title ]),
			E('div', { 'class': 'cbi-value-field' }, [
				input,
				valid === true ? null : E('div', { 'class': 'cbi-value-error' }, [ valid ]),
				o.description ? E('div', { 'class': 'cbi-value-description' }, [ o.description ]) : null
			])
		]);
	}

	var Map = Base.extend({
		__init__: function(config, title, descr) {
			this.config = config; this.title = title; this.descr = descr; this.sections = [];
		},
		section: function(cls, sid, type) {
			var s = new cls(this, sid, type);
			this.sections.push(s);
			return s;
		},
		render: function() {
			var self = this;
			if (!hasDom)
				return Promise.resolve(null);
			return uci.load(this.config).then(function() {
				var active = LuciMock.params.tab;
				return E('div', { 'class': 'cbi-map' }, [
					E('h2', {}, [ self.title ]),
					E('div', { 'class': 'cbi-map-descr' }, [ self.descr ]),
					self.sections.map(function(s) {
						var tab = active || (s.tabs[0] && s.tabs[0].name);
						return E('div', { 'class': 'cbi-section' }, [
							E('ul', { 'class': 'cbi-tabmenu' }, s.tabs.map(function(t) {
								return E('li', { 'class': 'cbi-tab' + (t.name === tab ? '' : '-disabled') }, [ E('a', {}, [ t.title ]) ]);
							})),
							E('div', { 'class': 'cbi-section-node' }, s.fields.filter(function(o) {
								return o.tab === tab;
							}).map(function(o) { return renderField(o, s.sid); }))
						]);
					}),
					E('div', { 'class': 'cbi-page-actions' }, [
						E('button', { 'class': 'cbi-button cbi-button-apply' }, [ 'Save & Apply' ]), ' ',
						E('button', { 'class': 'cbi-button cbi-button-save' }, [ 'Save' ]), ' ',
						E('button', { 'class': 'cbi-button cbi-button-reset' }, [ 'Reset' ])
					])
				]);
			});
		}
	});

	var form = { Map: Map, NamedSection: NamedSection, Value: Value, DynamicList: DynamicList, Flag: Flag };
	var view = { extend: function(p) { return Base.extend(p); } };

	/* ---- module loader (LuCI's 'require' directives) */
	var builtins = { baseclass: Base, view: view, form: form, rpc: rpc, ui: ui, poll: poll, uci: uci };
	var cache = {};

	function requireModule(name) {
		if (builtins[name])
			return Promise.resolve(builtins[name]);
		if (cache[name])
			return cache[name];
		cache[name] = Promise.resolve(LuciMock.readSource(name)).then(function(src) {
			var deps = [], names = [], re = /^\s*'require\s+([\w.]+)(?:\s+as\s+(\w+))?';/gm, m;
			while ((m = re.exec(src)) !== null) {
				deps.push(m[1]);
				names.push(m[2] || m[1].replace(/^.*\./, ''));
			}
			return Promise.all(deps.map(requireModule)).then(function(mods) {
				var factory = new Function(names.concat([ 'L', 'E', '_' ]).join(','), src + '\n//# sourceURL=' + name + '.js');
				var res = factory.apply(null, mods.concat([ L, E, _ ]));
				return typeof res === 'function' ? new res() : res;
			});
		});
		return cache[name];
	}

	var L = {
		require: requireModule,
		resolveDefault: function(p, d) { return Promise.resolve(p).catch(function() { return d; }); }
	};

	var LuciMock = {
		L: L, E: E, _: _, form: form, fields: fieldLog, rpcLog: rpcLog, params: {},
		readSource: function(name) {
			return fetch('/luci-static/resources/' + name.replace(/\./g, '/') + '.js').then(function(r) {
				if (!r.ok)
					throw new Error('cannot load ' + name + ': HTTP ' + r.status);
				return r.text();
			});
		},
		ubus: function(object, method, params) {
			return fetch('/ubus/' + object + '/' + method, {
				method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(params)
			}).then(function(r) {
				return r.json().then(function(body) {
					if (!r.ok)
						throw new Error(body.error || ('ubus ' + r.status));
					return body;
				});
			});
		},
		uciLoad: function(conf) {
			return fetch('/uci/' + conf).then(function(r) { return r.json(); });
		}
	};

	root.LuciMock = LuciMock;
	root.L = L;
	root.E = E;
	root._ = _;
	if (typeof module !== 'undefined' && module.exports)
		module.exports = LuciMock;
})(typeof window !== 'undefined' ? window : globalThis);
