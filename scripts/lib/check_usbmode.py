"""Checks usb-modeswitch/huawei-serial.json and scripts/merge-usbmode.

1. The JSON has OpenWrt usbmode's format (merge-usbmode's validator plus Huawei specifics:
   t_vendor 4817, ids 12d1:pppp, 31-byte "USBC" command blocks, a message for Generic mode).
2. The README table and the JSON list the same ids; the issue's sticks are all named; at least
   10 distinct sticks.
3. Each row's source against Debian's usb-modeswitch-data: a `debian:` row equals the recipe
   converted as OpenWrt converts it (target vendor/products, mode, switch message); an
   `override:` row overrides an existing recipe, keeps its target vendor, switches with the
   message named in the table, and no longer targets HiLink (14db/14dc).
5. The router-side merge (usb-modeswitch/merge-usbmode.awk) under busybox awk, mawk and gawk
   gives the same document as merge-usbmode, is byte-idempotent, refuses bad input; its
   wrapper smsgw-usbmode-merge (busybox sh) keeps FILE.orig and leaves FILE alone on failure.
4. merge-usbmode on a stock-like usb-mode.json (every Debian recipe converted): all other
   entries kept with the same messages, ours added or replacing, existing message indexes
   unchanged, idempotent; bad inputs are refused with a message and exit 1.
"""

import copy
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import usbmode_recipes  # noqa: E402

OURS = "usb-modeswitch/huawei-serial.json"
README = "usb-modeswitch/README.md"
MERGE = "scripts/merge-usbmode"
HILINK = {0x14DB, 0x14DC}
ISSUE_STICKS = ["E3372", "E3531", "E3131", "E303", "E173", "E1750", "E353", "K3765", "K4505"]

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)


