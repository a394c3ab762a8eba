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

# vhu_build DIR [meson options...]: configures once, then builds.
vhu_build() {
	dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || {
			cat "$dir.setup.log" >&2; return 1; }
		rm -f "$dir.setup.log"
	fi
	ninja -C "$dir" >"$dir.ninja.log" 2>&1 || { cat "$dir.ninja.log" >&2; return 1; }
	rm -f "$dir.ninja.log"
}
