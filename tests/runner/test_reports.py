"""The report writers, fed synthetic result documents (report rendering
from result data is a legitimate input): results.json schema, JUnit
structure, TAP plan, summary.md, self-contained HTML, the matrix, atomic
writes, the exit status, `report` re-rendering and `compare`."""

import copy
import html.parser
import json
import os
import re
import tempfile
import unittest
import xml.etree.ElementTree as ET

import helpers  # noqa: F401  (sys.path)
import html_check
import synth
from helpers import run_cli, write

from vhucheck import results, verdicts as V
from vhucheck.errors import ConfigError
from vhucheck.render import atomic, write_matrix, write_target
from vhucheck.resultfile import load_dir

CASE_KEYS = {"id", "title", "area", "role", "level", "level_reason", "rule", "requires", "file",
             "verdict", "reason", "duration_ms", "expected", "observed", "failures", "findings",
             "failures_dropped", "findings_dropped",
             "trace", "script", "target", "stderr_tail", "crash", "expectation", "gate", "reported_by"}
DOC_KEYS = {"schema", "tool", "version", "target", "settings", "started", "finished",
            "duration_ms", "interrupted", "signal", "summary", "faults", "harness", "not_run",
            "signatures", "cases"}
VOID = {"meta", "input", "br", "hr", "img", "link", "col", "wbr"}


class TagBalance(html.parser.HTMLParser):
    """Fails on mismatched non-void tags; collects external references."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.external, self.ids = [], [], [], []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("src", "href", "action", "data") and v and \
                    re.match(r"^(https?:|//|ftp:)", v.strip(), re.I):
                self.external.append((tag, k, v))
            if k == "id":
                self.ids.append(v)
        if tag in ("link", "iframe", "object", "embed"):
            self.external.append((tag, "", ""))
        if tag == "script" and any(k == "src" for k, _ in attrs):
            self.external.append((tag, "src", ""))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vhucheck-report-")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def doc(self, sub="a", **kw):
        base = os.path.join(self.dir, sub)
        os.makedirs(base, exist_ok=True)
        return base, synth.document(base, **kw)


class TestResultsJson(Base):
    def test_schema(self):
        base, doc = self.doc()
        write_target(base, doc)
        with open(os.path.join(base, "results.json")) as f:
            got = json.load(f)
        self.assertEqual(set(got), DOC_KEYS)
        self.assertEqual(got["schema"], 2)
        self.assertEqual(got["tool"], "vhucheck")
        s = got["summary"]
        self.assertEqual(sum(s["verdicts"].values()), s["total"])
        self.assertEqual(s["passed"] + s["failed"] + s["skipped"] + s["errors"], s["total"])
        self.assertEqual(set(s["verdicts"]), V.ALL)
        for c in got["cases"]:
            self.assertEqual(set(c), CASE_KEYS, c["id"])
            self.assertIn(c["verdict"], V.ALL)
            self.assertFalse(os.path.isabs(c["trace"]["path"]), c["trace"]["path"])
            self.assertIn("SHMEM_MAP", c["trace"]["text"])
            self.assertIn("refusing MAP", c["stderr_tail"])
            self.assertTrue(os.path.isfile(os.path.join(base, c["trace"]["path"])))
        # the reader accepts what the writer wrote
        self.assertEqual(load_dir(base)[0][1]["summary"], got["summary"])

    def test_schema_1_is_read_with_the_targets_role(self):
        """Schema 1 gave a case the harness's side as its role; read back,
        the case says the target's role, as schema 2 writes it."""
        base, doc = self.doc()
        write_target(base, doc)
        path = os.path.join(base, "results.json")
        with open(path) as f:
            old = json.load(f)
        self.assertEqual({c["role"] for c in old["cases"]}, {"frontend"})
        old["schema"] = 1
        for c in old["cases"]:
            c["role"] = "backend"       # the harness's side, as schema 1 wrote it
        with open(path, "w") as f:
            json.dump(old, f)
        got = load_dir(base)[0][1]
        self.assertEqual(got["schema"], 2)
        self.assertEqual({c["role"] for c in got["cases"]}, {got["target"]["role"]})
        old["schema"] = 3
        with open(path, "w") as f:
            json.dump(old, f)
        with self.assertRaisesRegex(ConfigError, "results schema 3, this vhucheck reads 1 and 2"):
            load_dir(base)

    def test_unknown_verdict_becomes_error(self):
        case = synth.cases()[0]
        rec = results.case_record(case, {"id": case.id, "verdict": "MAYBE"}, self.dir, None)
        self.assertEqual(rec["verdict"], V.ERROR)
        self.assertIn("unknown verdict 'MAYBE'", rec["reason"])

    def test_trace_is_capped(self):
        path = os.path.join(self.dir, "big.trace")
        with open(path, "w") as f:
            f.write("x" * (results.TRACE_INLINE_MAX + 10))
        t = results.read_trace(path, self.dir)
        self.assertTrue(t["truncated"])
        self.assertEqual(len(t["text"]), results.TRACE_INLINE_MAX)
        self.assertEqual(t["path"], "big.trace")

    def test_no_temp_files_left(self):
        base, doc = self.doc()
        write_target(base, doc)
        write_target(base, doc)
        self.assertEqual([n for n in os.listdir(base) if n.endswith(".tmp")], [])
        self.assertEqual(sorted(n for n in os.listdir(base) if os.path.isfile(os.path.join(base, n))),
                         ["index.html", "junit.xml", "results.json", "results.tap", "summary.md"])

    def test_atomic_write_replaces_and_cleans_up(self):
        path = os.path.join(self.dir, "f.txt")
        atomic.write_text(path, "one")
        ino = os.stat(path).st_ino
        atomic.write_text(path, "two")
        with open(path) as f:
            self.assertEqual(f.read(), "two")
        self.assertNotEqual(os.stat(path).st_ino, ino)   # renamed over, not rewritten
        with self.assertRaises(TypeError):
            atomic.write_bytes(path, object())
        with open(path) as f:
            self.assertEqual(f.read(), "two")
        self.assertEqual([n for n in os.listdir(self.dir) if n.endswith(".tmp")], [])


