"""Edges over time for a fuzz campaign, at the resolution of its corpus.

The engines' own status points are coarse: AFL++ writes plot_data every
5 s and only for its main instance; libFuzzer -fork prints a line when a
job ends. Here every corpus entry the campaign kept is replayed, in the
order it was made, through the AFL++ build with afl-showmap (one process,
its fork server); the running union of the edges it covers is the curve.
Both engines get the same measure (the AFL++ build's edges), every AFL++
instance counts, and a point exists for every entry.

When an entry was made: AFL++ names it (",time:MS," since its instance
started; the seeds have time 0); for libFuzzer it is the file's mtime
against the campaign's start (-fork writes new entries when a job ends;
the seeds in corpus/NAME count at 0).
"""

import os
import re
import shutil
import subprocess
import tempfile

TIME_FIELD = re.compile(r",time:(\d+)")


def afl_entries(sync):
    """[(seconds, path)] of every instance's queue."""
    got = []
    for inst in sorted(os.listdir(sync)) if os.path.isdir(sync) else []:
        q = os.path.join(sync, inst, "queue")
        for f in sorted(os.listdir(q)) if os.path.isdir(q) else []:
            m = TIME_FIELD.search(f)
            if m and f.startswith("id:"):
                got.append((int(m.group(1)) / 1000.0, os.path.join(q, f)))
    return got


def libfuzzer_entries(corpus, seeds, started):
    """[(seconds, path)]: the seeds at 0, what the campaign added by mtime."""
    got = [(0.0, os.path.join(seeds, f)) for f in sorted(os.listdir(seeds))]
    for f in sorted(os.listdir(corpus)) if os.path.isdir(corpus) else []:
        p = os.path.join(corpus, f)
        if os.path.isfile(p):
            got.append((max(0.0, os.path.getmtime(p) - started), p))
    return got


def edge_sets(binary, entries, env, timeout):
    """{index: set of edge ids} for entries, one afl-showmap run. None when
    afl-showmap cannot run here."""
    showmap = shutil.which("afl-showmap")
    if not showmap or not os.path.exists(binary) or not entries:
        return None
    with tempfile.TemporaryDirectory(prefix="vhu-fuzzcov-") as d:
        src, dst = os.path.join(d, "in"), os.path.join(d, "out")
        os.makedirs(src)
        os.makedirs(dst)
        for i, (_, path) in enumerate(entries):   # afl-showmap skips symlinks
            shutil.copyfile(path, os.path.join(src, f"{i:06d}"))
        try:
            r = subprocess.run([showmap, "-q", "-e", "-i", src, "-o", dst, "-t", "2000",
                                "-m", "none", "--", binary], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if r.returncode not in (0, 1, 2):
            return None
        sets = {}
        for f in os.listdir(dst):
            with open(os.path.join(dst, f)) as fh:
                sets[int(f)] = {line.split(":", 1)[0] for line in fh if ":" in line}
        return sets


def timeline(entries, sets):
    """[(seconds, edges, corpus)] after each entry, in the order made;
    entries with no map (a crash or hang on replay) add nothing."""
    order = sorted(range(len(entries)), key=lambda i: (entries[i][0], i))
    seen, points = set(), []
    for n, i in enumerate(order, 1):
        seen |= sets.get(i, set())
        s = round(entries[i][0], 3)
        if points and points[-1][0] == s:
            points[-1] = (s, len(seen), n)
        else:
            points.append((s, len(seen), n))
    return points


def campaign_edges(engine, out, seeds, started, binary, env, timeout=300):
    """The campaign's edges over time, or None (no afl-showmap, no AFL++
    build, or it failed: the report keeps the engine's own points)."""
    entries = (afl_entries(out["sync"]) if engine == "afl"
               else libfuzzer_entries(out["corpus"], seeds, started))
    sets = edge_sets(binary, entries, env, timeout)
    return timeline(entries, sets) if sets is not None else None


def sample(points, rows=16):
    """About rows points spread over the campaign's time, the first (the
    seeds) and the last always in: what a report table shows of a long
    curve."""
    if len(points) <= rows:
        return list(points)
    end = points[-1][0]
    picked, j = [points[0]], 0
    for k in range(1, rows + 1):
        t = end * k / rows
        while j + 1 < len(points) and points[j + 1][0] <= t:
            j += 1
        if not picked or picked[-1] != points[j]:
            picked.append(points[j])
    if picked[-1] != points[-1]:
        picked.append(points[-1])
    return picked
