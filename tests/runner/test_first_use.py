"""What a new user trips over (issue 19), one class per point: fault
attribution with --cases, a profile's program checked before anything
runs, --out holding an earlier run, CI outputs that hid problems (junit of
an interrupted run, a mistyped expectations table, baseline reasons),
docs that run, silence and clutter (the first build, matrix.html,
compare, import errors), and the tests that re-run the CLI as another
user."""

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET
from unittest import mock

import helpers
import synth
from helpers import TOP, build_dir, env_for, run_cli, write

from vhucheck import catalogue, cli, results, run as runcmd
from vhucheck.render import html, junit, markdown, write_matrix, write_target

BUILD = build_dir()
SKIP = "no build with harness/vhucheck-harness and targets/vhu-ref-* (build one, or set VHUCHECK_BUILD_DIR)"
PROFILE = 'name = "{name}"\nrole = "backend"\ncommand = "{prog} --socket-path={{socket}}"\n'


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vhucheck-first-")
        self.dir = self.tmp.name
        self.suites = helpers.make_suite(self.dir, helpers.SMALL_SUITE)
        self.build = os.path.join(self.dir, "build")
        for name in ("vhu-ref-frontend", "vhu-ref-backend", "qtest/vhu-qtest"):
            os.chmod(write(self.build, f"targets/{name}", "#!/bin/sh\nexit 0\n"), 0o755)
        self.env = env_for(VHUCHECK_SUITES=self.suites,
                           VHUCHECK_FAULTS=write(self.dir, "catalogue.ini", helpers.CATALOGUE),
                           VHUCHECK_HARNESS=helpers.lister(self.dir),
                           VHUCHECK_BUILD_DIR=self.build, VHUCHECK_EXEC_COMMAND=None)

    def tearDown(self):
        self.tmp.cleanup()

    def doc(self, sub="a", **kw):
        base = os.path.join(self.dir, sub)
        os.makedirs(base, exist_ok=True)
        return base, synth.document(base, **kw)


# ---- 1. fault attribution with --cases ----

class TestFaultAttribution(Base):
    """A fault whose catalogue cases were not selected is "not run", not
    missed; another case that fails catches it, and is named."""

    def faulted(self, verdicts, named):
        """A document whose fault names `named` (ids), with these verdicts."""
        cases = synth.fake_cases(len(verdicts))
        base, doc = self.doc(case_list=cases, verdicts=verdicts)
        fault = catalogue.Fault(name="fe_x", role="frontend", klass="a fault", rule="6: r",
                                cases=tuple(named))
        doc["faults"] = results.fault_coverage([fault], doc["cases"])
        return doc

    def views(self, doc):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            runcmd.print_summary(doc, None, False)
        return out.getvalue(), markdown.render(doc), html.render(doc)

    def test_other_failing_case_catches_it(self):
        # the catalogue's cases were not selected; synthetic_case_1 fails
        doc = self.faulted(["PASS", "FAIL"], ["not_selected_a", "not_selected_b"])
        f = doc["faults"][0]
        self.assertEqual((f["status"], f["caught_by"], f["also_failing"]),
                         ("caught", [], ["synthetic_case_1"]))
        console, md, page = self.views(doc)
        self.assertIn("fault fe_x: caught by other cases: synthetic_case_1 (its own cases: "
                      "not_selected_a, not_selected_b did not run)", console)
        self.assertNotIn("NO case", console)
        self.assertIn("✅ fault `fe_x`", md)
        self.assertNotIn("❌ fault", md)
        self.assertIn(">CAUGHT<", page)
        self.assertNotIn("MISSED", page)
        self.assertIn('href="#synthetic_case_1"', page)

    def test_not_selected_is_not_run(self):
        doc = self.faulted(["PASS", "PASS"], ["not_selected_a"])
        self.assertEqual(doc["faults"][0]["status"], "not run")
        console, md, page = self.views(doc)
        self.assertIn("fault fe_x: not run: its cases not_selected_a did not run", console)
        self.assertNotIn("NO case", console)
        self.assertIn("⚠️ fault `fe_x`", md)
        self.assertIn(">NOT RUN<", page)
        self.assertNotIn("MISSED", page)
        self.assertNotIn('href="#not_selected_a"', page)      # nothing to link to

    def test_own_case_passing_is_missed(self):
        doc = self.faulted(["PASS", "PASS"], ["synthetic_case_0"])
        self.assertEqual(doc["faults"][0]["status"], "missed")
        console, md, page = self.views(doc)
        self.assertIn("fault fe_x: caught by NO case; missed by synthetic_case_0", console)
        self.assertIn("❌ fault `fe_x`", md)
        self.assertIn(">MISSED<", page)

    def test_old_results_without_status_render(self):
        doc = self.faulted(["FAIL"], ["x"])
        del doc["faults"][0]["status"]
        self.assertIn("caught by other cases", markdown.render(doc))

    @unittest.skipUnless(BUILD, SKIP)
    def test_real_run_with_cases(self):
        """The issue's command: a case outside the catalogue's list catches it."""
        out = os.path.join(self.dir, "out")
        env = env_for(VHUCHECK_BUILD_DIR=BUILD, VHUCHECK_HARNESS=None)
        rc, so, se = run_cli("run", "--cases", "shmem_map_overlap_last_page", "--fault",
                             "fe_no_overlap_check", "--out", out, env=env)
        self.assertEqual(rc, 1, so + se)
        self.assertIn("fault fe_no_overlap_check: caught by other cases: "
                      "shmem_map_overlap_last_page", so)
        with open(os.path.join(out, "results.json")) as f:
            self.assertEqual(json.load(f)["faults"][0]["status"], "caught")


