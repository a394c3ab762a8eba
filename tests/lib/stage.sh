# Sourced by the stage scripts in tests/stages/ (it lives here, not
# there, so run-tests.sh does not take it for a stage). Needs $top.

# stage_build_or_skip NAME BUILD EXE...: brings BUILD up to date
# (configuring it first when it is new); when one of the EXE paths under
# it is not executable, says so, prints the stage line of one skip and
# exits 0, since a stage without its programs has nothing to test.
stage_build_or_skip() {
	_sb_name=$1 _sb_build=$2
	shift 2
	if [ ! -f "$_sb_build/build.ninja" ]; then
		command -v vhu_build >/dev/null 2>&1 || . "$top/runner/bootstrap.sh"
		vhu_build "$_sb_build" >/dev/null 2>&1
	fi
	ninja -C "$_sb_build" >/dev/null 2>&1
	_sb_missing=no _sb_names=
	for _sb_exe in "$@"; do
		[ -x "$_sb_build/$_sb_exe" ] || _sb_missing=yes
		_sb_names="${_sb_names:+$_sb_names or }${_sb_exe##*/}"
	done
	if [ $_sb_missing = yes ]; then
		echo "$_sb_name: $_sb_build has no $_sb_names; skipped"
		echo "stage: 0 passed, 0 failed, 1 skipped"
		exit 0
	fi
}
