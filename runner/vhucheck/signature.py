"""Crash signatures: what makes two failures the same bug.

One code for `run`, `fuzz` and `compare` (docs/runner.md, "Crash
signatures"). A signature is the verdict, the signal (or exit status),
the first diagnostic line of the target's stderr with addresses and
numbers taken out (an assertion, a sanitizer's report, a Rust panic),
and, when the stderr holds a backtrace, its top frames:

    CRASH SIGSEGV: (no diagnostic) @ vhost_user_backend_handle_shmem_map < backend_read

Backtraces come from the sanitizers' own reports, a Rust panic's
RUST_BACKTRACE, gdb's `bt` text, or `--backtrace`'s preloaded unwinder
(targets/crashtrace), whose raw addresses are symbolised here with
addr2line. Frames of the crash machinery (libc's abort and raise, the
sanitizers, glib's assertion helpers, the unwinder itself) are skipped.
Inlined functions are frames of their own, innermost first, as gdb shows
them: in an optimised build the function that crashed is often inlined
into its caller (QEMU's SHMEM_MAP and SHMEM_UNMAP handlers into
backend_read), and only the inlined frame tells them apart.
"""

import hashlib
import os
import re
import shutil
import subprocess

TOP_FRAMES = 3
STDERR_MAX = 1 << 20              # bytes read from the end of a stderr file
ADDR2LINE_TIMEOUT_S = 60
DIAG = re.compile(r"(Assertion .*failed|assertion failed.*|runtime error:.*"
                  r"|ERROR: (?:Address|Leak|Thread|Memory|UndefinedBehavior)Sanitizer: \S+"
                  r"(?: \S+)?|panicked at .*|Segmentation fault|[Aa]borted|\bBUG\b.*|FATAL.*"
                  r"|fatal.*|ERROR:.*assertion.*|\*\*\s*ERROR\s*\*\*.*)")
SKIP_FUNC = re.compile(r"^(abort|raise|__GI_|__pthread|pthread_kill|__restore_rt|__assert"
                       r"|__libc|_start$|main$|__sanitizer|__asan|__ubsan|__lsan|__interceptor"
                       r"|g_assertion|g_assert|g_log|_g_log|std::panicking|core::panicking"
                       r"|rust_panic|rust_begin_unwind|core::option::|core::result::|std::sys|std::rt::|__rust|fuzz_finding|fuzzer::|LLVMFuzzerTestOneInput"
                       r"|replay_|driver_|\?\?$)")
SKIP_MODULE = re.compile(r"(/|^)(libc\.so|libpthread\.so|ld-linux[^/]*\.so|libgcc_s\.so"
                         r"|libvhu-crashtrace\.so|libasan\.so|libubsan\.so)")
TRACE = re.compile(r"vhucheck-crashtrace: (begin|frame|end)(.*)")
ASAN_FRAME = re.compile(r"^\s*#(\d+) 0x[0-9a-fA-F]+ in (\S+)(?: (\S+))?")
GDB_FRAME = re.compile(r"^#(\d+)\s+(?:0x[0-9a-fA-F]+ in )?(\S+) \(.*?\)(?: at (\S+))?")
RUST_FRAME = re.compile(r"^\s+(\d+): (\S.*)$")
SIGNALS = {4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL",
           11: "SIGSEGV", 13: "SIGPIPE", 15: "SIGTERM"}


def normalize(msg):
    """Addresses and values out; rule numbers ("6:", "12H:") kept."""
    msg = re.sub(r"0x[0-9a-fA-F]+", "N", msg)
    return re.sub(r"\b\d+\b(?![A-Z]?[:/])", "N", msg).strip()


def signal_name(sig):
    if isinstance(sig, str):
        return sig
    return SIGNALS.get(sig, f"signal {sig}") if sig else ""


def read_stderr(path):
    """The end of a stderr capture ('' when absent): a backtrace is at the end."""
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - STDERR_MAX))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def diagnostic(text):
    """The first diagnostic line, normalised, or ''."""
    for line in text.splitlines():
        if line.startswith("vhucheck-crashtrace:"):
            continue
        m = DIAG.search(line)
        if m:
            return normalize(m.group(0))[:160]
    return ""


def diagnostic_lines(text, limit=8):
    """The stderr lines a reader wants beside a signature: the diagnostics,
    as written (not normalised), without the raw backtrace."""
    out = [ln for ln in text.splitlines()
           if DIAG.search(ln) and not ln.startswith("vhucheck-crashtrace:")]
    return out[:limit]