# ---- 2. a profile's program is checked before running ----

class TestProfileProgram(Base):
    def profile(self, prog, name="mine", extra=""):
        return write(self.dir, f"{name}.toml", PROFILE.format(name=name, prog=prog) + extra)

    def test_missing_program_is_one_line_before_anything_runs(self):
        prof = self.profile("/opt/nosuch/bin/x")
        out = os.path.join(self.dir, "out")
        for args in (["run", "--target", prof, "--out", out], ["run", "--target", prof,
                                                             "--dry-run"]):
            rc, so, se = run_cli(*args, env=self.env)
            self.assertEqual(rc, 2, se)
            self.assertEqual(se.strip().splitlines(), [
                f"vhucheck: {prof}: 'command': /opt/nosuch/bin/x: no such program "
                "(no such file)"])
        self.assertFalse(os.path.exists(out), "a report was written")
        rc, so, se = run_cli("targets", prof, env=self.env)
        self.assertEqual(rc, 2, so + se)
        self.assertIn("/opt/nosuch/bin/x: no such program", se)
        rc, so, se = run_cli("targets", "--check", prof, env=self.env)
        self.assertEqual(rc, 2, so + se)
        self.assertIn("/opt/nosuch/bin/x: no such program", se)

    def test_bare_name_not_executable_not_built(self):
        plain = write(self.dir, "plain", "")
        for prog, words in [("no-such-tool-vhu", "not on PATH"), (plain, "not executable"),
                            ("{build}/targets/vhu-nothing", "not built in ")]:
            with self.subTest(prog):
                rc, so, se = run_cli("run", "--target", self.profile(prog), "--dry-run",
                                     env=self.env)
                self.assertEqual(rc, 2, se)
                self.assertIn(words, se)

    def test_found_programs_pass(self):
        bindir = os.path.join(self.dir, "bin")
        os.chmod(write(bindir, "mytool", "#!/bin/sh\n"), 0o755)
        ok = [self.profile("cat", "a"), self.profile("/bin/true", "b"),
              self.profile("mytool", "c", f'[env]\nPATH = "{bindir}:/usr/bin:/bin"\n')]
        for prof in ok:
            with self.subTest(prof):
                rc, so, se = run_cli("run", "--target", prof, "--dry-run", env=self.env)
                self.assertEqual(rc, 0, se)
                rc, so, se = run_cli("targets", prof, env=self.env)
                self.assertEqual(rc, 0, se)

    def test_launchers_keep_their_own_handling(self):
        """qemu-shmem's program is vhu-qtest, which names an unset
        VHUCHECK_QEMU itself; exec-* runs sh and checks --command."""
        env = dict(self.env)
        env.pop("VHUCHECK_QEMU", None)
        rc, so, se = run_cli("run", "--target", "qemu-shmem", "--dry-run", env=env)
        self.assertEqual(rc, 0, se)
        self.assertIn("--qemu-env=VHUCHECK_QEMU", so)
        rc, so, se = run_cli("run", "--target", "exec-backend", "--command", "cat",
                             "--dry-run", env=env)
        self.assertEqual(rc, 0, se)

    def test_shipped_list_notes_what_is_missing(self):
        rc, so, se = run_cli("targets", env=env_for(VHUCHECK_BUILD_DIR=self.dir))
        self.assertEqual(rc, 0, se)
        self.assertRegex(so, r"no program here, so `run` refuses them: .*ref-frontend "
                             r"\(.*vhu-ref-frontend\)")