class TestExitCodes(Base):
    def code(self, verdicts, expect=None, strict=False, interrupted=False):
        cases = synth.fake_cases(len(verdicts))
        _, doc = self.doc(str(len(os.listdir(self.dir))), verdicts=verdicts, case_list=cases,
                          expect_text=expect, strict=strict, interrupted=interrupted)
        return doc["summary"]["exit_code"]

    def test_exit_codes(self):
        self.assertEqual(self.code([V.PASS, V.INFO, V.UNSUPPORTED, V.NON_STRICT]), 0)
        for bad in (V.FAIL, V.CRASH, V.TIMEOUT, V.DEADLOCK):
            self.assertEqual(self.code([V.PASS, bad]), 1, bad)
        self.assertEqual(self.code([V.FAIL, V.ERROR]), 3)
        known = '[ref-frontend]\nsynthetic_case_1 = { verdict = "FAIL", reason = "known" }\n'
        self.assertEqual(self.code([V.PASS, V.FAIL], known), 0)
        self.assertEqual(self.code([V.PASS, V.CRASH], known), 1)       # a different failure
        self.assertEqual(self.code([V.PASS, V.PASS], known), 0)        # unexpected pass
        self.assertEqual(self.code([V.PASS, V.PASS], known, strict=True), 1)
        err = '[ref-frontend]\nsynthetic_case_1 = { verdict = "ERROR", reason = "known" }\n'
        self.assertEqual(self.code([V.PASS, V.ERROR], err), 0)
        self.assertEqual(self.code([V.PASS, V.PASS, V.PASS, V.PASS], interrupted=True), 130)

    def test_one_line(self):
        _, doc = self.doc(verdicts=[V.PASS, V.NON_STRICT, V.FAIL, V.UNSUPPORTED],
                          case_list=synth.fake_cases(4))
        self.assertRegex(results.one_line(doc),
                         r"^ref-frontend: 2 passed \(1 non-strict\), 1 failed, 1 skipped in 3\.2s$")


