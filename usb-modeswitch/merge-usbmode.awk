# Overlays usb-modeswitch entries onto an OpenWrt /etc/usb-mode.json, on the router itself:
# plain POSIX awk plus length(), so busybox awk runs it (as do gawk and mawk).
#
#   awk -f merge-usbmode.awk BASE OURS > MERGED
#
# Same rules as scripts/merge-usbmode (the Python reference it is tested against): every BASE
# device entry is kept byte for byte (re-serialized compactly); an OURS entry is added, or
# replaces the BASE entry with the same "vvvv:pppp" id; BASE messages keep their indexes, OURS
# messages are appended (an identical message is reused) and OURS "msg" indexes rewritten.
# Any syntax error, a bad id or an out-of-range msg index in OURS: message on stderr, exit 1,
# nothing useful on stdout (callers write to a temp file and rename on success).

function fail(msg) {
	printf "merge-usbmode.awk: %s\n", msg > "/dev/stderr"
	failed = 1
	exit 1
}

# Splits file f into tok[1..ntok] (JSON tokens; strings keep their quotes and escapes).
function tokenize(f,    line, c, rc) {
	ntok = 0
	while ((rc = (getline line < f)) > 0) {
		while (line != "") {
			c = substr(line, 1, 1)
			if (c == " " || c == "\t" || c == "\r") {
				line = substr(line, 2)
			} else if (index("{}[]:,", c)) {
				tok[++ntok] = c
				line = substr(line, 2)
			} else if (c == "\"") {
				if (!match(line, /^"([^"\\]|\\.)*"/))
					fail(f ": unterminated string")
				tok[++ntok] = substr(line, 1, RLENGTH)
				line = substr(line, RLENGTH + 1)
			} else if (match(line, /^(-?[0-9][0-9.eE+-]*|true|false|null)/)) {
				tok[++ntok] = substr(line, 1, RLENGTH)
				line = substr(line, RLENGTH + 1)
			} else {
				fail(f ": unexpected character '" c "'")
			}
		}
	}
	if (rc < 0)
		fail(f ": cannot read")
	close(f)
	if (ntok == 0)
		fail(f ": empty")
}

function expect(t) {
	if (tok[pos] != t)
		fail(file ": expected '" t "' at token " pos ", found '" tok[pos] "'")
	pos++
}

# Parses the value at tok[pos] and returns it compactly serialized. With remap set, the
# elements of any "msg" array are OURS message indexes and come back as merged indexes.
function value(key,    out, k, first, t) {
	t = tok[pos]
	if (t == "{") {
		pos++
		out = "{"
		first = 1
		while (tok[pos] != "}") {
			if (!first)
				expect(",")
			k = tok[pos]
			if (substr(k, 1, 1) != "\"")
				fail(file ": object key expected at token " pos)
			pos++
			expect(":")
			out = out (first ? "" : ",") k ":" value(k)
			first = 0
		}
		pos++
		return out "}"
	}
	if (t == "[") {
		pos++
		out = "["
		first = 1
		while (tok[pos] != "]") {
			if (!first)
				expect(",")
			if (remap && key == "\"msg\"") {
				if (tok[pos] !~ /^[0-9]+$/ || tok[pos] + 0 >= nours)
					fail(file ": msg index " tok[pos] " out of range")
				out = out (first ? "" : ",") merged_index(ours[tok[pos] + 0])
				pos++
			} else {
				out = out (first ? "" : ",") value("")
			}
			first = 0
		}
		pos++
		return out "]"
	}
	if (t == "" || index("}]:,", t))
		fail(file ": value expected at token " pos)
	pos++
	return t
}

# Index of message m (a quoted string) in the merged messages, appending it if new.
function merged_index(m,    key) {
	key = tolower(m)
	if (!(key in msgidx)) {
		msgidx[key] = nmsg
		msgs[nmsg++] = m
	}
	return msgidx[key]
}

# Parses the top-level object of a usb-mode.json already in tok[]. which = "base" or "ours".
function document(which,    k, first, devstart, m, id, v) {
	pos = 1
	remap = 0
	devstart = 0
	expect("{")
	first = 1
	while (tok[pos] != "}") {
		if (!first)
			expect(",")
		first = 0
		k = tok[pos++]
		expect(":")
		if (k == "\"messages\"") {
			expect("[")
			m = 0
			while (tok[pos] != "]") {
				if (m)
					expect(",")
				if (tok[pos] !~ /^"([0-9a-fA-F][0-9a-fA-F])+"$/)
					fail(file ": message " m " is not a hex string")
				if (which == "base")
					merged_index(tok[pos])
				else
					ours[nours++] = tok[pos]
				pos++
				m++
			}
			pos++
		} else if (k == "\"devices\"") {
			devstart = pos
			value("")
		} else {
			value("")
		}
	}
	if (!devstart)
		fail(file ": no \"devices\" object")
	pos = devstart
	remap = (which == "ours")
	expect("{")
	first = 1
	while (tok[pos] != "}") {
		if (!first)
			expect(",")
		first = 0
		id = tok[pos++]
		if (which == "ours" && id !~ /^"[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f][0-9a-f][0-9a-f]"$/)
			fail(file ": device id " id " is not \"vvvv:pppp\"")
		expect(":")
		v = value("")
		if (!(id in dev))
			order[ndev++] = id
		dev[id] = v
	}
}

BEGIN {
	if (ARGC != 3) {
		print "usage: awk -f merge-usbmode.awk BASE OURS > MERGED" > "/dev/stderr"
		failed = 1
		exit 2
	}
	nmsg = 0; nours = 0; ndev = 0
	file = ARGV[1]; tokenize(file); document("base")
	split("", tok)
	file = ARGV[2]; tokenize(file); document("ours")

	print "{"
	print "\t\"messages\" : ["
	for (i = 0; i < nmsg; i++)
		print "\t\t" msgs[i] (i < nmsg - 1 ? "," : "")
	print "\t],"
	print ""
	print "\t\"devices\" : {"
	for (i = 0; i < ndev; i++)
		print "\t\t" order[i] ": " dev[order[i]] (i < ndev - 1 ? "," : "")
	print "\t}"
	print "}"
	exit 0
}
