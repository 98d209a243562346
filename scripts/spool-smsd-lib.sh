# shellcheck shell=bash
# Shared helpers for the spool's smstools3 compatibility test and benchmark (sourced, not run).
# Needs: W (work dir), ROOT (repo root). Starts processes in the background and records their pids
# in PIDS; spool_cleanup kills exactly those.

PIDS=()

spool_cleanup() {
  local p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 50 ms.
wait_until() {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "timed out after ${limit}s waiting for: $what" >&2
      return 1
    fi
    sleep 0.05
  done
}

count_files() { find "$1" -maxdepth 1 -type f ! -name '.*' ! -name '*.LOCK' | wc -l; }
has_files() { [ "$(count_files "$1")" -ge "$2" ]; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_pty_modem DIR: pty AT modem linked at DIR/modem, PDUs logged to DIR/cmgs.log.
start_pty_modem() {
  local d=$1
  : >"$d/cmgs.log"
  "$ROOT/scripts/spool-pty-modem" "$d/modem" "$d/cmgs.log" >"$d/pty.out" 2>&1 &
  PIDS+=($!)
  wait_until 10 "pty modem" test -L "$d/modem"
}

# start_smsd DIR DELAYTIME: real smsd (Debian smstools) on DIR/{outgoing,...} and DIR/modem.
start_smsd() {
  local d=$1 delay=$2
  mkdir -p "$d"/{outgoing,checked,failed,sent,incoming}
  cat >"$d/smsd.conf" <<EOF
devices = GSM1
outgoing = $d/outgoing
checked = $d/checked
failed = $d/failed
sent = $d/sent
incoming = $d/incoming
logfile = $d/smsd.log
loglevel = 7
infofile = $d/smsd.working
pidfile = $d/smsd.pid
delaytime = $delay

[GSM1]
device = $d/modem
incoming = no
pin = ignore
EOF
  smsd -t -c "$d/smsd.conf" >"$d/smsd.out" 2>&1 &
  PIDS+=($!)
  wait_until 20 "smsd to initialise the modem" grep -qs "Selecting PDU mode\|Modem is registered" "$d/smsd.log"
}

# start_gateway SPOOL PORT DEVICE [ENV...]: smsgw serve (DEVICE: sim or a tty path); stderr in
# SPOOL.log; its pid in GW_PID.
start_gateway() {
  local spool=$1 port=$2 device=$3; shift 3
  env "$@" "$SMSGW" serve --device "$device" --no-auth --listen "127.0.0.1:$port" \
    --spool "$spool" 2>"$spool.log" &
  GW_PID=$!
  PIDS+=("$GW_PID")
  wait_until 20 "smsgw to listen on $port" port_open "$port"
}

# decode_pdus: prints "NUMBER<TAB>TEXT" for every hex PDU on stdin lines (python-gammu decoder).
decode_pdus() {
  /usr/bin/python3 -c '
import sys, gammu, re
for line in sys.stdin:
    m = re.search(r"\b([0-9A-Fa-f]{20,})\b", line)
    if not m:
        continue
    d = gammu.DecodePDU(bytes.fromhex(m.group(1)), SMSC=True)
    print("%s\t%s" % (d["Number"], d["Text"]))
'
}
