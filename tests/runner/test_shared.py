"""run --shared-target: one target process for the cases that allow it.
Against the reference back-end listening on {socket}: the same verdicts
as with a fresh target per case; against a made-up back-end that leaks on
its second connection and crashes on its third: the report names the
case that left each state, and a new target serves the rest."""

import json
import os
import sys
import tempfile
import textwrap
import unittest

import helpers
from vhucheck import shared

BUILD = helpers.build_dir()

# A back-end that takes each connection and hangs up at once; the 2nd
# keeps a shared memfd mapping and its fd, the 3rd crashes it.
FAKE = textwrap.dedent("""\
    import mmap, os, signal, socket, sys
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sys.argv[1])
    s.listen(4)
    kept = []
    for k in range(1, 100):
        c, _ = s.accept()
        if k == 2:
            fd = os.memfd_create("vhu-leak")
            os.ftruncate(fd, 4096)
            kept.append((fd, mmap.mmap(fd, 4096, mmap.MAP_SHARED)))
        if k == 3:
            os.kill(os.getpid(), signal.SIGSEGV)
        c.close()
""")


def profile(d, name, command, role="backend"):
    path = os.path.join(d, f"{name}.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f'name = "{name}"\nrole = "{role}"\ncommand = {json.dumps(command)}\n')
    return path


class Units(unittest.TestCase):
    def test_left_state_in_words(self):
        self.assertEqual(shared.left_state({"fds": 5, "mappings": 1},
                                           {"fds": 5, "mappings": 1}, ""), "")
        self.assertEqual(shared.left_state({"fds": 5, "mappings": 1},
                                           {"fds": 7, "mappings": 0}, ""),
                         "1 fewer mappings (1 -> 0); 2 more open fds (5 -> 7)")
        self.assertEqual(shared.left_state({"fds": 5, "mappings": 1}, None,
                                           "the target died of SIGSEGV"),
                         "the target died of SIGSEGV")

    def test_only_socket_listeners_without_own_channels(self):
        from vhucheck import profile as P
        with tempfile.TemporaryDirectory() as d:
            def why(command, role="backend"):
                return shared.refusal(P.load(profile(d, "t", command, role)))
            self.assertIsNone(why("/bin/t --socket-path={socket}"))
            self.assertIn("does not listen", why("/bin/t --fd={fd}"))
            self.assertIn("does not listen", why("/bin/t --socket={socket}", "frontend"))
            self.assertIn("takes {control}", why("/bin/t --socket-path={socket} -c {control}"))

    def test_cases_needing_control_get_a_fresh_target(self):
        class C:
            def __init__(self, cid, requires):
                self.id, self.requires = cid, requires
        on, fresh = shared.split([C("a", ("SHMEM",)), C("b", ("control", "pid")), C("c", ())])
        self.assertEqual([c.id for c in on], ["a", "c"])
        self.assertEqual([c.id for c in fresh], ["b"])


@unittest.skipUnless(BUILD, "no build dir with the harness and the references")
class EndToEnd(unittest.TestCase):
    def _run(self, *args):
        rc, out, err = helpers.run_cli(
            "run", *args, env=helpers.env_for(VHUCHECK_BUILD_DIR=BUILD), timeout=180)
        return rc, out, err

    def test_refused_for_a_target_of_one_connection(self):
        rc, _, err = self._run("--target", "ref-backend", "--shared-target", "--dry-run")
        self.assertEqual(rc, 2)
        self.assertIn("--shared-target: ref-backend: its target does not listen on {socket}",
                      err)

    def test_reference_back_end_same_verdicts_as_fresh(self):
        with tempfile.TemporaryDirectory() as d:
            prof = profile(d, "rb-socket", "{build}/targets/vhu-ref-backend "
                           "--socket-path={socket} --shmem-bit={shmem_bit}")
            docs = []
            for mode in ((), ("--shared-target",)):
                out = os.path.join(d, "shared" if mode else "fresh")
                rc, stdout, err = self._run("--target", prof, "-j", "2", "--out", out,
                                            "--cases", "config_fe_*", "--cases", "framing_fe_*",
                                            *mode)
                self.assertEqual(rc, 0, err)
                with open(os.path.join(out, "results.json")) as f:
                    docs.append(json.load(f))
            fresh, on = docs
            self.assertEqual({c["id"]: c["verdict"] for c in fresh["cases"]},
                             {c["id"]: c["verdict"] for c in on["cases"]})
            marked = [c for c in on["cases"] if c.get("shared_target")]
            self.assertGreater(len(marked), 10)
            self.assertEqual(on["harness"]["shared_targets"], 1)
            self.assertTrue(all(c["shared_target"]["alive"] for c in marked))
            self.assertTrue(on["settings"]["shared_target"])
            self.assertFalse(any(c.get("shared_target") for c in fresh["cases"]))
            self.assertIn("verdicts reached on 1 shared target", stdout)
            with open(os.path.join(d, "shared", "summary.md")) as f:
                self.assertIn("## Shared target", f.read())

    def test_the_case_that_left_a_leak_or_a_crash_is_named(self):
        with tempfile.TemporaryDirectory() as d:
            fake = os.path.join(d, "fake.py")
            with open(fake, "w") as f:
                f.write(FAKE)
            prof = profile(d, "leaky", f"{sys.executable} {fake} {{socket}}")
            out = os.path.join(d, "out")
            rc, stdout, err = self._run("--target", prof, "--shared-target", "--out", out,
                                        "--cases", "config_fe_page_multiple",
                                        "--cases", "config_fe_reply_layout",
                                        "--cases", "config_fe_stable_twice",
                                        "--cases", "config_fe_nregions_match")
            self.assertIn(rc, (0, 1), err)
            with open(os.path.join(out, "results.json")) as f:
                doc = json.load(f)
            st = [c["shared_target"] for c in doc["cases"]]
            self.assertEqual(len(st), 4)
            self.assertIsNone(st[0]["left"])
            self.assertIn("1 more mappings (0 -> 1)", st[1]["left"])
            self.assertIn("more open fds", st[1]["left"])     # the memfd (python dups it)
            self.assertEqual(st[2]["left"], "the target died of SIGSEGV")
            self.assertEqual(st[2]["signal"], "SIGSEGV")
            self.assertEqual([s["target"] for s in st], [1, 1, 1, 2])
            self.assertNotEqual(st[2]["pid"], st[3]["pid"])
            self.assertEqual(doc["harness"]["shared_targets"], 2)
            self.assertIn(f"left by {doc['cases'][2]['id']}: the target died of SIGSEGV",
                          stdout)
            with open(os.path.join(out, "index.html"), encoding="utf-8") as f:
                page = f.read()
            self.assertEqual(page.count('<span class="lvl">shared</span>'), 4)
            self.assertIn("Left: the target died of SIGSEGV", page)
            with open(os.path.join(out, "summary.md"), encoding="utf-8") as f:
                self.assertIn("left: the target died of SIGSEGV", f.read())


if __name__ == "__main__":
    unittest.main()
