# Minimal stand-in for an OpenWrt SDK's rules.mk: just enough to evaluate
# openwrt-package/smsgw/Makefile's install recipe off the SDK (scripts/test.d/30-ipk).
# The INSTALL_* macros have the SDK's modes.
INCLUDE_DIR:=$(TOPDIR)/include
INSTALL_DIR:=install -d -m0755
INSTALL_BIN:=install -m0755
INSTALL_DATA:=install -m0644
INSTALL_CONF:=install -m0600
LN:=ln -sf
CP:=cp -fpR
