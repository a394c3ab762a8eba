"""Turns a run's results.json files into the stage line of run-tests.sh.

A case counts as passed when its verdict passes the gate, skipped when
UNSUPPORTED, failed otherwise; a runner exit code other than 0 or 1 is
one more failure (the run itself broke).
"""
import glob
import json
import sys


def main(out_dir, rc):
    passed = failed = skipped = 0
    files = glob.glob(f"{out_dir}/**/results.json", recursive=True)
    for path in files:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        for case in doc["cases"]:
            if case["verdict"] == "UNSUPPORTED":
                skipped += 1
            elif case.get("gate") in ("ok", "expected"):
                passed += 1
            else:
                failed += 1
                print(f"  {doc['target']['name'] if isinstance(doc['target'], dict) else doc['target']}: "
                      f"{case['id']}: {case['verdict']}: {case.get('observed', '')[:200]}")
    if not files or int(rc) not in (0, 1):
        print(f"  the run exited {rc} with {len(files)} results.json")
        failed += 1
    print(f"stage: {passed} passed, {failed} failed, {skipped} skipped")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
