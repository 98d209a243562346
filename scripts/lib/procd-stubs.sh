# shellcheck disable=SC3043  # busybox ash has local
# shellcheck shell=ash
# Stand-ins for OpenWrt's /lib/functions.sh (config_*) and /lib/functions/procd.sh (procd_*)
# used to source openwrt-package/smsgw/files/smsgw.init off the router. UCI data is given as
# shell variables the way functions.sh keeps it: CONFIG_<section>_<option> for options,
# CONFIG_<section>_<option>_ITEM<n> and CONFIG_<section>_<option>_LENGTH for lists.
# Every procd call is appended to $PROCD_LOG, one line per call and one [word] per argument,
# so a test sees exactly which words the daemon would get.

config_load() { echo "config_load $1" >>"$PROCD_LOG"; }
config_foreach() { # <callback> <type>: the test config has one section, 'main'
	"$1" main
}
config_get() { # <var> <section> <option> [default]
	eval "$1=\"\${CONFIG_${2}_${3}:-\${4:-}}\""
}
config_set() { # <section> <option> <value>
	eval "CONFIG_${1}_${2}=\"\$3\""
}
config_get_bool() { # <var> <section> <option> [default]
	local _b
	config_get _b "$2" "$3" "${4:-0}"
	case "$_b" in
		1|on|true|yes|enabled) _b=1 ;;
		0|off|false|no|disabled) _b=0 ;;
		*) _b="${4:-0}" ;;
	esac
	eval "$1=\$_b"
}
config_list_foreach() { # <section> <option> <callback> [args...]
	local _sec="$1" _opt="$2" _cb="$3" _len _i=1 _val
	shift 3
	eval "_len=\"\${CONFIG_${_sec}_${_opt}_LENGTH:-0}\""
	while [ "$_i" -le "$_len" ]; do
		eval "_val=\"\${CONFIG_${_sec}_${_opt}_ITEM${_i}}\""
		"$_cb" "$_val" "$@"
		_i=$((_i + 1))
	done
}
procd_log() {
	local _line="$1"
	shift
	for _w in "$@"; do _line="$_line [$_w]"; done
	echo "$_line" >>"$PROCD_LOG"
}
procd_open_instance() { procd_log open_instance "$@"; }
procd_close_instance() { procd_log close_instance "$@"; }
procd_set_param() { procd_log set_param "$@"; }
procd_append_param() { procd_log append_param "$@"; }
procd_add_reload_trigger() { procd_log reload_trigger "$@"; }
uci() { procd_log uci "$@"; }
logger() { procd_log logger "$@"; }
