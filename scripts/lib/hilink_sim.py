#!/usr/bin/env python3
"""A Huawei HiLink stick's web API for tests (loopback only), with the firmware quirks clients meet.

Built from public descriptions of the API and real clients' source (huawei-lte-api, shell clients):
- GET / carries two <meta name="csrf_token">; /api/webserver/SesTokInfo and /api/webserver/token
  start sessions; the SessionID cookie; POSTs need a __RequestVerificationToken that is used once;
  every POST answer carries the next token; a login answers 30 '#'-joined tokens and a new cookie.
- indented XML or tags out of order in send-sms -> 100005; sends closer together than
  --too-fast-ms -> 113004; a session expires after --expire-after POSTs (125003); a 125002 storm
  (/sim/storm); login on/off, a wrong password -> 108006, --max-tries wrong ones -> 108007.
- send-sms answers OK at once; the message is sent only when a client asks send-status, and a send
  that nobody confirms before the next send ends in Drafts.
- sms-list (BoxType 1 inbox, 2 sent, 3 drafts) with indices from 40000, delete-sms takes exactly
  one <Index>, delivery confirmations (SmsType 7, or 8 with --reports-fail) after each send with --reports, storage full at
  --inbox-max messages.
Control (no auth): GET /sim/state (JSON), POST /sim/inject {"phone","content","sms_type"},
POST /sim/storm {"count": N}, POST /sim/expire. Prints "PORT <n>" once listening.
"""
import argparse
import base64
import hashlib
import http.server
import json
import re
import secrets
import sys
import threading
import time

LOCK = threading.Lock()


def tok():
    return secrets.token_hex(16)


class Stick:
    def __init__(self, a):
        self.a = a
        self.sessions = {}  # id -> {"tokens": set, "logged_in": bool, "posts": int}
        self.inbox = []  # dicts with Index, Phone, Content, Date, SmsType, Smstat
        self.sent_box = []
        self.drafts = []
        self.next_index = 40000
        self.pending = None  # {"phone","content","at","asked"}
        self.last_send = 0.0
        self.sent = []  # what went on the air: {"phone","content","reserved","length"}
        self.deleted = []
        self.read = []
        self.storm = 0
        self.wrong_logins = 0
        self.codes = []  # error codes answered, in order
        self.requests = 0
        self.logins = 0

    def new_session(self):
        sid = secrets.token_hex(20)
        self.sessions[sid] = {"tokens": set(), "logged_in": False, "posts": 0, "expired": False}
        return sid

    def add(self, box, phone, content, sms_type=1):
        m = {"Index": self.next_index, "Phone": phone, "Content": content,
             "Date": time.strftime("%Y-%m-%d %H:%M:%S"), "SmsType": sms_type, "Smstat": 0}
        self.next_index += 1
        box.append(m)
        return m