class TestJUnit(Base):
    def parse(self, path):
        root = ET.parse(path).getroot()
        self.assertEqual(root.tag, "testsuites")
        return root

    def test_structure(self):
        known = '[ref-frontend]\n"framing_*" = { verdict = ["FAIL", "CRASH"], reason = "known gap" }\n'
        base, doc = self.doc(expect_text=known)
        write_target(base, doc)
        root = self.parse(os.path.join(base, "junit.xml"))
        suites = root.findall("testsuite")
        self.assertEqual(sorted(s.get("name") for s in suites),
                         sorted({"ref-frontend." + c["area"] for c in doc["cases"]}))
        total = fails = skips = 0
        by_id = {c["id"]: c for c in doc["cases"]}
        for s in suites:
            cases = s.findall("testcase")
            self.assertEqual(int(s.get("tests")), len(cases))
            self.assertEqual(int(s.get("failures")), len(s.findall("testcase/failure")))
            self.assertEqual(int(s.get("skipped")), len(s.findall("testcase/skipped")))
            self.assertEqual(s.get("errors"), "0")
            float(s.get("time"))
            for tc in cases:
                c = by_id[tc.get("name")]
                self.assertEqual(tc.get("classname"), s.get("name"))
                float(tc.get("time"))
                failure, skipped = tc.find("failure"), tc.find("skipped")
                if c["gate"] == "expected" and not V.is_passing(c["verdict"]):
                    self.assertIsNotNone(skipped)
                    self.assertIn("known gap", skipped.get("message"))
                elif c["verdict"] in V.FAILING:
                    self.assertIsNotNone(failure, c["id"])
                    self.assertEqual(failure.get("type"), c["verdict"])
                    self.assertTrue(failure.get("message").startswith(c["verdict"]))
                elif c["verdict"] == V.UNSUPPORTED:
                    self.assertIsNotNone(skipped)
                else:
                    self.assertIsNone(failure)
                    self.assertIsNone(skipped)
                self.assertIn("wire trace", tc.find("system-out").text)
                self.assertIn("SHMEM_MAP", tc.find("system-out").text)
            total += len(cases)
            fails += int(s.get("failures"))
            skips += int(s.get("skipped"))
        self.assertEqual(int(root.get("tests")), total)
        self.assertEqual(int(root.get("failures")), fails)
        self.assertEqual(int(root.get("skipped")), skips)
        self.assertGreater(fails, 0)
        self.assertGreater(skips, 0)


class TestTap(Base):
    def test_plan_and_lines(self):
        known = '[ref-frontend]\n"framing_*" = { verdict = ["FAIL", "CRASH"], reason = "known" }\n'
        base, doc = self.doc(expect_text=known)
        write_target(base, doc)
        with open(os.path.join(base, "results.tap")) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "TAP version 13")
        self.assertEqual(lines[1], f"1..{len(doc['cases'])}")
        tests = [ln for ln in lines if re.match(r"^(not )?ok \d+ ", ln)]
        self.assertEqual(len(tests), len(doc["cases"]))
        self.assertEqual([int(re.search(r"ok (\d+)", t).group(1)) for t in tests],
                         list(range(1, len(tests) + 1)))
        bad = [c for c in doc["cases"] if not V.is_passing(c["verdict"])]
        self.assertEqual(sum(t.startswith("not ok") for t in tests), len(bad))
        self.assertEqual(sum("# SKIP" in t for t in tests), doc["summary"]["verdicts"]["UNSUPPORTED"])
        self.assertEqual(sum("# TODO" in t for t in tests), doc["summary"]["gate"]["expected"])
        self.assertEqual(lines.count("  ---"), lines.count("  ..."))
        self.assertEqual(lines.count("  ---"), len(bad))
        for ln in lines:
            if ln.startswith("  ") and ":" in ln and not ln.startswith("    "):
                key, _, value = ln.strip().partition(": ")
                if value:
                    json.loads(value)          # every YAML value is a JSON scalar

    def test_interrupted_bails_out(self):
        base, doc = self.doc(interrupted=True)
        write_target(base, doc)
        with open(os.path.join(base, "results.tap")) as f:
            text = f.read()
        self.assertIn(f"1..{len(doc['cases'])}\n", text)
        self.assertTrue(text.rstrip().splitlines()[-1].startswith("Bail out! interrupted"))


