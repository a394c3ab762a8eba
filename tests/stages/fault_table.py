"""Fault self-test: every fault of targets/faults/catalogue.ini, switched on
in its reference target, must be caught (FAIL, CRASH, TIMEOUT or DEADLOCK)
by at least one of the cases the catalogue names for it. A fault whose
catalogue entry says `grade = SHOULD` breaks a rule the rst only
recommends: its cases are SHOULD and catch it as NON-STRICT.

Prints a fault x verdict table and the stage line run-tests.sh reads.
"""
import configparser
import glob
import json
import os
import subprocess
import sys
import tempfile

CAUGHT = {"FAIL", "CRASH", "TIMEOUT", "DEADLOCK"}
TARGET_OF_ROLE = {"frontend": "ref-frontend", "backend": "ref-backend"}


def run_fault(name, role, cases):
    """Runs the fault's cases; returns {case id: verdict}."""
    with tempfile.TemporaryDirectory(prefix="vhu-fault-") as out:
        cmd = ["./vhucheck", "run", "--target", TARGET_OF_ROLE[role],
               "--fault", name, "-j", "2", "--out", out]
        for case in cases:
            cmd += ["--cases", case]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=300)
        if proc.returncode not in (0, 1):
            print(f"  {name}: vhucheck exited {proc.returncode}: "
                  f"{proc.stdout.strip().splitlines()[-1:]}")
            return {}
        verdicts = {}
        for path in glob.glob(f"{out}/**/results.json", recursive=True):
            with open(path, encoding="utf-8") as f:
                for case in json.load(f)["cases"]:
                    verdicts[case["id"]] = case["verdict"]
        return verdicts


def main():
    cat = configparser.ConfigParser(interpolation=None)
    cat.read("targets/faults/catalogue.ini")
    passed = failed = 0
    width = max(len(s) for s in cat.sections())
    print(f"  {'fault':<{width}}  caught  verdicts of the named cases")
    for name in cat.sections():
        sec = cat[name]
        cases = sec["cases"].split()
        verdicts = run_fault(name, sec["role"], cases)
        wanted = CAUGHT | ({"NON-STRICT"} if sec.get("grade") == "SHOULD" else set())
        caught = [c for c in cases if verdicts.get(c) in wanted]
        shown = ", ".join(f"{c}={verdicts.get(c, 'NOT RUN')}" for c in cases)
        print(f"  {name:<{width}}  {'yes' if caught else 'NO ':<6}  {shown}")
        if caught:
            passed += 1
        else:
            failed += 1
    print(f"stage: {passed} passed, {failed} failed, 0 skipped")


if __name__ == "__main__":
    os.environ.setdefault("VHUCHECK_BUILD_DIR", os.path.abspath("build"))
    sys.exit(main())
