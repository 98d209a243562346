"""Builds a fake OpenWrt download mirror and serves it on 127.0.0.1 (for scripts/build-image tests).

usage: fake_mirror.py ROOT PORTFILE [--bad-checksum]

ROOT gets releases/24.10.4/targets/ramips/mt76x8/{sha256sums, ImageBuilder .tar.zst} and
releases/24.10.4/packages/mipsel_24kc/base/{Packages, usb-modeswitch .ipk}. The fake
ImageBuilder's Makefile records its `make image` variables, the overlay it got and its
packages/ dir into BIN_DIR, plus a fake sysupgrade image. The stock usb-mode.json inside the
usb-modeswitch package is every Debian usb-modeswitch-data recipe converted as OpenWrt does.
Serves ROOT over HTTP on a free loopback port, written to PORTFILE, until killed.
"""

import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(__file__))
import usbmode_recipes  # noqa: E402

VERSION, TARGET, ARCH = "24.10.4", "ramips/mt76x8", "mipsel_24kc"
IB = f"openwrt-imagebuilder-{VERSION}-ramips-mt76x8.Linux-x86_64"
MAKEFILE = """\
image:
\t@test -n "$(PROFILE)" && test -d "$(FILES)" && test -n "$(BIN_DIR)"
\tmkdir -p "$(BIN_DIR)"
\tprintf 'PROFILE=%s\\nPACKAGES=%s\\n' "$(PROFILE)" "$(PACKAGES)" > "$(BIN_DIR)/make-vars.txt"
\tcp -a "$(FILES)" "$(BIN_DIR)/files-used"
\tls packages > "$(BIN_DIR)/packages.txt"
\techo fake > "$(BIN_DIR)/openwrt-$(PROFILE)-squashfs-sysupgrade.bin"
"""


def tar_bytes(entries, compress):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), mode
                tar.addfile(info, io.BytesIO(data))
    return compress(buf.getvalue())


def build(root, bad_checksum):
    target = os.path.join(root, "releases", VERSION, "targets", TARGET)
    base = os.path.join(root, "releases", VERSION, "packages", ARCH, "base")
    os.makedirs(target, exist_ok=True)
    os.makedirs(base, exist_ok=True)

    ib_tar = tar_bytes([(f"{IB}/", None, 0), (f"{IB}/packages/", None, 0),
                        (f"{IB}/Makefile", MAKEFILE.encode(), 0o644)],
                       lambda b: subprocess.run(["zstd", "-q", "-c"], input=b, capture_output=True,
                                                check=True).stdout)
    ib_name = f"{IB}.tar.zst"
    open(os.path.join(target, ib_name), "wb").write(ib_tar)
    digest = hashlib.sha256(ib_tar).hexdigest()
    if bad_checksum:
        digest = "0" * 64
    open(os.path.join(target, "sha256sums"), "w").write(
        f"{'1' * 64} *openwrt-{VERSION}-ramips-mt76x8-vocore_vocore2-squashfs-sysupgrade.bin\n"
        f"{digest} *{ib_name}\n")

    stock = usbmode_recipes.convert(usbmode_recipes.load_pack())
    data = tar_bytes([("./", None, 0), ("./etc/", None, 0),
                      ("./etc/usb-mode.json", json.dumps(stock, indent="\t").encode(), 0o644)],
                     lambda b: gzip.compress(b, mtime=0))
    ctrl = tar_bytes([("./control", b"Package: usb-modeswitch\n", 0o644)],
                     lambda b: gzip.compress(b, mtime=0))
    ipk = tar_bytes([("./debian-binary", b"2.0\n", 0o644), ("./data.tar.gz", data, 0o644),
                     ("./control.tar.gz", ctrl, 0o644)], lambda b: gzip.compress(b, mtime=0))
    ipk_name = f"usb-modeswitch_2017-12-19-f40f84c4-r4_{ARCH}.ipk"
    open(os.path.join(base, ipk_name), "wb").write(ipk)
    open(os.path.join(base, "Packages"), "w").write(
        f"Package: usb-modeswitch-data\nVersion: 1\nFilename: x.ipk\nSHA256sum: {'2' * 64}\n\n"
        f"Package: usb-modeswitch\nVersion: 2017-12-19-f40f84c4-r4\nArchitecture: {ARCH}\n"
        f"Filename: {ipk_name}\nSize: {len(ipk)}\nSHA256sum: {hashlib.sha256(ipk).hexdigest()}\n"
        f"Description:  USB mode switching utility\n\n"
        f"Package: usbutils\nVersion: 1\nFilename: usbutils.ipk\nSHA256sum: {'3' * 64}\n")


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main():
    root, portfile = sys.argv[1], sys.argv[2]
    build(root, "--bad-checksum" in sys.argv[3:])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=root))
    with open(portfile + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    server.serve_forever()


if __name__ == "__main__":
    main()