class TestHtml(Base):
    def check_page(self, path, ids=()):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        p = TagBalance()
        p.feed(text)
        p.close()
        self.assertEqual(p.errors, [])
        self.assertEqual(p.stack, [])
        self.assertEqual(p.external, [], "the page must not load anything")
        self.assertNotIn("<b>not bold</b>", text)       # data is escaped
        self.assertIn("Content-Security-Policy", text)
        for cid in ids:
            self.assertIn(cid, p.ids)
        return text

    def chromium(self, path):
        shot = os.path.join(self.dir, os.path.basename(path) + ".png")
        rc = html_check.check(path, shot)
        if rc == html_check.SKIP:
            self.skipTest("chromium is not installed")
        self.assertEqual(rc, 0)

    def test_index(self):
        base, doc = self.doc()
        write_target(base, doc)
        text = self.check_page(os.path.join(base, "index.html"), [c["id"] for c in doc["cases"]])
        self.assertEqual(text.count('<blockquote class="rule">'), len(doc["cases"]))
        for v in ("FAIL", "CRASH", "UNSUPPORTED"):
            self.assertIn(f'data-fv="{v}"', text)
        self.chromium(os.path.join(base, "index.html"))

    def test_html_check_catches_script_errors(self):
        path = write(self.dir, "broken.html",
                     "<!doctype html><html><body><script>nosuchfunction();"
                     "document.documentElement.setAttribute('data-ready','1');</script></body></html>")
        rc = html_check.check(path)
        if rc == html_check.SKIP:
            self.skipTest("chromium is not installed")
        self.assertEqual(rc, 1)

    def test_matrix(self):
        a, da = self.doc("ref-frontend")
        b, db = self.doc("other", name="other-fe")
        db = copy.deepcopy(db)
        write_target(a, da)
        write_target(b, db)
        write_matrix(self.dir, [da, db], ["ref-frontend", "other"], da["started"], "0.1.0")
        text = self.check_page(os.path.join(self.dir, "matrix.html"))
        self.assertIn("ref-frontend/index.html#", text)
        self.assertIn("other/index.html#", text)
        root = ET.parse(os.path.join(self.dir, "junit.xml")).getroot()
        self.assertTrue(all(s.get("name").startswith(("ref-frontend.", "other-fe."))
                            for s in root.findall("testsuite")))
        self.assertEqual(int(root.get("tests")), len(da["cases"]) + len(db["cases"]))
        self.assertEqual(len(load_dir(self.dir)), 2)
        self.chromium(os.path.join(self.dir, "matrix.html"))


