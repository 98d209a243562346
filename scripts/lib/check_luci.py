#!/usr/bin/env python3
"""Static checks of openwrt-package/luci-app-smsgw (used by scripts/test.d/45-luci).

  check_luci.py static PLUGIN_LIST_JSON
      menu.d and acl.d JSON parse and agree: the menu's ACL name exists, every view the menu
      names exists, the ACL grants every rpc method the JS declares (rpc.declare) and nothing
      the pages do not use, the uci configs of every form.Map, and the plugin's `list` offers
      exactly the smsgw methods the pages call.
  check_luci.py drift FIELDS_JSONL DAEMON_OPTIONS UCI_CONFIG INIT_SCRIPT PROBES_JSON
      the settings page's fields against the daemon's options (see the stage's header).
  check_luci.py ipk IPK VERSION
      luci-app-smsgw_<version>_all.ipk: outer layout, control fields, file modes.
"""
import io
import json
import re
import sys
import tarfile
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "openwrt-package" / "luci-app-smsgw"
FAILED = []


def fail(msg):
    FAILED.append(msg)
    print("FAIL:", msg)


def js_files():
    return sorted((APP / "htdocs").rglob("*.js"))


def declared_calls():
    """(object, method) of every rpc.declare({...}) in the package's JS."""
    calls = set()
    for f in js_files():
        src = f.read_text(encoding="utf-8")
        for block in re.findall(r"rpc\.declare\(\{(.*?)\}\)", src, re.S):
            obj = re.search(r"object:\s*'([^']+)'", block)
            meth = re.search(r"method:\s*'([^']+)'", block)
            if not obj or not meth:
                fail(f"{f.name}: rpc.declare without a literal object/method")
                continue
            calls.add((obj.group(1), meth.group(1)))
    return calls


def static(plugin_list):
    menu = json.loads((APP / "root/usr/share/luci/menu.d/luci-app-smsgw.json").read_text())
    acl = json.loads((APP / "root/usr/share/rpcd/acl.d/luci-app-smsgw.json").read_text())
    offered = json.loads(plugin_list)

    if "admin/services/smsgw" not in menu:
        fail("menu has no admin/services/smsgw")
    for path, entry in menu.items():
        if not path.startswith("admin/services/smsgw"):
            fail(f"menu entry outside admin/services/smsgw: {path}")
        for name in entry.get("depends", {}).get("acl", []):
            if name not in acl:
                fail(f"menu {path} depends on ACL {name}, which acl.d does not define")
        action = entry.get("action", {})
        if action.get("type") == "view":
            view = APP / "htdocs/luci-static/resources/view" / (action["path"] + ".js")
            if not view.is_file():
                fail(f"menu {path} names view {action['path']}, no file {view}")
    subpages = sorted(p.rsplit("/", 1)[1] for p in menu if p.count("/") == 3)
    if subpages != ["messages", "send", "settings", "status"]:
        fail(f"sub-pages {subpages}")

    granted = set()
    uci_read, uci_write = set(), set()
    for group in acl.values():
        for kind in ("read", "write"):
            for obj, methods in group.get(kind, {}).get("ubus", {}).items():
                granted.update((obj, m) for m in methods)
        uci_read.update(group.get("read", {}).get("uci", []))
        uci_write.update(group.get("write", {}).get("uci", []))
        if "file" in group.get("read", {}) or "file" in group.get("write", {}):
            fail("the ACL grants file access, which no page uses")

    calls = declared_calls()
    for c in sorted(calls - granted):
        fail(f"the views call {c[0]}.{c[1]} but the ACL does not grant it")
    for c in sorted(granted - calls):
        fail(f"the ACL grants {c[0]}.{c[1]} but no view calls it")
    maps = set()
    for f in js_files():
        maps.update(re.findall(r"new form\.Map\('([^']+)'", f.read_text(encoding="utf-8")))
    for conf in sorted(maps):
        if conf not in uci_read or conf not in uci_write:
            fail(f"form.Map('{conf}') but the ACL does not grant uci read+write on it")
    for conf in sorted((uci_read | uci_write) - maps):
        fail(f"the ACL grants uci {conf}, which no form uses")

    smsgw_calls = {m for o, m in calls if o == "smsgw"}
    if set(offered) != smsgw_calls:
        fail(f"plugin list {sorted(offered)} != methods the views call {sorted(smsgw_calls)}")
    print(f"static: {len(menu)} menu entries, {len(calls)} rpc methods, ACL and plugin agree")


def uci_names(text):
    """Option and list names of the UCI file, including commented-out examples."""
    return {m.group(2): m.group(1) for m in re.finditer(r"^\s*#?\s*(option|list)\s+(\w+)", text, re.M)}


