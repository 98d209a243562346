# Stand-in for the SDK's package.mk: `make install-test DEST=DIR` runs Package/<name>/install
# into DIR; `make print-meta` prints the package's conffiles and key variables.
define BuildPackage
install-test:
	$$(call Package/$(1)/install,$$(DEST))

print-meta:
	@echo "PKG_BUILD_DEPENDS=$$(PKG_BUILD_DEPENDS)"
	@echo "PKG_VERSION=$$(PKG_VERSION)"
	@echo "PKG_LICENSE=$$(PKG_LICENSE)"
	@printf '%s\n' $$(Package/$(1)/conffiles) | sed 's/^/conffile=/'
endef
