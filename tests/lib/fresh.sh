# Sourced by run-tests.sh and tests/lib/sanitizers.sh (it lives here, not
# in tests/stages, so it is no stage).

# _ft_listed FILE: whether the meson test named after FILE (test_NAME.c,
# NN-name.sh) is in $_ft_list.
_ft_listed() {
	_ft_name=$(basename "$1"); _ft_name=${_ft_name%.sh}
	_ft_name=${_ft_name%.c}; _ft_name=${_ft_name#test_}
	case "$_ft_list" in
	*"/ $_ft_name
"*|*"/ $_ft_name") return 0 ;;
	esac
	return 1
}

# vhu_fresh_tests BUILD [stages]: meson finds the unit test files (and,
# in a plain build, the stages) when it configures BUILD, so one added
# since is no meson test yet: then BUILD is configured again and built.
# Needs $top.
vhu_fresh_tests() {
	_ft_list=$(meson test -C "$1" --no-rebuild --list 2>/dev/null)
	_ft_new=no
	for _ft_f in "$top"/tests/test_*.c; do
		_ft_listed "$_ft_f" || _ft_new=yes
	done
	if [ "${2:-}" = stages ]; then
		for _ft_f in "$top"/tests/stages/*.sh; do
			_ft_listed "$_ft_f" || _ft_new=yes
		done
	fi
	[ $_ft_new = yes ] || return 0
	meson setup --reconfigure "$1" >/dev/null 2>&1 && ninja -C "$1" >/dev/null 2>&1
}