def merge_tool():
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("merge_usbmode", MERGE)
    spec = importlib.util.spec_from_loader("merge_usbmode", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def resolved(doc, dev_id, match="*"):
    """(mode, [message texts]) that usbmode would use for a device."""
    opts = doc["devices"][dev_id][match]
    msgs = [doc["messages"][i].lower() for i in opts.get("msg", [])]
    if opts.get("mode") == "HuaweiNew":
        msgs = [usbmode_recipes.HUAWEI_NEW_MESSAGE]
    return opts.get("mode", "Generic"), msgs


def table_rows():
    rows = []
    for line in open(README, encoding="utf-8"):
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append({
            "id": cells[0].strip("`"), "sticks": cells[1], "source": cells[2],
            "switch": cells[3].strip("`"),
            "targets": [int(t, 16) for t in cells[4].split(",")],
        })
    return rows


def check_format(tool, ours):
    errs = tool.validate(ours, OURS)
    check(not errs, "format: " + "; ".join(errs))
    for i, m in enumerate(ours["messages"]):
        raw = bytes.fromhex(m)
        check(len(raw) == 31 and raw[:4] == b"USBC", f"message {i} is not a 31-byte USBC block")
    for dev_id, matches in ours["devices"].items():
        check(dev_id.startswith("12d1:"), f"{dev_id}: not a Huawei id")
        check(list(matches) == ["*"], f"{dev_id}: expected one '*' match")
        opts = matches.get("*", {})
        check(opts.get("t_vendor") == 4817, f"{dev_id}: t_vendor {opts.get('t_vendor')} != 4817")
        check(bool(opts.get("t_product")), f"{dev_id}: no t_product")
        if opts.get("mode") == "Generic":
            check(bool(opts.get("msg")), f"{dev_id}: Generic mode without a message")
    # the validator itself must catch broken files
    bad = copy.deepcopy(ours)
    first = next(iter(bad["devices"]))
    bad["devices"][first]["*"]["msg"] = [len(bad["messages"])]
    bad["devices"]["12D1:XYZ"] = {"*": {"t_vendor": "4817", "mode": "Nope"}}
    errs = " ".join(tool.validate(bad))
    for want in ("out of range", "vvvv:pppp", "not an integer", "unknown to usbmode"):
        check(want in errs, f"validator misses '{want}' in a broken file: {errs}")


def check_sources(rows, ours, debian):
    ids = [r["id"] for r in rows]
    check(len(ids) == len(set(ids)), "README table repeats an id")
    check(set(ids) == set(ours["devices"]), f"README ids {sorted(set(ids) ^ set(ours['devices']))} "
          "differ from the JSON")
    names = set()
    for r in rows:
        names.update(re.findall(r"\b[EK]\d{3,4}[a-z]*(?:-\d+)?\b", r["sticks"]))
    print(f"sticks named: {len(names)} ({', '.join(sorted(names))})")
    check(len(names) >= 10, f"only {len(names)} sticks named")
    text = " ".join(r["sticks"] for r in rows)
    for stick in ISSUE_STICKS:
        check(re.search(rf"\b{stick}", text) is not None, f"{stick} not covered")
    checked = 0
    for r in rows:
        dev_id = r["id"]
        if dev_id not in ours["devices"]:
            continue
        kind, _, recipe = r["source"].partition(":")
        opts = ours["devices"][dev_id]["*"]
        mode, msgs = resolved(ours, dev_id)
        check(opts.get("t_product") == r["targets"], f"{dev_id}: t_product differs from README")
        if recipe not in debian["devices"]:
            failures.append(f"{dev_id}: Debian's usb-modeswitch-data has no recipe {recipe}")
            continue
        deb_mode, deb_msgs = resolved(debian, recipe)
        deb = debian["devices"][recipe]["*"]
        if kind == "debian":
            check(recipe == dev_id, f"{dev_id}: takes recipe of another id {recipe}")
            check(opts.get("t_vendor") == deb.get("t_vendor"), f"{dev_id}: target vendor differs from Debian")
            check(sorted(opts.get("t_product", [])) == sorted(deb.get("t_product", [])),
                  f"{dev_id}: target products {opts.get('t_product')} != Debian {deb.get('t_product')}")
            check(mode == deb_mode and msgs == deb_msgs, f"{dev_id}: switch ({mode}, {msgs}) != "
                  f"Debian ({deb_mode}, {deb_msgs})")
            check(r["switch"] == mode, f"{dev_id}: README switch column says {r['switch']}")
        elif kind == "override":
            check(recipe == dev_id, f"{dev_id}: overrides another id {recipe}")
            check(opts.get("t_vendor") == deb.get("t_vendor"), f"{dev_id}: target vendor differs from Debian")
            check(msgs == [r["switch"].lower()], f"{dev_id}: message {msgs} != README {r['switch']}")
            check(not HILINK & set(opts.get("t_product", [])), f"{dev_id}: still targets HiLink")
            check(HILINK & set(deb.get("t_product", [])) != set(), f"{dev_id}: Debian's recipe was not HiLink; why override?")
        else:
            failures.append(f"{dev_id}: source '{r['source']}' is neither debian: nor override:")
            continue
        checked += 1
    print(f"rows checked against Debian usb-modeswitch-data: {checked}")
    check(checked == len(rows), "not every row checked against Debian")


def run_merge(args):
    return subprocess.run(["/usr/bin/python3", MERGE, *args], capture_output=True, text=True)


def check_merge(ours, stock):
    # An older stock file: two of our sticks are missing from it, so they must be added.
    stock = copy.deepcopy(stock)
    older = ["12d1:15cf", "12d1:15e7"]
    for dev_id in older:
        stock["devices"].pop(dev_id, None)
    with tempfile.TemporaryDirectory() as tmp:
        base_path = os.path.join(tmp, "usb-mode.json")
        out_path = os.path.join(tmp, "merged.json")
        with open(base_path, "w") as f:
            json.dump(stock, f, indent="\t")
        p = run_merge([base_path, OURS, "-o", out_path])
        check(p.returncode == 0, f"merge failed: {p.stderr}")
        if p.returncode != 0:
            return
        merged = json.load(open(out_path))
        p = run_merge(["--check", out_path])
        check(p.returncode == 0, f"merged file does not validate: {p.stderr}")
        check(merged["messages"][:len(stock["messages"])] == stock["messages"],
              "stock message indexes changed")
        kept = 0
        for dev_id, matches in stock["devices"].items():
            if dev_id in ours["devices"]:
                continue
            check(dev_id in merged["devices"], f"stock entry {dev_id} lost")
            if dev_id not in merged["devices"]:
                continue
            check(merged["devices"][dev_id] == matches, f"stock entry {dev_id} changed")
            for match in matches:
                check(resolved(merged, dev_id, match) == resolved(stock, dev_id, match),
                      f"stock entry {dev_id} now sends other messages")
            kept += 1
        replaced = added = 0
        for dev_id in ours["devices"]:
            check(resolved(merged, dev_id) == resolved(ours, dev_id), f"{dev_id}: merged switch differs from ours")
            got = {k: v for k, v in merged["devices"][dev_id]["*"].items() if k != "msg"}
            want = {k: v for k, v in ours["devices"][dev_id]["*"].items() if k != "msg"}
            check(got == want, f"{dev_id}: merged options differ from ours")
            if dev_id in stock["devices"]:
                replaced += 1
            else:
                added += 1
        check(added == len(older), f"added {added} entries, expected {len(older)}")
        check(replaced == len(ours["devices"]) - len(older), f"replaced {replaced} entries")
        check(merged["devices"]["12d1:1f01"]["*"]["t_product"][0] == 0x1442, "12d1:1f01 still HiLink")
        print(f"merge: {kept} stock entries kept, {replaced} replaced, {added} added, "
              f"{len(merged['messages']) - len(stock['messages'])} messages appended")
        # idempotent: merging again changes nothing
        again = os.path.join(tmp, "again.json")
        p = run_merge([out_path, OURS, "-o", again])
        check(p.returncode == 0 and open(again).read() == open(out_path).read(), "merge is not idempotent")
        # stdout output is the same document
        p = run_merge([base_path, OURS])
        check(p.returncode == 0 and json.loads(p.stdout) == merged, "stdout output differs from -o output")
        # refused inputs
        broken = os.path.join(tmp, "broken.json")
        open(broken, "w").write('{"messages": [], "devices": {"12d1:1f01": {"*": {"msg": [3]}}}}')
        p = run_merge([base_path, broken])
        check(p.returncode == 1 and "out of range" in p.stderr, f"bad msg index not refused: {p.stderr}")
        open(broken, "w").write("{not json")
        p = run_merge([broken, OURS])
        check(p.returncode == 1 and "not valid JSON" in p.stderr, f"broken JSON not refused: {p.stderr}")
        p = run_merge([os.path.join(tmp, "missing.json"), OURS])
        check(p.returncode == 1 and "merge-usbmode:" in p.stderr, "missing file not refused")
        check("Traceback" not in p.stderr, "merge-usbmode crashed with a traceback")


AWK_MERGE = "usb-modeswitch/merge-usbmode.awk"
WRAPPER = "usb-modeswitch/smsgw-usbmode-merge"


def awks():
    found = [["busybox", "awk"]]
    for name in ("mawk", "gawk", "original-awk"):
        for d in os.environ.get("PATH", "").split(":"):
            if d and os.access(os.path.join(d, name), os.X_OK):
                found.append([os.path.join(d, name)])
                break
    return found


def check_awk(tool, ours, stock):
    with tempfile.TemporaryDirectory() as tmp:
        stock = copy.deepcopy(stock)
        stock["devices"].pop("12d1:15cf", None)
        samples = {}
        for name, text in (("pretty", json.dumps(stock, indent="\t")), ("compact", json.dumps(stock)),
                           ("small", '{"messages":["5553424312345678000000000000061b000000020000000000000000000000"],'
                                     '"devices":{"19d2:2000":{"*":{"t_vendor":6610,"msg":[0],'
                                     '"mode":"StandardEject"}},"12d1:1f01":{"*":{"t_vendor":4817,'
                                     '"t_product":[5339,5340],"mode":"HuaweiNew","msg":[]}}}}')):
            path = os.path.join(tmp, name + ".json")
            open(path, "w").write(text)
            samples[name] = path
        for awk in awks():
            label = " ".join(os.path.basename(a) for a in awk)
            for name, path in samples.items():
                p = subprocess.run([*awk, "-f", AWK_MERGE, path, OURS], capture_output=True, text=True)
                if p.returncode != 0:
                    failures.append(f"{label} merge of {name} failed: {p.stderr}")
                    continue
                want = json.loads(run_merge([path, OURS]).stdout)
                try:
                    got = json.loads(p.stdout)
                except json.JSONDecodeError as e:
                    failures.append(f"{label} merge of {name}: not JSON ({e})")
                    continue
                check(got == want, f"{label} merge of {name} differs from merge-usbmode")
                check(not tool.validate(got), f"{label} merge of {name} invalid: {tool.validate(got)[:3]}")
                again = os.path.join(tmp, "again.json")
                open(again, "w").write(p.stdout)
                q = subprocess.run([*awk, "-f", AWK_MERGE, again, OURS], capture_output=True, text=True)
                check(q.returncode == 0 and q.stdout == p.stdout, f"{label} merge of {name} not idempotent")
            for bad, want in (('{"messages": [], "devices": {"12d1:1f01": {"*": {"msg": [0]}}}}', "out of range"),
                              ('{"messages": [], "devices": {"12D1:1F01": {"*": {}}}}', "vvvv:pppp"),
                              ('{"messages": ["zz"], "devices": {}}', "hex"),
                              ('{"messages": [], "devices": {"12d1:1f01": {"*": {"msg": [0}}}', "expected"),
                              ('{"messages": ["00"]', "expected"), ("", "empty")):
                path = os.path.join(tmp, "bad.json")
                open(path, "w").write(bad)
                p = subprocess.run([*awk, "-f", AWK_MERGE, samples["small"], path], capture_output=True, text=True)
                check(p.returncode == 1 and want in p.stderr, f"{label}: bad input {bad!r} not refused "
                      f"(rc {p.returncode}, {p.stderr.strip()!r})")
            print(f"router merge ok under {label}")
        check_wrapper(tmp, samples["pretty"])


def check_wrapper(tmp, stock_path):
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir, exist_ok=True)
    if not os.path.exists(os.path.join(bindir, "awk")):
        os.symlink(subprocess.run(["sh", "-c", "command -v busybox"], capture_output=True,
                                  text=True).stdout.strip(), os.path.join(bindir, "awk"))
    env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"],
               SMSGW_USBMODE_ENTRIES=os.path.abspath(OURS), SMSGW_USBMODE_AWK=os.path.abspath(AWK_MERGE))
    target = os.path.join(tmp, "etc-usb-mode.json")
    original = open(stock_path).read()
    open(target, "w").write(original)

    def wrap(*args):
        return subprocess.run(["busybox", "sh", WRAPPER, *args], capture_output=True, text=True, env=env)

    p = wrap(target)
    check(p.returncode == 0 and "merged" in p.stdout, f"wrapper failed: {p.stdout} {p.stderr}")
    check(open(target + ".orig").read() == original, "wrapper did not keep the original")
    merged = json.load(open(target))
    check(merged["devices"]["12d1:1f01"]["*"]["mode"] == "Generic", "wrapper did not merge")
    before = open(target).read()
    p = wrap(target)
    check(p.returncode == 0 and "already" in p.stdout and open(target).read() == before,
          "second wrapper run changed the file")
    open(target, "w").write("{broken")
    p = wrap(target)
    check(p.returncode == 1 and open(target).read() == "{broken", "failed merge touched the file")
    check(not os.path.exists(target + ".smsgw-tmp"), "failed merge left its temp file")
    p = wrap(os.path.join(tmp, "missing.json"))
    check(p.returncode == 1 and "usb-modeswitch" in p.stderr, "missing file not reported")
    print("router wrapper ok")


def main():
    tool = merge_tool()
    ours = json.load(open(OURS))
    debian = usbmode_recipes.convert(usbmode_recipes.load_pack())
    print(f"Debian recipes converted: {len(debian['devices'])} devices, {len(debian['messages'])} messages")
    check(len(debian["devices"]) > 400, "Debian recipe pack looks incomplete")
    check(not tool.validate(debian), "converted Debian recipes fail the validator")
    check_format(tool, ours)
    check_sources(table_rows(), ours, debian)
    check_merge(ours, debian)
    check_awk(tool, ours, debian)
    if failures:
        for f in failures:
            print("FAIL:", f)
        sys.exit(1)
    print("usbmode ok")


if __name__ == "__main__":
    main()
