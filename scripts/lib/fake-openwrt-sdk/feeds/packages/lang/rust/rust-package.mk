# Stand-in for the packages feed's lang/rust/rust-package.mk: the real one adds the cargo build.
define RustBinPackage
endef
