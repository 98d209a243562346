#!/bin/sh
# smsgw hook: forwards each received SMS to a Telegram chat over HTTPS with OpenWrt's
# uclient-fetch. Install as /etc/smsgw/hook (chmod 755), set `option hook '/etc/smsgw/hook'`.
# Called as: hook SENT|FAILED|RECEIVED|REPORT FILE
BOT_TOKEN="123456:replace-with-your-bot-token"
CHAT_ID="123456789"

[ "$1" = "RECEIVED" ] || exit 0
file=$2
from=$(sed -n '/^$/q;s/^From: //p' "$file" | sed 's/[\\"]/\\&/g')
# The text after the first blank line as a JSON string: \ and " escaped, tabs as \t, newlines
# as \n (sed for the escapes, awk to join the lines).
tab=$(printf '\t')
text=$(sed '1,/^$/d' "$file" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e "s/$tab/\\\\t/g" -e 's/\r$//' |
  awk '{ out = out (NR > 1 ? "\\n" : "") $0 } END { printf "%s", out }')
body="{\"chat_id\":\"$CHAT_ID\",\"text\":\"SMS from $from:\\n$text\"}"
tmp=$(mktemp) || exit 1
printf '%s' "$body" >"$tmp"
uclient-fetch -q -O /dev/null --header='Content-Type: application/json' \
  --post-file="$tmp" "https://api.telegram.org/bot$BOT_TOKEN/sendMessage"
status=$?
rm -f "$tmp"
exit $status