# ---- 3. --out holding an earlier run ----

class TestOutReuse(Base):
    def earlier(self, name="a"):
        base, doc = self.doc(name)
        write_target(base, doc)
        return base

    def test_refused_without_clean(self):
        out = self.earlier()
        before = sorted(os.listdir(out))
        rc, so, se = run_cli("run", "--out", out, env=self.env)
        self.assertEqual(rc, 2, se)
        self.assertEqual(se.strip().splitlines(), [
            f"vhucheck: --out {out}: holds the reports of an earlier run (index.html, "
            "junit.xml, results.json, results.tap, …); pass --clean to replace them, or "
            "choose another dir"])
        self.assertEqual(sorted(os.listdir(out)), before)
        # --clean gets past it: the run replaces the earlier reports (its
        # cases fail against the stub references: exit 1, not a usage error)
        rc, so, se = run_cli("run", "--out", out, "--clean", env=self.env)
        self.assertIn(rc, (0, 1), se)
        self.assertIn("--clean: removed the earlier run", se)
        self.assertNotEqual(sorted(os.listdir(out)), before)

    def test_other_files_are_no_run(self):
        out = os.path.join(self.dir, "mine")
        write(out, "README", "mine\n")
        rc, so, se = run_cli("run", "--out", out, env=self.env)
        self.assertIn(rc, (0, 1), se)             # past the check: the run ran
        with open(os.path.join(out, "README")) as f:
            self.assertEqual(f.read(), "mine\n")
        rc, so, se = run_cli("run", "--clean", env=self.env)
        self.assertEqual(rc, 2, se)
        self.assertIn("--clean: only with --out", se)

    def test_earlier_run_and_clean(self):
        from vhucheck import outdir
        out = os.path.join(self.dir, "m")
        da = synth.document(self.earlier("m/ref-frontend"))
        write_matrix(out, [da], ["ref-frontend"], da["started"], "0.1.0")
        write(out, "notes.txt", "keep me\n")
        os.makedirs(os.path.join(out, "other"))
        self.assertEqual(outdir.earlier_run(out), ["junit.xml", "matrix.html", "matrix.json",
                                                   "ref-frontend", "summary.md"])
        outdir.remove_earlier_run(out)
        self.assertEqual(sorted(os.listdir(out)), ["notes.txt", "other"])
        self.assertEqual(outdir.earlier_run(out), [])
        self.assertEqual(outdir.earlier_run(os.path.join(self.dir, "nowhere")), [])

    @unittest.skipUnless(BUILD, SKIP)
    def test_one_target_then_two(self):
        """The issue's sequence: a one-target run into X, then a two-target
        run into X. Refused; with --clean, X is the new run only."""
        out = os.path.join(self.dir, "x")
        env = env_for(VHUCHECK_BUILD_DIR=BUILD, VHUCHECK_HARNESS=None)
        rc, so, se = run_cli("run", "--target", "ref-backend", "--cases", "config_fe_page_*",
                             "--out", out, env=env)
        self.assertEqual(rc, 0, so + se)
        write(out, "keep.txt", "x")
        two = ["run", "--cases", "config_fe_page_*", "negotiation_be_shmem_bit_22",
               "--out", out]
        rc, so, se = run_cli(*two, env=env)
        self.assertEqual(rc, 2, se)
        self.assertIn("holds the reports of an earlier run", se)
        rc, so, se = run_cli(*two, "--clean", env=env)
        self.assertEqual(rc, 0, so + se)
        self.assertIn("--clean: removed the earlier run", se)
        self.assertEqual(sorted(os.listdir(out)), ["junit.xml", "keep.txt", "matrix.html",
                                                   "matrix.json", "ref-backend",
                                                   "ref-frontend", "summary.md"])
        rc, so, se = run_cli("report", out, env=env)
        self.assertEqual(rc, 0, se)
        self.assertIn("ref-frontend:", so)
        self.assertIn("ref-backend:", so)


