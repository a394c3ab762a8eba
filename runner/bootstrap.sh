#!/bin/sh
# Shared set-up for ./vhucheck and ./run-tests.sh: Debian packages, then
# the meson build in build/. Sourced, not executed.

VHU_PKGS_BUILD="meson ninja-build pkg-config gcc clang check python3"
VHU_PKGS_EXTRA="afl++ libclang-rt-dev"

# Maps a package to a command or file proving it is installed.
vhu_pkg_present() {
	case "$1" in
	meson) command -v meson >/dev/null 2>&1 ;;
	ninja-build) command -v ninja >/dev/null 2>&1 ;;
	pkg-config) command -v pkg-config >/dev/null 2>&1 ;;
	gcc) command -v gcc >/dev/null 2>&1 ;;
	clang) command -v clang >/dev/null 2>&1 ;;
	python3) command -v python3 >/dev/null 2>&1 ;;
	check) pkg-config --exists check 2>/dev/null ;;
	afl++) command -v afl-clang-fast >/dev/null 2>&1 ;;
	libclang-rt-dev) ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ;;
	chromium) command -v chromium >/dev/null 2>&1 ;;
	*) dpkg -s "$1" >/dev/null 2>&1 ;;
	esac
}

# vhu_ensure_pkgs PKG...: installs what is missing when root, else names it.
# Returns non-zero when something is still missing.
vhu_ensure_pkgs() {
	missing=""
	for p in "$@"; do
		vhu_pkg_present "$p" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "vhucheck: installing Debian packages:$missing" >&2
		export DEBIAN_FRONTEND=noninteractive
		if ! apt-get install -y --no-install-recommends $missing >/dev/null 2>&1; then
			apt-get update >/dev/null 2>&1
			apt-get install -y --no-install-recommends $missing >/dev/null 2>&1
		fi
		still=""
		for p in $missing; do
			vhu_pkg_present "$p" || still="$still $p"
		done
		missing=$still
	fi
	[ -z "$missing" ] && return 0
	echo "vhucheck: missing Debian packages:$missing (run: sudo apt-get install$missing)" >&2
	return 1
}

# vhu_build DIR [meson options...]: configures once, then builds. When
# there is something to build it says so on stderr: on a terminal one line
# rewritten with ninja's [done/total] as the steps end, elsewhere a line
# before and one after. Compiler output only when the build fails.
vhu_build() {
	dir=$1; shift
	first=""
	if [ ! -f "$dir/build.ninja" ]; then
		first=yes
		echo "vhucheck: configuring $dir (meson setup; first use)" >&2
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || {
			cat "$dir.setup.log" >&2; return 1; }
		rm -f "$dir.setup.log"
	fi
	steps=$(ninja -C "$dir" -n 2>/dev/null | grep -c '^\[')
	if [ "${steps:-0}" -eq 0 ]; then
		ninja -C "$dir" >"$dir.ninja.log" 2>&1 || { cat "$dir.ninja.log" >&2; return 1; }
		rm -f "$dir.ninja.log"
		return 0
	fi
	t0=$(date +%s)
	what="building $dir: $steps steps${first:+ (the first build takes about half a minute)}"
	if [ -t 2 ]; then
		printf 'vhucheck: %s' "$what" >&2
	else
		echo "vhucheck: $what" >&2
	fi
	# A pipeline in the foreground, so that ^C reaches ninja; its status
	# comes back through a file.
	rcfile=$(mktemp) || return 1
	{ ninja -C "$dir" 2>&1; echo $? >"$rcfile"; } | tee "$dir.ninja.log" |
		while IFS= read -r line; do
			case $line in
			\[*/*\]*) [ -t 2 ] && printf '\r\033[Kvhucheck: building %s %s %ss' "$dir" \
				"${line%%]*}]" "$(($(date +%s) - t0))" >&2 ;;
			esac
		done
	rc=$(cat "$rcfile" 2>/dev/null)
	rm -f "$rcfile"
	[ -t 2 ] && printf '\r\033[K' >&2
	if [ "${rc:-1}" != 0 ]; then
		cat "$dir.ninja.log" >&2
		return 1
	fi
	rm -f "$dir.ninja.log"
	echo "vhucheck: built $dir in $(($(date +%s) - t0)) s" >&2
}
