# syntax=docker/dockerfile:1
# Builds a flashable OpenWrt image with smsgw for the VoCore2 (or another router, by build
# args) with the OpenWrt ImageBuilder. All logic is in scripts/build-image (the same scripts
# CI uses build and pack smsgw); this file only provides a Debian with the prerequisites.
#
#   docker build --output type=local,dest=out .
#   docker build --build-arg OPENWRT_PROFILE=... --build-arg OPENWRT_TARGET=... --output type=local,dest=out .
#
#   docker build --build-arg LUCI=0 ...   (no LuCI in the image)
#
# The images land in ./out/ (…-squashfs-sysupgrade.bin, plus the smsgw and luci-app-smsgw .ipk).

FROM debian:bookworm AS build

ARG OPENWRT_VERSION=24.10.4
ARG OPENWRT_TARGET=ramips/mt76x8
ARG OPENWRT_PROFILE=vocore_vocore2
ARG OPENWRT_ARCH=mipsel_24kc
ARG EXTRA_PACKAGES=""
# 1: the image has LuCI with Services › SMS Gateway (luci + luci-app-smsgw); 0: without.
ARG LUCI=1
ARG OPENWRT_MIRROR=https://downloads.openwrt.org
ARG RUST_TOOLCHAIN=stable

ENV DEBIAN_FRONTEND=noninteractive
# ImageBuilder prerequisites (OpenWrt docs) + what scripts/install-deps needs to run.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential ca-certificates curl file gawk gettext git libncurses-dev libssl-dev \
      python3 python3-setuptools rsync sudo unzip wget xsltproc xz-utils zlib1g-dev zstd \
 && rm -rf /var/lib/apt/lists/*

# The ImageBuilder refuses to run as root: build as an ordinary user.
RUN useradd --create-home --shell /bin/bash build \
 && printf 'Defaults env_keep += "DEBIAN_FRONTEND"\nbuild ALL=(root) NOPASSWD: /usr/bin/apt-get\n' >/etc/sudoers.d/build-apt
USER build
WORKDIR /home/build
ENV PATH=/home/build/.cargo/bin:$PATH
RUN curl -fsSL https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain "$RUST_TOOLCHAIN" \
 && rustup component add rust-src

COPY --chown=build:build . /home/build/smsgw
WORKDIR /home/build/smsgw
# Same prerequisites as CI (apt packages: mipsel cross gcc, qemu, shellcheck, pigz, ...).
RUN scripts/install-deps

RUN OPENWRT_VERSION="$OPENWRT_VERSION" OPENWRT_TARGET="$OPENWRT_TARGET" \
    OPENWRT_PROFILE="$OPENWRT_PROFILE" OPENWRT_ARCH="$OPENWRT_ARCH" \
    EXTRA_PACKAGES="$EXTRA_PACKAGES" OPENWRT_MIRROR="$OPENWRT_MIRROR" OPENWRT_LUCI="$LUCI" \
    scripts/build-image --work /home/build/work --out /home/build/out \
 && cp /home/build/work/ipk/*.ipk /home/build/out/

# `--output type=local,dest=out` exports just the images.
FROM scratch AS image
COPY --from=build /home/build/out/ /
