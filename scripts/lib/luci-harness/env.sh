# shellcheck shell=bash
# Shared by scripts/test.d/45-luci and scripts/lib/luci-harness/screenshots (bash, sourced).
#
# luci_busybox_bin DIR: DIR holds only the applets the rpcd plugin may use, each a link to
# busybox, all of them in OpenWrt 24.10's default busybox (package/utils/busybox
# Config-defaults.in: ash, awk, sed, grep, nc without -w, no timeout, no od), so a test
# run with PATH=DIR fails if the plugin needs anything a stock router lacks.
LUCI_APPLETS="sh ash awk sed grep cat head tr wc mktemp rm touch sleep kill printf nc"
luci_busybox_bin() {
  local dir=$1 a
  mkdir -p "$dir"
  for a in $LUCI_APPLETS; do ln -sf "$(command -v busybox)" "$dir/$a"; done
}

# luci_free_port: a free TCP port on 127.0.0.1.
luci_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# luci_start_daemon BINARY DIR HOST PORT [extra serve options...]: `smsgw serve --device sim`
# on HOST:PORT (HOST 127.0.0.1 or ::1) with its spool and token file in DIR; writes
# DIR/daemon.pid and waits until the port accepts connections.
luci_start_daemon() {
  local bin=$1 dir=$2 host=$3 port=$4 listen _
  shift 4
  listen="$host:$port"
  case "$host" in *:*) listen="[$host]:$port" ;; esac
  "$bin" serve --device sim --listen "$listen" --spool "$dir/spool" \
    --token-file "$dir/token" "$@" >>"$dir/daemon.log" 2>&1 &
  echo $! >"$dir/daemon.pid"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && [ -s "$dir/token" ]; then return 0; fi
    sleep 0.1
  done
  echo "smsgw did not start on $listen: $(cat "$dir/daemon.log")" >&2
  return 1
}

luci_stop_daemon() { # DIR
  local pid
  pid="$(cat "$1/daemon.pid" 2>/dev/null)" || return 0
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# luci_config FILE PORT DIR: a UCI file for the plugin: the package's default config with
# the test's listen address, token file, spool and device.
luci_config() {
  local file=$1 port=$2 dir=$3 root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
  sed -e "s|^\toption listen .*|\toption listen '127.0.0.1:$port'|" \
    -e "s|^\toption spool .*|\toption spool '$dir/spool'|" \
    -e "s|^\toption device .*|\toption device 'sim'|" \
    -e "/^\toption token '/d" \
    -e "s|^\toption token_file .*|\toption token ''\n\toption token_file '$dir/token'|" \
    "$root/openwrt-package/smsgw/files/smsgw.config" >"$file"
}
