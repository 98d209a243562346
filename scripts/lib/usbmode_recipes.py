"""Python port of OpenWrt usbmode's convert-modeswitch.pl, for tests.

Turns usb_modeswitch recipe files (Debian's usb-modeswitch-data, "KEY=value" lines named
"vvvv:pppp[:match]") into a usb-mode.json document exactly as OpenWrt builds its stock
/etc/usb-mode.json: hex options become integers, MessageContent* become message indexes,
"<Name>Mode=1" becomes "mode": "<Name>" (StandardEject stays "StandardEject").
"""

import re
import tarfile

RECIPE_PACK = "/usr/share/usb_modeswitch/configPack.tar.gz"

# usb_modeswitch's HuaweiNewMode bulk message == usbmode's built-in handle_huaweinew message.
HUAWEI_NEW_MESSAGE = "55534243123456780000000000000011062000000101000100000000000000"

_HEX = ("TargetVendor", "TargetClass", "MessageEndpoint", "ResponseEndpoint", "CheckSuccess",
        "Interface", "Configuration", "AltSetting")
_MODES = ("HuaweiMode", "HuaweiNewMode", "SierraMode", "SonyMode", "QisdaMode", "GCTMode",
          "KobilMode", "SequansMode", "MobileActionMode", "CiscoMode", "StandardEject")
_PLAIN = ("WaitBefore", "DetachStorageOnly", "NoDriverLoading", "ReleaseDelay", "NeedResponse",
          "ResetUSB", "InquireDevice")
# (recipe key, json key, kind) in convert-modeswitch.pl's output order
_OUT = [("TargetVendor", "t_vendor", "int"), ("TargetProduct", "t_product", "ints"),
        ("TargetClass", "t_class", "int"), ("DetachStorageOnly", "detach_storage", "bool"),
        ("Mode", "mode", "str"), ("NoDriverLoading", "no_driver", "bool"),
        ("MessageEndpoint", "msg_endpoint", "int"), ("msg", "msg", "ints"),
        ("WaitBefore", "wait", "int"), ("ReleaseDelay", "release_delay", "int"),
        ("NeedResponse", "response", "bool"), ("ResponseEndpoint", "response_endpoint", "int"),
        ("ResetUSB", "reset", "bool"), ("InquireDevice", "inquire", "int"),
        ("CheckSuccess", "check", "bool"), ("Interface", "interface", "int"),
        ("Configuration", "config", "int"), ("AltSetting", "alt", "int")]


def parse_recipe(text):
    """Recipe text -> {key: value} with messages still as strings."""
    dev = {}
    for line in text.splitlines():
        line = line.strip()
        line = re.sub(r"#.+$", "", line)
        if not re.search(r"\w", line):
            continue
        m = re.search(r"(\w+)\s*=\s*(.+)\s*", line)
        if not m:
            continue
        key, val = m.group(1), m.group(2).strip()
        val = re.sub(r'^"(.+)"$', r"\1", val)
        if key in _HEX:
            dev[key] = int(val[2:] if val.startswith("0x") else val, 16)
        elif key == "TargetProductList":
            dev["TargetProduct"] = [int(x, 16) for x in val.split(",")]
        elif key == "TargetProduct":
            dev["TargetProduct"] = [int(val, 16)]
        elif key.startswith("MessageContent"):
            dev[key] = val
        elif key in _MODES:
            dev["Mode"] = re.sub(r"^(\w+)Mode$", r"\1", key)
        elif key in _PLAIN:
            dev[key] = int(val) if re.match(r"^-?\d+$", val) else val
    return dev


def convert(recipes):
    """{file name: recipe text} -> usb-mode.json document (dict)."""
    messages, devices = [], {}
    for name in sorted(recipes):
        m = re.match(r"^(\w{4}:\w{4})(:.*)?", name)
        if not m:
            continue
        dev_id, match = m.group(1), (m.group(2) or "")[1:] or "*"
        dev = parse_recipe(recipes[name])
        msg = []
        for key in ("MessageContent", "MessageContent2", "MessageContent3"):
            if key in dev:
                if dev[key] not in messages:
                    messages.append(dev[key])
                msg.append(messages.index(dev[key]))
        dev["msg"] = msg
        out = {}
        for rkey, jkey, kind in _OUT:
            if rkey not in dev:
                continue
            val = dev[rkey]
            if kind == "bool":
                val = bool(val) if isinstance(val, int) else False
            out[jkey] = val
        devices.setdefault(dev_id, {})[match] = out
    return {"messages": messages, "devices": dict(sorted(devices.items()))}


def load_pack(path=RECIPE_PACK):
    """{file name: recipe text} from Debian's configPack.tar.gz."""
    recipes = {}
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                f = tar.extractfile(member)
                if f:
                    recipes[member.name.split("/")[-1]] = f.read().decode("utf-8", "replace")
    return recipes
