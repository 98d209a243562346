#!/usr/bin/env python3
"""Drives scripts/lib/hilink_sim.py with the real HiLink client `huawei-lte-api` (PyPI): login with
password type 4, send, confirm, list, delete, through the simulator's tokens and cookies. Proves the
simulator behaves the way real clients expect (they were written against real sticks).

usage: check_hilink_sim.py  (huawei_lte_api importable; PYTHONPATH may point at a pip --target dir)
"""
import json
import os
import subprocess
import sys
import urllib.request

from huawei_lte_api.Client import Client
from huawei_lte_api.Connection import Connection
from huawei_lte_api.enums.sms import BoxTypeEnum

HERE = os.path.dirname(os.path.abspath(__file__))


def sim(*args):
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "hilink_sim.py"), *args],
                         stdout=subprocess.PIPE, text=True)
    port = int(p.stdout.readline().split()[1])
    return p, "http://127.0.0.1:%d/" % port


def state(url):
    with urllib.request.urlopen(url + "sim/state") as r:
        return json.load(r)


def inject(url, phone, content):
    req = urllib.request.Request(url + "sim/inject", data=json.dumps({"phone": phone, "content": content}).encode(),
                                 method="POST")
    urllib.request.urlopen(req).read()


def check(login):
    args = ["--password", "secret"] if login else []
    p, url = sim(*args, "--too-fast-ms", "0")
    try:
        conn = Connection(url, username="admin" if login else None, password="secret" if login else None)
        with conn:
            c = Client(conn)
            assert c.sms.send_sms(["+491701234567"], "hello <&> from huawei-lte-api") == "OK"
            st = c.sms.send_status()
            st = c.sms.send_status()
            assert st["SucPhone"] == "+491701234567", st
            s = state(url)
            assert s["sent"][0]["content"] == "hello <&> from huawei-lte-api", s["sent"]
            inject(url, "+491709999999", "incoming 1")
            lst = c.sms.get_sms_list(1, BoxTypeEnum.LOCAL_INBOX)
            msgs = lst["Messages"]["Message"]
            assert msgs[0]["Content"] == "incoming 1" and int(msgs[0]["Index"]) >= 40000, lst
            assert c.sms.delete_sms(int(msgs[0]["Index"])) == "OK"
            info = c.device.information()
            assert info["DeviceName"] == "E3372h-320", info
            s = state(url)
            assert s["inbox"] == [] and len(s["deleted"]) == 1, s
            assert (s["logins"] == 1) == login, s
        print("check_hilink_sim: huawei-lte-api %s: login, send, send-status, list, delete OK"
              % ("with login" if login else "without login"))
    finally:
        p.terminate()
        p.wait()


if __name__ == "__main__":
    check(False)
    check(True)