# ---- 4. CI outputs that hid problems ----

class TestCiOutputs(Base):
    def test_junit_of_an_interrupted_run_counts_the_cases_not_run(self):
        base, doc = self.doc(interrupted=True)
        self.assertTrue(doc["not_run"])
        root = ET.fromstring(junit.render([doc]))
        selected = len(doc["cases"]) + len(doc["not_run"])
        self.assertEqual(int(root.get("tests")), selected)
        skipped = [tc for tc in root.iter("testcase") if tc.find("skipped") is not None]
        self.assertGreaterEqual(int(root.get("skipped")), len(doc["not_run"]))
        self.assertEqual(int(root.get("skipped")), len(skipped))
        names = {tc.get("name"): tc for tc in root.iter("testcase")}
        for cid in doc["not_run"]:
            msg = names[cid].find("skipped").get("message")
            self.assertEqual(msg, "not run: the run was interrupted by SIGINT")
        for ts in root.iter("testsuite"):
            self.assertEqual(int(ts.get("tests")), len(ts.findall("testcase")))

    def test_mistyped_target_table_is_an_error(self):
        typo = write(self.dir, "typo.toml",
                     '[ref-frontnd]\nmap_one = { verdict = "FAIL", reason = "r" }\n')
        rc, so, se = run_cli("run", "--expect", typo, "--dry-run", env=self.env)
        self.assertEqual(rc, 2, se)
        self.assertEqual(se.strip().splitlines(), [
            f"vhucheck: {typo}: [ref-frontnd]: no such target (the tables are target names; "
            "selected: ref-frontend, ref-backend; did you mean [ref-frontend]?)"])
        base, doc = self.doc()
        write_target(base, doc)
        rc, so, se = run_cli("report", base, "--expect", typo, env=self.env)
        self.assertEqual(rc, 2, se)
        self.assertIn("[ref-frontnd]: no such target", se)

    def test_tables_for_known_targets_are_fine(self):
        """A shipped profile, or a profile next to the selected one."""
        mine = write(self.dir, "p/mine.toml", PROFILE.format(name="mine", prog="cat"))
        write(self.dir, "p/other.toml", PROFILE.format(name="my-other", prog="cat"))
        ok = write(self.dir, "ok.toml", '[qemu-debian]\nmap_one = { verdict = "FAIL", '
                   'reason = "r" }\n[my-other]\nmap_one = { verdict = "FAIL", reason = "r" }\n'
                   '[mine]\nmap_one = { verdict = "FAIL", reason = "r" }\n')
        rc, so, se = run_cli("run", "--target", mine, "--expect", ok, "--dry-run", env=self.env)
        self.assertEqual(rc, 0, se)
        self.assertEqual(se, "")

    def test_unknown_case_id_is_a_console_warning(self):
        stale = write(self.dir, "stale.toml",
                      '[ref-backend]\nmap_onne = { verdict = "FAIL", reason = "r" }\n')
        rc, so, se = run_cli("run", "--expect", stale, "--dry-run", env=self.env)
        self.assertEqual(rc, 0, se)
        self.assertIn(f"vhucheck: warning: {stale}: [ref-backend] map_onne: matches no case "
                      "(did you mean map_one?)", se)

    def test_baseline_reasons_are_one_stable_line(self):
        texts = []
        for k, addr in enumerate(("7f3a2b1c0000", "7ffd00ab1000")):
            base, doc = self.doc(f"b{k}")
            for c in doc["cases"]:
                if c["verdict"] == "FAIL":
                    c["reason"] = (f"0 matching; {addr}-{addr[:-4]}2000 rw-s off 0x0 at "
                                   f"0x{addr} gpa=0x10000003000 (pid {4000 + k})\n"
                                   "+0.0040s main -> SET_STATUS flags=0x5\n")
            write_target(base, doc)
            path = os.path.join(self.dir, f"baseline{k}.toml")
            rc, so, se = run_cli("report", base, "--baseline", path, env=self.env)
            self.assertEqual(rc, 0, se)
            with open(path) as f:
                texts.append(f.read())
        self.assertEqual(texts[0], texts[1])
        self.assertNotIn("7f3a2b1c", texts[0])
        self.assertNotIn("SET_STATUS", texts[0])
        self.assertIn("<addr>-<addr> rw-s off 0x0 at 0x<addr> gpa=0x10000003000 (pid <pid>)",
                      texts[0])
        for line in texts[0].splitlines():
            if "= {" in line:
                self.assertLess(len(line), 400, line)