class Symbolizer:
    """Raw addresses to function names with addr2line, cached per run
    (the same crash repeats across cases)."""

    def __init__(self, tool=None):
        self.tool = tool if tool is not None else shutil.which("addr2line")
        self.cache = {}
        self.elf_kind = {}

    def _is_pie(self, module):
        if module not in self.elf_kind:
            try:
                with open(module, "rb") as f:
                    head = f.read(18)
                self.elf_kind[module] = head[:4] == b"\x7fELF" and head[16] == 3   # ET_DYN
            except OSError:
                self.elf_kind[module] = True
        return self.elf_kind[module]

    def resolve(self, items):
        """items: [(module, base, addr, exact)] -> {(module, addr): [(func, loc)]},
        the inlined chain of each address, innermost first."""
        want = {}
        for module, base, addr, exact in items:
            key = (module, addr)
            if key in self.cache or not module:
                continue
            rel = addr - base if self._is_pie(module) else addr
            want.setdefault(module, []).append((key, rel if exact else rel - 1))
        for module, keys in want.items():
            names = self._addr2line(module, [rel for _, rel in keys])
            for (key, _), name in zip(keys, names):
                self.cache[key] = name
        return {(m, a): self.cache.get((m, a), [("??", "")]) for m, _, a, _ in items}

    def _addr2line(self, module, rels):
        """The inlined chain [(function, file:line)] of each address. A
        marker address (0, no symbol) separates the answers."""
        unknown = [("??", "")]
        if not self.tool or not os.path.exists(module):
            return [unknown] * len(rels)
        args = [self.tool, "-f", "-i", "-C", "-e", module]
        for r in rels:
            args += [hex(r), "0x0"]   # 0x0 answers "??" and ends each chain
        try:
            out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True, timeout=ADDR2LINE_TIMEOUT_S).stdout
        except (OSError, subprocess.TimeoutExpired):
            return [unknown] * len(rels)
        lines = out.splitlines()
        answers, chain, i = [], [], 0
        while i + 1 < len(lines):
            func, loc = lines[i], lines[i + 1]
            i += 2
            if func == "??" and loc.startswith("??:") and not chain:
                answers.append(unknown)        # an address with no symbol
                if i + 1 < len(lines) and lines[i] == "??":
                    i += 2                     # and its marker
                continue
            if func == "??" and loc.startswith("??:"):
                answers.append(chain)
                chain = []
                continue
            chain.append((func, loc))
        while len(answers) < len(rels):
            answers.append(unknown)
        return answers[:len(rels)]


def _crashtrace_frames(text):
    """The last crashtrace block: [(module, base, addr, exact)] and the signal."""
    blocks, cur, pc, sig = [], None, 0, 0
    for line in text.splitlines():
        m = TRACE.match(line)
        if not m:
            continue
        kind, rest = m.group(1), m.group(2)
        if kind == "begin":
            cur = []
            pc = int((re.search(r"pc=(0x[0-9a-f]+)", rest) or [0, "0x0"])[1], 16)
            sig = int((re.search(r"signal=(\d+)", rest) or [0, "0"])[1])
        elif kind == "frame" and cur is not None:
            f = re.match(r" (0x[0-9a-f]+)(?: base=(0x[0-9a-f]+) (.*))?", rest)
            if f:
                addr = int(f.group(1), 16)
                cur.append((f.group(3) or "", int(f.group(2) or "0", 16), addr, addr == pc))
        elif kind == "end" and cur is not None:
            blocks.append((cur, sig))
            cur = None
    if cur:
        blocks.append((cur, sig))     # cut short: still worth reading
    if not blocks:
        return [], 0
    frames, sig = blocks[-1]
    # The handler's own frames and the signal trampoline come first: the
    # stack starts at the interrupted instruction.
    exact = [i for i, f in enumerate(frames) if f[3]]
    return frames[exact[0]:] if exact else frames, sig


def text_frames(text):
    """(frames [(func, loc, module)], source) of the first stack a tool
    printed in text form: a sanitizer, gdb, or a Rust backtrace."""
    for pattern, source in ((ASAN_FRAME, "sanitizer"), (GDB_FRAME, "gdb")):
        out = []
        for line in text.splitlines():
            m = pattern.match(line)
            if m:
                if m.group(1) == "0" and out:
                    break
                out.append((m.group(2), m.group(3) or "", ""))
        if out:
            return out, source
    out, lines = [], text.splitlines()
    if any("stack backtrace:" in ln for ln in lines):
        for i, line in enumerate(lines):
            m = RUST_FRAME.match(line)
            if m:
                at = lines[i + 1].strip() if i + 1 < len(lines) else ""
                func = re.sub(r"::h[0-9a-f]{16}$", "", m.group(2).strip())
                out.append((func, at[3:] if at.startswith("at ") else "", ""))
        if out:
            return out, "Rust panic backtrace"
    return [], ""