def drift(fields_path, daemon_options_path, uci_path, init_path, probes_path):
    fields = [json.loads(l) for l in Path(fields_path).read_text().splitlines() if l.strip()]
    page = {f["name"]: f for f in fields}
    if len(page) != len(fields):
        fail("the settings page has a field twice")
    help_opts = {o.replace("-", "_") for o in Path(daemon_options_path).read_text().split()}
    uci = uci_names(Path(uci_path).read_text())
    init = Path(init_path).read_text()
    init_lists = set(re.search(r'SMSGW_LIST_OPTIONS="([^"]*)"', init).group(1).split()) \
        if "SMSGW_LIST_OPTIONS" in init else set()
    init_values = set(re.search(r'SMSGW_VALUE_OPTIONS="([^"]*)"', init, re.S).group(1).split()) \
        if "SMSGW_VALUE_OPTIONS" in init else set()
    probes = json.loads(Path(probes_path).read_text())

    wanted = help_opts | set(uci) | init_lists | init_values
    for name in sorted(wanted - set(page)):
        source = "serve --help" if name in help_opts else ("the UCI file" if name in uci else "the init script")
        fail(f"option {name} (from {source}) has no field on the settings page")
    for name, kind in uci.items():
        if name in page and kind == "list" and page[name]["widget"] != "list":
            fail(f"{name} is a UCI list but the page shows a {page[name]['widget']}")
    for name in init_lists:
        if name in page and page[name]["widget"] != "list":
            fail(f"{name} is repeated by the init script but the page shows a {page[name]['widget']}")

    uci_only = {"enabled"}
    strict = bool(help_opts)
    pending = []
    for name in sorted(set(page) - uci_only):
        probe = probes.get(name)
        if probe is None or not probe["known"]:
            if strict:
                fail(f"settings field {name} is not an option of this daemon (smsgw serve --{name.replace('_', '-')})")
            else:
                pending.append(name)
            continue
        for sample, daemon_ok in probe.get("accepts", {}).items():
            if not daemon_ok and page[name]["accepts"].get(sample, True):
                fail(f"{name}: the page accepts '{sample}', the daemon refuses it")
    if pending:
        print("drift: fields for options this daemon does not have yet (no `serve --help` option table "
              "to check against, so not an error): " + " ".join(pending))
    print(f"drift: {len(page)} fields; daemon table: {len(help_opts) or 'none'}; UCI file: {len(uci)}; "
          f"init script: {len(init_values | init_lists)}")


def ipk(path, version):
    outer = tarfile.open(path, "r:gz")
    names = outer.getnames()
    if names != ["./debian-binary", "./data.tar.gz", "./control.tar.gz"]:
        fail(f"outer members {names}")
    data = tarfile.open(fileobj=io.BytesIO(outer.extractfile("./data.tar.gz").read()), mode="r:gz")
    ctrl = tarfile.open(fileobj=io.BytesIO(outer.extractfile("./control.tar.gz").read()), mode="r:gz")
    control = ctrl.extractfile("./control").read().decode()
    fields = dict(l.split(": ", 1) for l in control.splitlines() if ": " in l and not l.startswith(" "))
    for key, want in [("Package", "luci-app-smsgw"), ("Version", version), ("Architecture", "all")]:
        if fields.get(key) != want:
            fail(f"control {key}: {fields.get(key)!r}, want {want!r}")
    deps = [d.strip() for d in fields.get("Depends", "").split(",")]
    for d in ("luci-base", "smsgw"):
        if d not in deps:
            fail(f"Depends lacks {d}: {deps}")
    postinst = ctrl.extractfile("./postinst").read().decode()
    if "rpcd" not in postinst or "luci-indexcache" not in postinst:
        fail("postinst does not reload rpcd / drop the LuCI index cache")

    want = {}
    for f in (APP / "htdocs").rglob("*"):
        if f.is_file():
            want["./www/" + str(f.relative_to(APP / "htdocs"))] = (0o644, f.read_bytes())
    for f in (APP / "root").rglob("*"):
        if f.is_file():
            mode = 0o755 if "libexec/rpcd" in str(f) else 0o644
            want["./" + str(f.relative_to(APP / "root"))] = (mode, f.read_bytes())
    have = {m.name: m for m in data.getmembers() if m.isfile()}
    for name, (mode, content) in sorted(want.items()):
        m = have.get(name)
        if m is None:
            fail(f"ipk lacks {name}")
            continue
        if m.mode & 0o7777 != mode or m.uid or m.gid:
            fail(f"{name}: mode {oct(m.mode)} uid {m.uid}, want {oct(mode)} root")
        if data.extractfile(m).read() != content:
            fail(f"{name}: content differs from the package directory")
    for name in sorted(set(have) - set(want)):
        fail(f"ipk has an extra file {name}")
    for name in have:
        if data.extractfile(have[name]).read().find(b"Bearer ") >= 0 and "libexec" not in name:
            fail(f"{name} builds an Authorization header: the browser must never hold the token")
    print(f"ipk: {path}: {len(have)} files, control ok")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"static": static, "drift": drift, "ipk": ipk}[cmd](*args)
    sys.exit(1 if FAILED else 0)