# ---- 5. docs that run ----

def read(*parts):
    with open(os.path.join(TOP, *parts), encoding="utf-8") as f:
        return f.read()


def docs_texts():
    names = ["README.md"] + [os.path.join("docs", n) for n in sorted(os.listdir(
        os.path.join(TOP, "docs"))) if n.endswith(".md")]
    return [(n, read(n)) for n in names] + [("run --help", runcmd.EPILOG)]


def section(text, title):
    """The text of a markdown section (### or ##) up to the next heading."""
    m = re.search(r"^#+ " + re.escape(title) + r"\s*$(.*?)(?=^#+ |\Z)", text, re.M | re.S)
    return m.group(1) if m else ""


class TestDocsRun(Base):
    def test_every_fault_named_in_the_docs_exists(self):
        faults = catalogue.load(os.path.join(TOP, "targets", "faults", "catalogue.ini"))
        seen = 0
        for name, text in docs_texts():
            for m in re.finditer(r"--fault[ =]+([a-z][a-z0-9_]*_[a-z0-9_]+)", text):
                seen += 1
                self.assertIn(m.group(1), faults, f"{name}: --fault {m.group(1)}")
        self.assertGreater(seen, 3)

    def test_runner_md_shmem_bit_without_placeholder(self):
        """The bullet for a command without {shmem_bit} says the profile's
        shmem_bit is the bit the harness speaks; and it is."""
        bullets = section(read("docs", "runner.md"), "The SHMEM bit")
        m = re.search(r"^\* \*\*No `\{shmem_bit\}` in the command\*\*(.*?)(?=^\* |^$)",
                      bullets, re.M | re.S)
        self.assertTrue(m, bullets)
        self.assertIn("the profile's `shmem_bit`", " ".join(m.group(1).split()), m.group(1))
        fixed = write(self.dir, "own.toml", 'name = "own"\nrole = "backend"\n'
                      'command = "/bin/true --fd={fd}"\nshmem_bit = 20\n')
        rc, so, se = run_cli("run", "-t", fixed, "--dry-run", env=self.env)
        self.assertEqual(rc, 0, se)
        self.assertIn("--shmem-bit 20 ", so)

    def test_targets_md_exec_frontend_start_rule(self):
        generic = " ".join(section(read("docs", "targets.md"),
                                   "Generic targets: `exec-backend`, `exec-frontend`").split())
        m = re.search(r"[^.]*counts as started.*?(?=\* |$)", generic)
        self.assertTrue(m, "docs/targets.md, Generic targets: no 'counts as started' rule")
        self.assertIn("DRIVER_OK", m.group(0))
        self.assertIn("100 ms", m.group(0))

    def test_build_dir_of_the_environment_is_built(self):
        """VHUCHECK_BUILD_DIR=DIR ./vhucheck builds DIR as it builds build/
        (here a build.ninja of one step: no compiler needed), relative to
        where it is run, with a progress line on stderr."""
        if not shutil.which("ninja"):
            self.skipTest("no ninja")
        d = os.path.join(self.dir, "bd")
        write(d, "build.ninja", "rule touch\n  command = touch $out\n"
                                "build made: touch\ndefault made\n")
        p = subprocess.run([os.path.join(TOP, "vhucheck"), "--version"], cwd=self.dir,
                           env=dict(env_for(VHUCHECK_BUILD_DIR="bd")), capture_output=True,
                           text=True, timeout=120)
        if p.returncode == 2 and "missing Debian packages" in p.stderr:
            self.skipTest(p.stderr.strip())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(os.path.join(d, "made")), p.stderr)
        self.assertIn(f"vhucheck: building {d}: 1 steps", p.stderr)
        self.assertRegex(p.stderr, rf"vhucheck: built {re.escape(d)} in \d+ s")
        p = subprocess.run([os.path.join(TOP, "vhucheck"), "--version"], cwd=self.dir,
                           env=dict(env_for(VHUCHECK_BUILD_DIR=d)), capture_output=True,
                           text=True, timeout=120)
        self.assertEqual((p.returncode, p.stderr), (0, ""))       # nothing to do: silent

    def test_targets_md_build_recipe_is_complete(self):
        """The libvhost-user recipe: configured dir, then run with it; the
        runner now builds that dir itself, the docs say so."""
        text = " ".join(read("docs", "targets.md").split())
        self.assertIn("VHUCHECK_BUILD_DIR=build-lvu ./vhucheck run", text)
        self.assertTrue(re.search(r"VHUCHECK_BUILD_DIR.{0,200}brought up to date",
                                  " ".join(read("docs", "runner.md").split())),
                        "docs/runner.md does not say ./vhucheck builds VHUCHECK_BUILD_DIR")


