"""Checks an smsgw .ipk built by scripts/build-ipk against OpenWrt 24.10 ipkg-build's format.

usage: check_ipk.py IPK BINARY VERSION ARCH   (exit 1 with a list of failures)
"""

import gzip
import io
import os
import stat
import sys
import tarfile

# A ratchet like scripts/size-ceiling: the two-way features (receiving, reports, HiLink, JSON,
# forwarding) took the package from 137 KiB to 233 KiB; it must not grow unnoticed.
MAX_IPK_BYTES = 240 * 1024
FILES = "openwrt-package/smsgw/files"
# path in data.tar.gz -> (mode, source file in the repository or None for the binary)
EXPECTED = {
    "./usr/bin/smsgw": (0o755, None),
    "./etc/init.d/smsgw": (0o755, f"{FILES}/smsgw.init"),
    "./etc/config/smsgw": (0o600, f"{FILES}/smsgw.config"),
    "./etc/hotplug.d/tty/30-smsgw": (0o644, f"{FILES}/smsgw.hotplug"),
    "./etc/uci-defaults/90-smsgw": (0o755, f"{FILES}/smsgw.uci-defaults"),
    "./usr/sbin/smsgw-usbmode-merge": (0o755, "usb-modeswitch/smsgw-usbmode-merge"),
    "./usr/share/smsgw/merge-usbmode.awk": (0o644, "usb-modeswitch/merge-usbmode.awk"),
    "./usr/share/smsgw/huawei-serial.json": (0o644, "usb-modeswitch/huawei-serial.json"),
}
SYMLINKS = {"./www/cgi-bin/sms": "/usr/bin/smsgw"}

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)


def member_bytes(tar, name):
    f = tar.extractfile(name)
    return f.read() if f else b""


def main():
    ipk, binary, version, arch = sys.argv[1:5]
    size = os.path.getsize(ipk)
    print(f"ipk size: {size} bytes ({size / 1024:.1f} KiB, limit {MAX_IPK_BYTES // 1024} KiB)")
    check(size <= MAX_IPK_BYTES, f".ipk is {size} bytes, over {MAX_IPK_BYTES}")

    raw = open(ipk, "rb").read()
    check(raw[:2] == b"\x1f\x8b", "outer file is not gzip (24.10 ipk = gzipped tar, not ar)")
    outer = tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw)), mode="r:")
    names = outer.getnames()
    check(names == ["./debian-binary", "./data.tar.gz", "./control.tar.gz"],
          f"outer members {names}")
    check(outer.getmember("./debian-binary").uid == 0, "outer members not owned by 0")
    check(member_bytes(outer, "./debian-binary") == b"2.0\n", "debian-binary is not '2.0'")

    data_gz = member_bytes(outer, "./data.tar.gz")
    data_raw = gzip.decompress(data_gz)
    data = tarfile.open(fileobj=io.BytesIO(data_raw), mode="r:")
    ctrl = tarfile.open(fileobj=io.BytesIO(gzip.decompress(member_bytes(outer, "./control.tar.gz"))),
                        mode="r:")

    # control
    control = member_bytes(ctrl, "./control").decode()
    fields = {}
    for line in control.splitlines():
        if line and not line.startswith(" ") and ":" in line:
            k, v = line.split(":", 1)
            fields[k] = v.strip()
    for key, want in [("Package", "smsgw"), ("Version", version), ("Architecture", arch),
                      ("Section", "utils"), ("License", "MIT"), ("SourceName", "smsgw")]:
        check(fields.get(key) == want, f"control {key}={fields.get(key)!r}, want {want!r}")
    for key in ("Source", "Description", "SourceDateEpoch"):
        check(bool(fields.get(key)), f"control has no {key}")
    check(fields.get("Installed-Size") == str(len(data_raw)),
          f"Installed-Size {fields.get('Installed-Size')} != data tar size {len(data_raw)}")
    check("Depends" not in fields or fields["Depends"] != "", "empty Depends line")
    conffiles = member_bytes(ctrl, "./conffiles").decode().split()
    check(conffiles == ["/etc/config/smsgw"], f"conffiles {conffiles}")
    for script, fn in (("./postinst", "default_postinst"), ("./prerm", "default_prerm")):
        m = ctrl.getmember(script)
        body = member_bytes(ctrl, script).decode()
        check(stat.S_IMODE(m.mode) == 0o755, f"{script} mode {oct(m.mode)}")
        check(body.startswith("#!/bin/sh\n"), f"{script} has no #!/bin/sh")
        check(f"{fn} $0 $@" in body and ". ${IPKG_INSTROOT}/lib/functions.sh" in body,
              f"{script} does not call {fn} from /lib/functions.sh")

    # data
    members = {m.name: m for m in data.getmembers()}
    for m in members.values():
        check(m.uid == 0 and m.gid == 0, f"{m.name} owned by {m.uid}:{m.gid}, not root")
    for cf in conffiles:
        check("." + cf in members, f"conffile {cf} not in data")
    for path, (mode, src) in EXPECTED.items():
        m = members.get(path)
        if m is None:
            failures.append(f"data has no {path}")
            continue
        check(m.isreg(), f"{path} is not a regular file")
        check(stat.S_IMODE(m.mode) == mode, f"{path} mode {oct(stat.S_IMODE(m.mode))}, want {oct(mode)}")
        want = open(src or binary, "rb").read()
        check(member_bytes(data, path) == want, f"{path} differs from {src or binary}")
    for path, target in SYMLINKS.items():
        m = members.get(path)
        check(m is not None and m.issym() and m.linkname == target, f"{path} is not a symlink to {target}")
    files = {n for n, m in members.items() if not m.isdir()}
    extra = files - set(EXPECTED) - set(SYMLINKS)
    check(not extra, f"unexpected files in data: {sorted(extra)}")

    elf = member_bytes(data, "./usr/bin/smsgw")[:20]
    check(elf[:4] == b"\x7fELF", "binary is not ELF")
    check(elf[4:5] == b"\x01", "binary is not 32-bit ELF")
    check(elf[5:6] == b"\x01", "binary is not little-endian (LSB)")
    check(int.from_bytes(elf[18:20], "little") == 8, "binary e_machine is not MIPS (8)")

    if failures:
        for f in failures:
            print("FAIL:", f)
        sys.exit(1)
    print(f"ipk ok: {len(members)} data entries, control fields {sorted(fields)}")


if __name__ == "__main__":
    main()
