"""vhucheck.fuzz.coverage: which corpus entries a campaign made and when, the
running union of their edges, the sampled table; and, where AFL++ and
its build are here, the whole measure against afl-showmap's own
collective count (skipped, with the reason, otherwise)."""

import os
import shutil
import subprocess
import tempfile
import unittest

from helpers import TOP

from vhucheck.fuzz import coverage as fuzzcov

AFL_MAP = os.path.join(TOP, "build-afl", "fuzzers", "fuzz_shmem_map")


def touch(path, data=b"x", mtime=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


class TestEntries(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vhucheck-fuzzcov-")
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_afl_entries_from_every_instance(self):
        sync = os.path.join(self.d, "sync")
        touch(os.path.join(sync, "main", "queue", "id:000000,time:0,execs:0,orig:seed"))
        touch(os.path.join(sync, "main", "queue", "id:000001,src:000000,time:1500,execs:9,op:havoc"))
        touch(os.path.join(sync, "main", "queue", ".state", "auto_extras", "x"))
        touch(os.path.join(sync, "s1", "queue", "id:000000,sync:main,src:000001,time:2250,execs:4"))
        touch(os.path.join(sync, "s1", "fuzzer_stats"))
        got = sorted((t, os.path.basename(p)[:9]) for t, p in fuzzcov.afl_entries(sync))
        self.assertEqual(got, [(0.0, "id:000000"), (1.5, "id:000001"), (2.25, "id:000000")])

    def test_afl_entries_of_no_campaign(self):
        self.assertEqual(fuzzcov.afl_entries(os.path.join(self.d, "none")), [])

    def test_libfuzzer_entries_by_mtime_seeds_at_zero(self):
        seeds, corpus = os.path.join(self.d, "seeds"), os.path.join(self.d, "corpus")
        touch(os.path.join(seeds, "a"), mtime=1000)
        touch(os.path.join(corpus, "b"), mtime=1007.5)
        touch(os.path.join(corpus, "c"), mtime=990)   # older than the start: 0
        got = sorted((t, os.path.basename(p))
                     for t, p in fuzzcov.libfuzzer_entries(corpus, seeds, 1000.0))
        self.assertEqual(got, [(0.0, "a"), (0.0, "c"), (7.5, "b")])


class TestTimeline(unittest.TestCase):
    def test_running_union_in_time_order(self):
        entries = [(2.0, "late"), (0.0, "seed1"), (0.0, "seed2"), (1.0, "mid"), (3.0, "crash")]
        sets = {0: {"e5"}, 1: {"e1", "e2"}, 2: {"e2", "e3"}, 3: {"e1", "e4"}}
        self.assertEqual(fuzzcov.timeline(entries, sets),
                         [(0.0, 3, 2), (1.0, 4, 3), (2.0, 5, 4), (3.0, 5, 5)])

    def test_sample_keeps_first_and_last(self):
        points = [(i / 10, i, i) for i in range(101)]
        got = fuzzcov.sample(points, rows=8)
        self.assertEqual(got[0], points[0])
        self.assertEqual(got[-1], points[-1])
        self.assertLessEqual(len(got), 9)
        self.assertEqual(got, sorted(set(got)))
        self.assertEqual(fuzzcov.sample(points[:5], rows=8), points[:5])


class TestAgainstShowmap(unittest.TestCase):
    """The union fuzzcov computes equals afl-showmap -C over the same
    inputs (AFL++'s own collective count)."""

    def setUp(self):
        if not shutil.which("afl-showmap"):
            self.skipTest("afl-showmap not found (Debian: afl++)")
        if not os.access(AFL_MAP, os.X_OK):
            self.skipTest("no AFL++ build of fuzz_shmem_map (tests/stages/20-fuzz.sh makes one)")

    def test_final_edges_equal_showmap_collective(self):
        corpus = os.path.join(TOP, "corpus", "fuzz_shmem_map")
        entries = [(float(i), os.path.join(corpus, f))
                   for i, f in enumerate(sorted(os.listdir(corpus))[:40])]
        sets = fuzzcov.edge_sets(AFL_MAP, entries, None, 120)
        self.assertIsNotNone(sets)
        self.assertEqual(len(sets), len(entries))
        points = fuzzcov.timeline(entries, sets)
        with tempfile.TemporaryDirectory(prefix="vhucheck-fuzzcov-") as d:
            os.makedirs(os.path.join(d, "in"))
            for i, (_, p) in enumerate(entries):
                shutil.copyfile(p, os.path.join(d, "in", str(i)))
            subprocess.run(["afl-showmap", "-q", "-C", "-e", "-i", os.path.join(d, "in"),
                            "-o", os.path.join(d, "all"), "-t", "2000", "-m", "none", "--",
                            AFL_MAP], check=False, timeout=120,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(os.path.join(d, "all")) as f:
                collective = sum(1 for line in f if ":" in line)
        self.assertGreater(collective, 0)
        self.assertEqual(points[-1][1], collective)
        self.assertEqual(len(points), len(entries))
        self.assertEqual([p[1] for p in points], sorted(p[1] for p in points))


if __name__ == "__main__":
    unittest.main()
