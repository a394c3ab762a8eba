"""A fuzz corpus as cases: every input written as a .vhu case.

The fuzz targets drive the reference in process; a real implementation
(QEMU, libvhost-user, a rust-vmm daemon) cannot be driven that way. What
the fuzzers grew against the reference can still be replayed against it:
each input becomes a case that carries the shadow model's expectations
step by step (vhu-fuzzcase, fuzzers/emitcase.h; fuzz/emit.py), as a
finding's reproducer does:

    ./vhucheck fuzz shmem_map --to-cases /tmp/fc            # corpus/fuzz_shmem_map
    ./vhucheck fuzz sequence --to-cases /tmp/fc --corpus reports/out/fuzz-.../corpus
    ./vhucheck fuzz backend_replies --to-cases /tmp/fc      # for a back-end
    VHUCHECK_SUITES=/tmp/fc ./vhucheck run --target qemu-shmem

A target that refuses the rigs' regions (1m,64k,0,2m) gets others with
--regions (QEMU with the v11 series aborts unless they add up to a power
of two, and with more than four: --regions 1m,1m,0,2m); for back-end
cases --regions is what the back-end advertises (the reference's 1m by
default). Inputs no case says are skipped and counted; identical cases
are written once.
"""

import os
import re
import shutil
import tempfile

from vhucheck.fuzz import emit as fuzzemit
from vhucheck.errors import ConfigError

REGIONS_LIST = re.compile(r"^(0|[1-9][0-9]*[kmg]?|0x[0-9a-f]+)(,(0|[1-9][0-9]*[kmg]?|0x[0-9a-f]+))*$")


def inputs(corpus):
    """(name, bytes) of every input file of a corpus directory."""
    if not os.path.isdir(corpus):
        raise ConfigError(f"--corpus {corpus}: no such directory")
    for f in sorted(os.listdir(corpus)):
        p = os.path.join(corpus, f)
        if os.path.isfile(p) and not f.startswith("."):
            with open(p, "rb") as fh:
                yield f, fh.read()


def check_regions(regions):
    if regions is not None and not REGIONS_LIST.match(regions):
        raise ConfigError(f"--regions {regions!r}: not a list of sizes like 1m,1m,0,2m")
    return regions


def check_fuzzer(name, option):
    if name not in fuzzemit.FUZZERS:
        raise ConfigError(f"{option}: {name}'s inputs do not translate to cases for a "
                          "real target (fuzz_shmem_map's, fuzz_shmem_sequence's and "
                          "fuzz_backend_replies' do)")


def translate(name, data, regions=None):
    """(id, case text) for one input, or (None, None) when no case says it."""
    check_fuzzer(name, "--to-cases")
    with tempfile.TemporaryDirectory(prefix="vhucheck-fuzzcase-") as d:
        src = os.path.join(d, "input")
        with open(src, "wb") as f:
            f.write(data)
        got = fuzzemit.emit(name, [src], os.path.join(d, "out"), regions)
        if not got or got[0][0] not in ("case", "dup"):
            return None, None
        with open(os.path.join(d, "out", got[0][1] + ".vhu"), encoding="utf-8") as f:
            return got[0][1], f.read()


def area_name(name):
    return f"Z-fuzz-{name[5:].replace('_', '-')}"


def write_cases(name, corpus, dest, regions=None):
    """Writes dest/Z-fuzz-<target>/<id>.vhu for each input (with its .input
    and .steps); returns (written, skipped, duplicates)."""
    check_regions(regions)
    check_fuzzer(name, "--to-cases")
    if not os.path.isdir(corpus):
        raise ConfigError(f"--corpus {corpus}: no such directory")
    area = os.path.join(dest, area_name(name))
    os.makedirs(dest, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".vhucheck-fuzzcase-", dir=dest) as tmp:
        got = fuzzemit.emit(name, [corpus], tmp, regions)
        os.makedirs(area, exist_ok=True)
        for f in os.listdir(tmp):
            os.replace(os.path.join(tmp, f), os.path.join(area, f))
    kinds = [k for k, _ in got]
    return kinds.count("case"), kinds.count("skip"), kinds.count("dup")


def copy_case(case_dir, case_id, dest):
    """The case and its .input and .steps into dest (a finding's directory)."""
    os.makedirs(dest, exist_ok=True)
    for ext in ("vhu", "input", "steps"):
        src = os.path.join(case_dir, f"{case_id}.{ext}")
        if os.path.exists(src):
            shutil.copy(src, dest)