class TestReportAndCompare(Base):
    def test_report_rerenders_and_rejudges(self):
        base, doc = self.doc()
        write_target(base, doc)
        os.unlink(os.path.join(base, "index.html"))
        rc, out, err = run_cli("report", base)
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.isfile(os.path.join(base, "index.html")))
        base_file = os.path.join(self.dir, "baseline.toml")
        rc, out, err = run_cli("report", base, "--baseline", base_file)
        self.assertEqual(rc, 0, err)
        rc, out, err = run_cli("report", base, "--expect", base_file)
        self.assertEqual(rc, 0, err + out)             # the baseline accepts the run as is
        with open(os.path.join(base, "results.json")) as f:
            self.assertEqual(json.load(f)["summary"]["gate"]["regressions"], [])
        rc, out, err = run_cli("report", base, "--expect", write(self.dir, "none.toml", ""))
        self.assertEqual(rc, 3, err + out)             # back to failures and errors

    def test_compare(self):
        cs = synth.fake_cases(5)
        old = synth.document(os.path.join(self.dir, "o"), verdicts=[V.PASS, V.FAIL, V.PASS, V.FAIL, V.PASS], case_list=cs)
        new = synth.document(os.path.join(self.dir, "n"), verdicts=[V.FAIL, V.PASS, V.PASS, V.CRASH, V.PASS], case_list=cs[:4])
        write_target(os.path.join(self.dir, "o"), old)
        write_target(os.path.join(self.dir, "n"), new)
        o, n = os.path.join(self.dir, "o", "results.json"), os.path.join(self.dir, "n")
        rc, out, err = run_cli("compare", o, n)
        self.assertEqual(rc, 1, err)
        self.assertRegex(out, r"regressions \(1\):\n  ref-frontend\s+synthetic_case_0\s+PASS -> FAIL")
        self.assertRegex(out, r"fixes \(1\):\n  ref-frontend\s+synthetic_case_1\s+FAIL -> PASS")
        self.assertRegex(out, r"changed \(1\):\n  ref-frontend\s+synthetic_case_3\s+FAIL -> CRASH")
        self.assertRegex(out, r"removed \(1\):\n  ref-frontend\s+synthetic_case_4")
        rc, out, err = run_cli("compare", n, o, "--format", "json")
        self.assertEqual(rc, 1, err)                   # going back undoes the fix
        got = json.loads(out)
        self.assertEqual([r["id"] for r in got["fixes"]], ["synthetic_case_0"])
        self.assertEqual([r["id"] for r in got["regressions"]], ["synthetic_case_1"])
        self.assertEqual([r["id"] for r in got["new"]], ["synthetic_case_4"])
        rc, out, err = run_cli("compare", o, n, "--format", "markdown")
        self.assertIn("### Regressions", out)

    def test_compare_pair(self):
        """--pair A=B lines up target A of OLD with target B of NEW; without
        it the two are unrelated (every case removed and new)."""
        cs = synth.fake_cases(3)
        for sub, name, vs in (("o", "qemu-shmem", [V.PASS, V.FAIL, V.PASS]),
                              ("n", "qemu-shmem-unmapped", [V.FAIL, V.PASS, V.PASS])):
            write_target(os.path.join(self.dir, sub),
                         synth.document(os.path.join(self.dir, sub), name=name,
                                        verdicts=vs, case_list=cs))
        o, n = os.path.join(self.dir, "o"), os.path.join(self.dir, "n")
        rc, out, err = run_cli("compare", o, n, "--format", "json")
        self.assertEqual(rc, 0, err)
        got = json.loads(out)
        self.assertEqual((len(got["removed"]), len(got["new"]), got["regressions"]), (3, 3, []))
        rc, out, err = run_cli("compare", o, n, "--pair", "qemu-shmem=qemu-shmem-unmapped",
                               "--format", "json")
        self.assertEqual(rc, 1, err)
        got = json.loads(out)
        self.assertEqual([(r["target"], r["id"]) for r in got["regressions"]],
                         [("qemu-shmem=qemu-shmem-unmapped", "synthetic_case_0")])
        self.assertEqual([r["id"] for r in got["fixes"]], ["synthetic_case_1"])
        self.assertEqual((got["removed"], got["new"]), ([], []))
        rc, out, err = run_cli("compare", o, n, "--pair=qemu-shmem = qemu-shmem-unmapped")
        self.assertEqual(rc, 1, err)          # spaces around the names are allowed
        self.assertRegex(out, r"regressions \(1\):\n  qemu-shmem=qemu-shmem-unmapped")

    def test_compare_pair_errors(self):
        """A bad --pair is one line and exit 2, before anything is printed."""
        write_target(os.path.join(self.dir, "o"),
                     synth.document(os.path.join(self.dir, "o"), case_list=synth.fake_cases(2)))
        o = os.path.join(self.dir, "o")
        for pair, msg in (("ref-frontend", "expected OLD_TARGET=NEW_TARGET"),
                          ("=x", "expected OLD_TARGET=NEW_TARGET"),
                          ("a=b=c", "expected OLD_TARGET=NEW_TARGET"),
                          ("nosuch=ref-frontend", "no target 'nosuch' in OLD (its targets: "
                                                  "ref-frontend)"),
                          ("ref-frontend=nosuch", "no target 'nosuch' in NEW")):
            with self.subTest(pair=pair):
                rc, out, err = run_cli("compare", o, o, "--pair", pair)
                self.assertEqual((rc, out), (2, ""), err)
                self.assertIn(msg, err)
                self.assertEqual(len(err.strip().splitlines()), 1, err)
        rc, out, err = run_cli("compare", o, o, "--pair", "ref-frontend=ref-frontend",
                               "--pair", "ref-frontend=x")
        self.assertEqual(rc, 2)
        self.assertIn("ref-frontend is already paired", err)


