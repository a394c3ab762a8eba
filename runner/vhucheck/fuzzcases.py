"""A fuzz corpus as cases: every input written as a .vhu case.

The fuzz targets drive the reference in process; a real implementation
(QEMU, libvhost-user, a rust-vmm daemon) cannot be driven that way. What
the fuzzers grew against the reference can still be replayed against it:
each input becomes a case by the same translation a finding's reproducer
uses (the input's messages after the same handshake and state), ending
with `check alive`. A front-end must survive whatever a back-end sends,
(digest 8, 10), so a CRASH,
TIMEOUT or DEADLOCK there is a finding the fuzzers could not make
themselves:

    ./vhucheck fuzz shmem_map --to-cases /tmp/fc            # corpus/fuzz_shmem_map
    ./vhucheck fuzz shmem_map --to-cases /tmp/fc --corpus reports/out/fuzz-.../corpus
    VHUCHECK_SUITES=/tmp/fc ./vhucheck run --target qemu-shmem

A target that refuses the rigs' regions (1m,64k,0,2m) gets others with
--regions (QEMU with the v11 series aborts unless they add up to a power
of two, and with more than four: --regions 1m,1m,0,2m); the inputs' bytes
stay as the fuzzer sent them, so ranges aimed at shmid 1's end then land
inside it. Inputs with no message are skipped and counted; identical cases are
written once. The front-end fuzzers only: fuzz_backend_replies' inputs
ask the back-end for its MAPs over the control channel, which no real
back-end speaks (and fuzz_proto's and fuzz_script's are no messages).
"""

import hashlib
import os
import re

from vhucheck import fuzz
from vhucheck.errors import ConfigError

PLACEHOLDER = "fuzzcorpus_case_id_placeholder"


def case_id(name, vhu_body):
    """fuzzcorpus_<target>_<12 hex of the case>: stable across runs, so a
    case that fails keeps its name while the corpus grows around it."""
    digest = hashlib.sha1(vhu_body.encode()).hexdigest()[:12]
    return f"fuzzcorpus_{name[5:]}_{digest}"


def inputs(corpus):
    if not os.path.isdir(corpus):
        raise ConfigError(f"--corpus {corpus}: no such directory")
    for f in sorted(os.listdir(corpus)):
        p = os.path.join(corpus, f)
        if os.path.isfile(p) and not f.startswith("."):
            with open(p, "rb") as fh:
                yield f, fh.read()


# The fuzz rigs' regions (ferig_default_sizes), as the cases say them.
RIG_REGIONS = "regions=1m,64k,0,2m"
REGIONS_LIST = re.compile(r"^(0|[1-9][0-9]*[kmg]?|0x[0-9a-f]+)(,(0|[1-9][0-9]*[kmg]?|0x[0-9a-f]+))*$")


def check_regions(regions):
    if regions is not None and not REGIONS_LIST.match(regions):
        raise ConfigError(f"--regions {regions!r}: not a list of sizes like 1m,1m,0,2m")
    return regions


def translate(name, data, regions=None):
    """The case text for one input, or None. The id comes from the body,
    written with a placeholder first. regions: the handshake's sizes in
    place of the rigs' (a target may refuse theirs: QEMU v11 aborts unless
    they add up to a power of two)."""
    draft = fuzz.reproducer(name, data, PLACEHOLDER, None, [])
    if draft is None or "\nsend " not in draft and "\ncontrol " not in draft:
        return None, None
    if regions:
        draft = draft.replace(RIG_REGIONS, f"regions={regions}")
    cid = case_id(name, draft)
    return cid, draft.replace(PLACEHOLDER, cid)


def write_cases(name, corpus, dest, regions=None):
    """Writes dest/Z-fuzz-<target>/<id>.vhu for each input; returns
    (written, skipped, duplicates)."""
    check_regions(regions)
    if name not in ("fuzz_shmem_map", "fuzz_shmem_sequence"):
        raise ConfigError(f"--to-cases: {name}'s inputs do not translate to cases for a "
                          "real target (fuzz_shmem_map's and fuzz_shmem_sequence's do; "
                          "fuzz_backend_replies' need the control channel, which real "
                          "back-ends do not speak)")
    area = os.path.join(dest, f"Z-fuzz-{name[5:].replace('_', '-')}")
    os.makedirs(area, exist_ok=True)
    written, skipped, dups, seen = 0, 0, 0, set()
    for _, data in inputs(corpus):
        cid, text = translate(name, data, regions)
        if cid is None:
            skipped += 1
            continue
        if cid in seen:
            dups += 1
            continue
        seen.add(cid)
        tmp = os.path.join(area, f".{cid}.vhu.tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(area, f"{cid}.vhu"))
        written += 1
    return written, skipped, dups
