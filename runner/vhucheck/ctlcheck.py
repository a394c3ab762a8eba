"""vhucheck targets --check PROFILE: the target's control channel exercised
before any case runs (docs/control.md, "Checking a target"). The harness
does the work (vhucheck-harness --check-control); this resolves the
profile as `run` does and prints the harness's lines."""

import os
import signal
import subprocess
import sys

from vhucheck import execute, paths, profile as P, run as runcmd
from vhucheck.errors import ConfigError, HarnessError

# Every wait of the harness has its own deadline (about 30 s in all at
# worst); this only catches a harness that hangs itself.
HARNESS_LIMIT_S = 120


def _profile(spec, command):
    # run.py owns the exec-* handling (--command, {control} in it).
    prof = runcmd.check_exec_command([P.resolve(spec)], command)[0]
    where = paths.relpath(prof.path)
    if prof.command:
        P.check_program(prof, paths.build_dir())
    if not prof.command:
        raise ConfigError(f"{where}: connects to a running target ({prof.connect}): "
                          "no control channel to check")
    if "{control}" not in prof.command:
        hint = (" (pass a --command that takes {control})"
                if runcmd.EXEC_VAR in (P.load(prof.path).command or "") else "")
        raise ConfigError(f"{where}: the profile has no {{control}} in its command: "
                          f"the target has no control channel to check{hint}")
    return prof


def harness_argv(prof, harness, build):
    """The harness command line that checks prof's target."""
    plan = execute.Plan(profile=prof, cases=[], catalogue=[], expect=None,
                        harness=harness, build=build, version="",
                        shmem_bit=P.effective_shmem_bit(prof),
                        multiplier=prof.timeout_multiplier, jobs=1,
                        per_case_bit=P.per_case_bit(prof))
    argv = [harness, "--check-control", "--target-role", prof.role,
            *execute.target_argv(plan), "--shmem-bit", str(plan.shmem_bit),
            "--timeout-multiplier", f"{plan.multiplier:g}"]
    return argv, execute.harness_env(plan)


def _run(argv, env, limit):
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise HarnessError(f"the harness did not end within {limit:g} s "
                           "(killed)") from None
    except KeyboardInterrupt:
        os.killpg(p.pid, signal.SIGTERM)
        p.communicate()
        raise
    return p.returncode, out, err


def check(spec, command=None):
    """Exit status: 0 every item fine, 1 not, 2 configuration, 3 harness."""
    prof = _profile(spec, command)
    harness = paths.harness()
    execute.check_harness(harness)
    argv, env = harness_argv(prof, harness, paths.build_dir())
    print(f"{prof.name}: the control channel of a {prof.role} target "
          f"(harness as {prof.harness_role})")
    rc, out, err = _run(argv, env, HARNESS_LIMIT_S * prof.timeout_multiplier)
    sys.stdout.write(out)
    last = err.strip().splitlines()[-1] if err.strip() else ""
    if rc in (0, 1):
        sys.stderr.write(err)
        return rc
    if rc == 2:
        raise ConfigError(last.removeprefix("vhucheck-harness: ") or
                          "the harness refused the check")
    if rc == 130:
        return 130
    why = f"killed by signal {-rc}" if rc < 0 else f"exited {rc}"
    raise HarnessError(f"the harness {why}: {last or '(no message)'}")