def _mutate(doc, path, value):
    """Set doc[path...] = value (value None with a str key: delete it)."""
    obj = doc
    for k in path[:-1]:
        obj = obj[k]
    if value is _DELETE:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value


_DELETE = object()

# (label, where in the document, new value, fragment of the one-line message)
MALFORMED = [
    ("cases not an array", ("cases",), 5, "'cases' must be an array"),
    ("target a string", ("target",), "t", "'target' must be an object"),
    ("target without name", ("target", "name"), _DELETE, "target: lacks 'name'"),
    ("summary empty", ("summary",), {}, "summary: lacks 'total'"),
    ("gate not an object", ("summary", "gate"), [], "'gate' must be an object"),
    ("settings a list", ("settings",), [], "'settings' must be an object"),
    ("id an integer", ("cases", 0, "id"), 5, "cases[0] 'id' must be a string"),
    ("verdict a list", ("cases", 0, "verdict"), ["PASS"], "cases[0] 'verdict' must be a string"),
    ("unknown verdict", ("cases", 0, "verdict"), "PASSED", "unknown verdict 'PASSED'"),
    ("failures a string", ("cases", 0, "failures"), "x", "'failures' must be an array or null"),
    ("failures of strings", ("cases", 0, "failures"), ["x"], "'failures' must hold objects"),
    ("case a string", ("cases", 0), "x", "cases[0] must be an object"),
    ("interrupted missing", ("interrupted",), _DELETE, "lacks 'interrupted'"),
    ("settings without a key the renderers read", ("settings", "shmem_bit"), _DELETE,
     "malformed results.json, cannot render it"),
]


_drop_privileges = helpers.drop_privileges
UNPRIVILEGED_PYTHON, NO_UNPRIVILEGED = helpers.unprivileged_python()