# ---- 6. silence and clutter ----

class TestSilenceAndClutter(Base):
    def test_first_build_says_so(self):
        """bootstrap.sh's vhu_build (the first build of ./vhucheck): a line
        before and after when not on a terminal."""
        if not shutil.which("ninja"):
            self.skipTest("no ninja")
        d = os.path.join(self.dir, "b")
        write(d, "build.ninja", "rule touch\n  command = touch $out\n"
                                "build x: touch\nbuild y: touch\n")
        p = subprocess.run(["sh", "-c", f'. "{TOP}/runner/bootstrap.sh"; vhu_build "{d}"'],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(lines[0], f"vhucheck: building {d}: 2 steps")
        self.assertRegex(lines[1], rf"^vhucheck: built {re.escape(d)} in \d+ s$")
        write(d, "build.ninja", "rule bad\n  command = echo broken-step; false\n"
                                "build z: bad\n")
        p = subprocess.run(["sh", "-c", f'. "{TOP}/runner/bootstrap.sh"; vhu_build "{d}"'],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("broken-step", p.stderr)          # the log, when it fails

    def test_matrix_names_failing_cases_at_the_top(self):
        da = synth.document(os.path.join(self.dir, "a"))
        db = synth.document(os.path.join(self.dir, "b"), name="other",
                            verdicts=("PASS",))
        page = html.render_matrix([da, db], ["a/index.html", "b/index.html"], da["started"],
                                  "0.1.0")
        top = page[:page.index('<table class="mx">')]
        bad = da["summary"]["gate"]["regressions"]
        self.assertTrue(bad)
        self.assertIn(f"ref-frontend: {len(bad)} failing", top)
        for cid in bad:
            self.assertIn(f'href="a/index.html#{cid}"', top)
        self.assertNotIn("<b>other:", top)              # nothing failing there

    def test_compare_against_a_run_without_that_target(self):
        da = synth.document(self.earlier_dir("x/ref-frontend"))
        db = synth.document(self.earlier_dir("x/ref-backend"), name="ref-backend")
        write_target(os.path.join(self.dir, "x/ref-frontend"), da)
        write_target(os.path.join(self.dir, "x/ref-backend"), db)
        write_matrix(os.path.join(self.dir, "x"), [da, db], ["ref-frontend", "ref-backend"],
                     da["started"], "0.1.0")
        one = os.path.join(self.dir, "one")
        write_target(one, synth.document(self.earlier_dir("one")))
        rc, so, se = run_cli("compare", one, os.path.join(self.dir, "x"))
        self.assertEqual(rc, 0, se)
        n = len(db["cases"])
        self.assertIn(f"new ({n}):", so)
        self.assertRegex(so, rf"ref-backend +the whole target is not in OLD \({n} cases: ")
        self.assertEqual(so.count("ref-backend"), 1, so)
        rc, so, se = run_cli("compare", os.path.join(self.dir, "x"), one, "--format",
                             "markdown")
        self.assertIn("- `ref-backend`: the whole target is not in NEW", so)
        self.assertEqual(so.count("ref-backend"), 1, so)

    def earlier_dir(self, sub):
        d = os.path.join(self.dir, sub)
        os.makedirs(d, exist_ok=True)
        return d

    def test_import_errors_are_not_hidden(self):
        real = cli.importlib.import_module

        def broken(name, *a, **kw):
            if name == "vhucheck.bench.cli":
                raise ImportError("No module named 'nosuchdep'")
            return real(name, *a, **kw)

        with mock.patch.object(cli.importlib, "import_module", side_effect=broken):
            with self.assertRaises(ImportError):
                cli.load("bench", "bench.cli")
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                rc = cli.main(["list"])
        self.assertEqual(rc, 3)
        self.assertIn("Traceback", err.getvalue())
        self.assertIn("nosuchdep", err.getvalue())
        # a module that is not there at all is still only "not built yet"
        self.assertIsInstance(cli.load("bench", "no_such_module_here"), cli.Placeholder)


# ---- 7. tests that re-run the CLI as user 65534 ----

@unittest.skipUnless(os.geteuid() == 0, "only as root: the tests drop to user 65534")
class TestUnprivilegedCheckout(unittest.TestCase):
    def test_unreadable_checkout_skips_with_a_reason(self):
        with tempfile.TemporaryDirectory(prefix="vhucheck-clone-") as d:
            clone = os.path.join(d, "clone")
            shutil.copytree(os.path.join(TOP, "runner"), os.path.join(clone, "runner"),
                            ignore=shutil.ignore_patterns("__pycache__"))
            os.chmod(d, 0o700)                         # as mktemp -d leaves it
            exe, why = helpers.unprivileged_python(clone)
            self.assertIsNone(exe)
            self.assertIn(f"user 65534 cannot read the checkout {clone}", why)
            os.chmod(d, 0o755)
            exe, why = helpers.unprivileged_python(clone)
            if exe is None and "no python" in why:
                self.skipTest(why)
            self.assertIsNotNone(exe, why)

    def test_the_tests_use_it(self):
        import test_reports
        self.assertEqual((test_reports.UNPRIVILEGED_PYTHON, test_reports.NO_UNPRIVILEGED),
                         helpers.unprivileged_python())


if __name__ == "__main__":
    unittest.main()