def backtrace(text, sym):
    """(frames [(func, loc, module)], source) of the stderr text: the
    preloaded unwinder's block, symbolised, else a tool's own stack."""
    raw, _ = _crashtrace_frames(text)
    if raw:
        names = sym.resolve(raw) if sym else {}
        frames = [(func, loc, m) for m, _, a, _ in raw
                  for func, loc in names.get((m, a), [("??", "")])]
        how = "in-process unwinder (--backtrace), addr2line" if sym and sym.tool else \
              "in-process unwinder (--backtrace), not symbolised: no addr2line"
        return frames, how
    return text_frames(text)


def top_frames(frames, n=TOP_FRAMES):
    out = []
    for func, _, module in frames:
        if SKIP_FUNC.match(func) or (module and SKIP_MODULE.search(module)):
            continue
        if out and out[-1] == func:
            continue
        out.append(func)
        if len(out) == n:
            break
    return out


def render_backtrace(frames):
    return "\n".join(f"#{i} {func} {loc}".rstrip() + (f"  [{os.path.basename(mod)}]" if mod else "")
                     for i, (func, loc, mod) in enumerate(frames))


def make(verdict, *, sig=None, exit_code=None, reason="", stderr="", sym=None):
    """The signature of one failure: {"id", "text", "verdict", "signal",
    "diagnostic", "frames", "stderr", "backtrace", "backtrace_source"}."""
    diag = diagnostic(stderr)
    frames, source = backtrace(stderr, sym)
    top = top_frames(frames)
    if verdict == "CRASH":
        how = signal_name(sig) or (f"exit {exit_code}" if exit_code is not None else "")
        head = f"CRASH {how}".rstrip()
        what = diag or "(no diagnostic)"
    else:
        head = verdict
        what = diag or normalize(reason.splitlines()[0] if reason else "")[:160] \
            or "(no diagnostic)"
    text = f"{head}: {what}" + (f" @ {' < '.join(top)}" if top else "")
    return {"id": hashlib.sha1(text.encode()).hexdigest()[:8], "text": text,
            "verdict": verdict, "signal": signal_name(sig) or None, "diagnostic": diag,
            "frames": top, "stderr": diagnostic_lines(stderr),
            "backtrace": render_backtrace(frames[:32]) if frames else "",
            "backtrace_source": source or None}


def of_result(verdict, target, reason, stderr_text, sym=None):
    """The signature of a case result (the harness's target object), for
    the verdicts that name a bug in the target: CRASH, and a sanitizer or
    panic report whatever the verdict. None otherwise."""
    target = target or {}
    if verdict != "CRASH" and not diagnostic(stderr_text):
        return None
    return make(verdict if verdict == "CRASH" else verdict, sig=target.get("signal"),
                exit_code=target.get("exit"), reason=reason, stderr=stderr_text, sym=sym)


def group(cases):
    """CRASH verdicts by signature: [{"id", "text", "cases", "shortest",
    "signature"}], most cases first. The shortest case is the one with
    the fewest script lines: the first to read, the first to reduce."""
    groups = {}
    for c in cases:
        s = c.get("crash")
        if c.get("verdict") != "CRASH" or not s:
            continue
        g = groups.setdefault(s["id"], {"id": s["id"], "text": s["text"], "cases": [],
                                         "signature": s})
        g["cases"].append(c["id"])
    by_id = {c["id"]: c for c in cases}
    for g in groups.values():
        g["shortest"] = min(g["cases"], key=lambda cid: (_steps(by_id[cid]), cid))
    return sorted(groups.values(), key=lambda g: (-len(g["cases"]), g["text"]))


def _steps(case):
    script = case.get("script") or ""
    return sum(1 for ln in script.splitlines() if ln.strip() and not ln.lstrip().startswith("#"))


def summary_line(cases):
    """'21 CRASH, 4 distinct' or ''."""
    n = sum(1 for c in cases if c.get("verdict") == "CRASH")
    if not n:
        return ""
    return f"{n} CRASH, {len(group(cases))} distinct"


def summaries(cases):
    """The distinct crashes of a run as results.json keeps them
    (docs/results-schema.md), most cases first."""
    out = []
    for g in group(cases):
        s = g["signature"]
        out.append({"id": g["id"], "text": g["text"], "cases": g["cases"],
                    "shortest": g["shortest"], "signal": s.get("signal"),
                    "diagnostic": s.get("diagnostic"), "frames": s.get("frames"),
                    "stderr": s.get("stderr"), "backtrace": s.get("backtrace"),
                    "backtrace_source": s.get("backtrace_source")})
    return out


def of_doc(doc):
    """A results document's distinct crashes (computed for a file written
    before they were kept)."""
    sigs = doc.get("signatures")
    return sigs if isinstance(sigs, list) else summaries(doc.get("cases", []))