def run_unprivileged(*args, env=None):
    """The CLI as a user who may not write where root could (root passes
    every permission check): (status, stdout, stderr)."""
    import subprocess
    p = subprocess.run([UNPRIVILEGED_PYTHON, "-m", "vhucheck", *args], cwd=helpers.TOP,
                       env=env or helpers.env_for(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, preexec_fn=_drop_privileges if os.geteuid() == 0 else None)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def snapshot(directory):
    """{relative path: (size, mtime_ns)} of every file under directory."""
    out = {}
    for root, _, files in os.walk(directory):
        for name in files:
            st = os.stat(os.path.join(root, name))
            out[os.path.relpath(os.path.join(root, name), directory)] = (st.st_size,
                                                                        st.st_mtime_ns)
    return out


class TestFileSystemErrors(Base):
    """report and compare on missing, unreadable, malformed or unwritable
    input: one line, exit 2, never a traceback, nothing written."""

    def assert_one_line(self, rc, err, fragment, code=2):
        self.assertEqual(rc, code, err)
        self.assertNotIn("Traceback", err)
        self.assertIn(fragment, err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_malformed_results(self):
        good, doc = self.doc("good")
        write_target(good, doc)
        for label, path, value, fragment in MALFORMED:
            with self.subTest(label):
                bad = os.path.join(self.dir, "bad-" + label.replace(" ", "-"))
                os.makedirs(bad)
                d = copy.deepcopy(doc)
                _mutate(d, path, value)
                with open(os.path.join(bad, "results.json"), "w") as f:
                    json.dump(d, f)
                before = snapshot(bad)
                rc, out, err = run_cli("report", bad)
                self.assert_one_line(rc, err, fragment)
                self.assertEqual(snapshot(bad), before, "report wrote something")
                if "render" not in fragment:   # compare reads less than the renderers
                    rc, out, err = run_cli("compare", good, bad)
                    self.assert_one_line(rc, err, fragment)

    def test_bad_matrix_index(self):
        for label, text, fragment in [
                ("not json", "{", "unreadable"),
                ("dir an integer", '{"targets": [{"dir": 5}]}', "is not a sub-directory name"),
                ("dir outside", '{"targets": [{"dir": "../x"}]}', "is not a sub-directory name"),
                ("dir missing", '{"targets": [{"dir": "nope"}]}', "nope/results.json: no such file")]:
            with self.subTest(label):
                d = os.path.join(self.dir, "m-" + label.replace(" ", "-"))
                write(d, "matrix.json", text)
                for cmd in (("report", d), ("compare", d, d)):
                    rc, out, err = run_cli(*cmd)
                    self.assert_one_line(rc, err, fragment)

    def test_missing_and_unreadable_inputs(self):
        afile = write(self.dir, "afile", "not json")
        empty = os.path.join(self.dir, "empty")
        os.makedirs(empty)
        for args, fragment in [
                (("report", os.path.join(self.dir, "nowhere")), "no such report dir"),
                (("report", empty), "no results.json in it"),
                (("report", afile), "not readable JSON"),
                (("compare", afile, empty), "not readable JSON"),
                (("compare", empty, empty), "no results.json in it")]:
            with self.subTest(" ".join(args)):
                rc, out, err = run_cli(*args)
                self.assert_one_line(rc, err, fragment)

    @unittest.skipUnless(UNPRIVILEGED_PYTHON, NO_UNPRIVILEGED)
    def test_unwritable_report_dir(self):
        base, doc = self.doc("ro")
        write_target(base, doc)
        os.chmod(self.dir, 0o755)
        os.chmod(base, 0o555)
        before = snapshot(base)
        rc, out, err = run_unprivileged("report", base)
        self.assert_one_line(rc, err, "not writable: Permission denied")
        self.assertEqual(snapshot(base), before)
        rc, out, err = run_unprivileged("compare", base, base)
        self.assertEqual(rc, 0, err)                    # reading is fine

    def test_bad_baseline_path(self):
        base, doc = self.doc()
        write_target(base, doc)
        afile = write(self.dir, "afile", "x")
        before = snapshot(base)
        for path, fragment in [(os.path.join(afile, "b.toml"), "afile is not a directory"),
                               (base, "is a directory")]:
            with self.subTest(path):
                rc, out, err = run_cli("report", base, "--baseline", path)
                self.assert_one_line(rc, err, f"--baseline {path}: ")
                self.assertIn(fragment, err)
                self.assertEqual(snapshot(base), before, "reports re-rendered anyway")
        if not UNPRIVILEGED_PYTHON:
            self.skipTest(NO_UNPRIVILEGED)
        os.chmod(self.dir, 0o755)
        ro = os.path.join(self.dir, "ro")
        os.makedirs(ro, mode=0o555)
        os.chmod(ro, 0o555)
        os.chmod(base, 0o777)
        rc, out, err = run_unprivileged("report", base, "--baseline", os.path.join(ro, "b.toml"))
        self.assert_one_line(rc, err, "not writable")
        self.assertEqual(os.listdir(ro), [])


if __name__ == "__main__":
    unittest.main()