def xml_escape(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;"))


def xml_unescape(s):
    s = re.sub(r"&#x([0-9a-fA-F]+);", lambda m: chr(int(m.group(1), 16)), s)
    s = re.sub(r"&#([0-9]+);", lambda m: chr(int(m.group(1))), s)
    return (s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def tags(body):
    """Top-level child tag names of <request> in order."""
    m = re.search(r"<request>(.*)</request>", body, re.S)
    if not m:
        return None, []
    inner = m.group(1)
    names, pos = [], 0
    while True:
        t = re.compile(r"<([A-Za-z_]+)(/?)>").search(inner, pos)
        if not t:
            break
        name = t.group(1)
        names.append(name)
        if t.group(2):
            pos = t.end()
            continue
        end = inner.find("</%s>" % name, t.end())
        if end < 0:
            return None, []
        pos = end + len(name) + 3
    return inner, names


def field(body, name):
    m = re.search(r"<%s>(.*?)</%s>" % (name, name), body, re.S)
    return xml_unescape(m.group(1)) if m else None


def response(inner):
    return '<?xml version="1.0" encoding="UTF-8"?>\n<response>\n%s\n</response>\n' % inner


def error(code):
    return '<?xml version="1.0" encoding="UTF-8"?>\n<error>\n<code>%d</code>\n<message></message>\n</error>\n' % code


def messages(box):
    out = ["<Count>%d</Count><Messages>" % len(box)]
    for m in box:
        out.append("<Message><Smstat>%d</Smstat><Index>%d</Index><Phone>%s</Phone><Content>%s</Content>"
                   "<Date>%s</Date><Sca></Sca><SaveType>4</SaveType><Priority>0</Priority><SmsType>%d</SmsType></Message>"
                   % (m["Smstat"], m["Index"], xml_escape(m["Phone"]), xml_escape(m["Content"]), m["Date"], m["SmsType"]))
    out.append("</Messages>")
    return "".join(out)


SEND_ORDER = ["Index", "Phones", "Sca", "Content", "Length", "Reserved", "Date"]
NEEDS_LOGIN_GET = {"device/information", "monitoring/status", "net/current-plmn", "sms/send-status",
                   "monitoring/check-notifications", "sms/sms-count"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if STICK.a.verbose:
            sys.stderr.write("hilink_sim: " + fmt % args + "\n")

    def reply(self, body, status=200, headers=(), ctype="text/html"):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def session(self):
        c = self.headers.get("Cookie", "")
        m = re.search(r"SessionID=([0-9a-zA-Z]+)", c)
        return m.group(1) if m else None

    def do_GET(self):
        with LOCK:
            self.handle_get()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        with LOCK:
            self.handle_post(body)

    def handle_get(self):
        s = STICK
        s.requests += 1
        path = self.path.split("?")[0]
        if path == "/sim/state":
            return self.reply(json.dumps({
                "sent": s.sent, "inbox": s.inbox, "sent_box": s.sent_box, "drafts": s.drafts,
                "deleted": s.deleted, "read": s.read, "codes": s.codes, "logins": s.logins,
                "wrong_logins": s.wrong_logins, "requests": s.requests}), ctype="application/json")
        sid = self.session()
        known = sid in s.sessions
        if path in ("/", "/html/home.html"):
            sid = sid if known else s.new_session()
            t1, t2 = tok(), tok()
            s.sessions[sid]["tokens"] |= {t1, t2}
            page = ('<html><head><meta name="csrf_token" content="%s"/><meta name="csrf_token" content="%s"/>'
                    "</head><body>HiLink</body></html>" % (t1, t2))
            return self.reply(page, headers=[("Set-Cookie", "SessionID=%s; path=/; HttpOnly" % sid)])
        if not path.startswith("/api/"):
            return self.reply("not found", 404)
        api = path[5:]
        x = "text/xml"
        if api == "webserver/SesTokInfo" and s.a.no_sestokinfo:
            return self.reply(error(100002), ctype=x)
        if api in ("webserver/SesTokInfo", "webserver/token"):
            if not known or s.sessions[sid]["expired"]:
                sid = s.new_session()
            t = tok()
            s.sessions[sid]["tokens"].add(t)
            if api == "webserver/token":
                return self.reply(response("<token>%s</token>" % t), ctype=x,
                                  headers=[("Set-Cookie", "SessionID=%s; path=/; HttpOnly" % sid)])
            return self.reply(response("<SesInfo>SessionID=%s</SesInfo><TokInfo>%s</TokInfo>" % (sid, t)), ctype=x)
        if api == "user/hilink_login":
            return self.reply(response("<hilink_login>%d</hilink_login>" % (1 if s.a.password else 0)), ctype=x)
        if api == "device/signal":
            return self.reply(response("<pci>1</pci><rssi>-69dBm</rssi><rsrp>-95dBm</rsrp><mode>7</mode>"), ctype=x)
        if api == "user/state-login":
            state = 0 if (known and s.sessions[sid]["logged_in"]) or not s.a.password else -1
            return self.reply(response("<State>%d</State><Username>%s</Username><password_type>%d</password_type>"
                                       "<firstlogin>1</firstlogin>" % (state, s.a.user if state == 0 else "", s.a.password_type)), ctype=x)
        if api in NEEDS_LOGIN_GET:
            code = self.check_session(sid, need_token=False)
            if code:
                return self.reply(error(code), ctype=x)
        if api == "device/information":
            return self.reply(response("<DeviceName>E3372h-320</DeviceName><Imei>866785033700999</Imei>"
                                       "<SoftwareVersion>11.0.1.1(H697SP1C983)</SoftwareVersion>"), ctype=x)
        if api == "monitoring/status":
            return self.reply(response("<ConnectionStatus>901</ConnectionStatus><SignalIcon>4</SignalIcon>"
                                       "<CurrentNetworkType>19</CurrentNetworkType><ServiceStatus>2</ServiceStatus>"
                                       "<RoamingStatus>0</RoamingStatus>"), ctype=x)
        if api == "net/current-plmn":
            return self.reply(response("<State>0</State><FullName>smsgw HiLink sim</FullName><ShortName>sim</ShortName>"
                                       "<Numeric>26201</Numeric><Rat>7</Rat>"), ctype=x)
        if api == "monitoring/check-notifications":
            full = 1 if len(s.inbox) >= s.a.inbox_max else 0
            unread = sum(1 for m in s.inbox if m["Smstat"] == 0)
            return self.reply(response("<UnreadMessage>%d</UnreadMessage><SmsStorageFull>%d</SmsStorageFull>"
                                       "<OnlineUpdateStatus>10</OnlineUpdateStatus>" % (unread, full)), ctype=x)
        if api == "sms/send-status":
            p = s.pending
            if p is None:
                return self.reply(response("<Phone></Phone><SucPhone></SucPhone><FailPhone></FailPhone>"
                                           "<TotalCount>0</TotalCount><CurIndex>0</CurIndex>"), ctype=x)
            if not p["asked"]:
                p["asked"] = True  # the first look finds it still in progress
                return self.reply(response("<Phone>%s</Phone><SucPhone></SucPhone><FailPhone></FailPhone>"
                                           "<TotalCount>1</TotalCount><CurIndex>0</CurIndex>" % xml_escape(p["phone"])), ctype=x)
            if not p.get("done"):
                p["done"] = True
                s.sent.append({"phone": p["phone"], "content": p["content"], "reserved": p["reserved"],
                               "length": p["length"]})
                s.add(s.sent_box, p["phone"], p["content"])
                if s.a.reports:
                    s.add(s.inbox, p["phone"], "", sms_type=8 if s.a.reports_fail else 7)
            return self.reply(response("<Phone>%s</Phone><SucPhone>%s</SucPhone><FailPhone></FailPhone>"
                                       "<TotalCount>1</TotalCount><CurIndex>1</CurIndex>" % (xml_escape(p["phone"]), xml_escape(p["phone"]))), ctype=x)
        return self.reply(error(100002), ctype=x)

    def check_session(self, sid, need_token, token=None):
        s = STICK
        sess = s.sessions.get(sid)
        if sess is None:
            return 125002
        if sess["expired"]:
            return 125003
        if need_token:
            if token not in sess["tokens"]:
                return 125002
            sess["tokens"].discard(token)  # single use
        if s.a.password and not sess["logged_in"]:
            return 100003
        return 0

    def answer_post(self, sid, body_xml, extra=()):
        s = STICK
        t = tok()
        if sid in s.sessions:
            s.sessions[sid]["tokens"].add(t)
        self.reply(body_xml, ctype="text/xml", headers=[("__RequestVerificationToken", t)] + list(extra))

    def fail(self, code):
        STICK.codes.append(code)
        self.reply(error(code), ctype="text/xml")

    def handle_post(self, body):
        s = STICK
        s.requests += 1
        path = self.path.split("?")[0]
        if path.startswith("/sim/"):
            req = json.loads(body or "{}")
            if path == "/sim/inject":
                if len(s.inbox) >= s.a.inbox_max:
                    return self.reply(json.dumps({"stored": False}), ctype="application/json")
                m = s.add(s.inbox, req.get("phone", "+491700000000"), req.get("content", ""), req.get("sms_type", 1))
                return self.reply(json.dumps({"stored": True, "index": m["Index"]}), ctype="application/json")
            if path == "/sim/storm":
                s.storm = int(req.get("count", 0))
            if path == "/sim/expire":
                for v in s.sessions.values():
                    v["expired"] = True
            return self.reply("{}", ctype="application/json")
        api = path[5:] if path.startswith("/api/") else None
        sid = self.session()
        token = self.headers.get("__RequestVerificationToken")
        if s.storm > 0:
            s.storm -= 1
            return self.fail(125002)
        if api is None:
            return self.reply("not found", 404)
        sess = s.sessions.get(sid)
        if sess is not None and not sess["expired"]:
            sess["posts"] += 1
            if s.a.expire_after and sess["posts"] > s.a.expire_after:
                sess["expired"] = True
        if api == "user/login":
            code = self.check_session(sid, True, token)
            if code and code != 100003:
                return self.fail(code)
            if s.wrong_logins >= s.a.max_tries:
                return self.fail(108007)
            user, pw, ptype = field(body, "Username"), field(body, "Password") or "", field(body, "password_type")
            if ptype == "4":
                inner = base64.b64encode(hashlib.sha256(s.a.password.encode()).hexdigest().encode()).decode()
                want = base64.b64encode(hashlib.sha256((s.a.user + inner + token).encode()).hexdigest().encode()).decode()
            else:
                want = base64.b64encode(s.a.password.encode()).decode()
            if user != s.a.user or pw != want:
                s.wrong_logins += 1
                return self.fail(108007 if s.wrong_logins >= s.a.max_tries else 108006)
            s.wrong_logins = 0
            s.logins += 1
            old = s.sessions.pop(sid)
            new = s.new_session()
            s.sessions[new]["logged_in"] = True
            s.sessions[new]["posts"] = 0
            tokens = [tok() for _ in range(30)]
            s.sessions[new]["tokens"] |= set(tokens)
            del old
            return self.reply(response("OK"), ctype="text/xml", headers=[
                ("Set-Cookie", "SessionID=%s; path=/; HttpOnly" % new),
                ("__RequestVerificationToken", "#".join(tokens))])
        code = self.check_session(sid, True, token)
        if code:
            return self.fail(code)
        inner, names = tags(body)
        # Indentation inside <request> is refused (a newline after the declaration is not).
        if inner is None or re.search(r">\s+<", "<request>" + inner + "</request>"):
            return self.fail(100005)
        if api == "sms/send-sms":
            if names != SEND_ORDER:
                return self.fail(100005)
            now = time.monotonic()
            if now - s.last_send < s.a.too_fast_ms / 1000.0:
                s.last_send = now
                return self.fail(113004)
            s.last_send = now
            phones = re.findall(r"<Phone>(.*?)</Phone>", body)
            content = field(body, "Content")
            length = int(field(body, "Length") or -1)
            if length != len(content.encode("utf-16-le")) // 2:
                return self.fail(100006)
            if s.pending is not None and not s.pending.get("done"):
                # Never confirmed: the stick leaves it in Drafts.
                s.add(s.drafts, s.pending["phone"], s.pending["content"])
            s.pending = {"phone": xml_unescape(phones[0]) if phones else "", "content": content, "asked": False,
                         "reserved": field(body, "Reserved"), "length": length}
            return self.answer_post(sid, response("OK"))
        if api == "sms/sms-list":
            box = {"1": s.inbox, "2": s.sent_box, "3": s.drafts}.get(field(body, "BoxType"), [])
            count = int(field(body, "ReadCount") or 20)
            items = sorted(box, key=lambda m: m["Index"], reverse=field(body, "Ascending") != "1")[:count]
            return self.answer_post(sid, response(messages(items)))
        if api == "sms/delete-sms":
            idx = re.findall(r"<Index>(.*?)</Index>", body)
            if len(idx) != 1 or not idx[0].isdigit():
                return self.fail(100006)
            i = int(idx[0])
            for box in (s.inbox, s.sent_box, s.drafts):
                for m in list(box):
                    if m["Index"] == i:
                        box.remove(m)
                        s.deleted.append(i)
                        return self.answer_post(sid, response("OK"))
            return self.fail(113036)
        if api == "sms/set-read":
            i = int(field(body, "Index") or -1)
            for m in s.inbox:
                if m["Index"] == i:
                    m["Smstat"] = 1
            s.read.append(i)
            return self.answer_post(sid, response("OK"))
        if api == "user/logout":
            s.sessions.pop(sid, None)
            return self.answer_post(sid, response("OK"))
        return self.fail(100002)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="", help="login required when set")
    ap.add_argument("--password-type", type=int, default=4)
    ap.add_argument("--max-tries", type=int, default=3)
    ap.add_argument("--too-fast-ms", type=int, default=300)
    ap.add_argument("--expire-after", type=int, default=0, help="a session expires after N POSTs")
    ap.add_argument("--reports", action="store_true", help="a delivery confirmation after each send")
    ap.add_argument("--reports-fail", action="store_true", help="with --reports: confirmations say failed (SmsType 8)")
    ap.add_argument("--inbox-max", type=int, default=100)
    ap.add_argument("--no-sestokinfo", action="store_true", help="only /api/webserver/token (newer firmwares)")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    global STICK
    STICK = Stick(a)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


STICK = None
if __name__ == "__main__":
    main()
