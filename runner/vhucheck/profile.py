"""Target profiles: one TOML file per program under test.

Validation is strict on purpose: a typo in a CI profile must stop the run
with one line naming the file and the key, not silently test something
else. See docs/runner.md for the schema.
"""

import dataclasses
import os
import re
import shlex
import shutil
import tomllib

from vhucheck import paths
from vhucheck.errors import ConfigError

ROLES = ("frontend", "backend")
OTHER_ROLE = {"frontend": "backend", "backend": "frontend"}
ISOLATIONS = ("process", "serial", "none")
LISTENERS = ("harness", "target")
PLACEHOLDERS = ("fd", "socket", "control", "shmem_bit", "build", "top", "state")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DEFAULT_SHMEM_BIT = 22
# key: (accepted python types, what to say when the type is wrong)
KEYS = {
    "name": ((str,), "a string"),
    "description": ((str,), "a string"),
    "role": ((str,), "a string"),
    "command": ((str, list), "a string or an array of strings"),
    "connect": ((str,), "a string"),
    "listen": ((str,), "a string"),
    "shmem_bit": ((int,), "an integer"),
    "env": ((dict,), "a table"),
    "timeout_multiplier": ((int, float), "a number"),
    "expectations": ((str,), "a string"),
    "isolation": ((str,), "a string"),
    "faults": ((bool,), "a boolean"),
    "regions": ((str,), "a string"),
}


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    path: str
    role: str                  # the TARGET's role
    description: str = ""
    command: str = None        # with placeholders, {build} not yet expanded
    connect: str = None
    listen: str = None         # who listens on {socket} / connect
    shmem_bit: int = None
    env: tuple = ()            # ((key, value), ...)
    timeout_multiplier: float = 1.0
    expectations: str = None   # absolute path
    isolation: str = "process"
    faults: bool = False
    regions: str = None        # the region sizes fuzz cases offer it (fuzz --against)

    @property
    def harness_role(self):
        """The role the harness plays: the other one."""
        return OTHER_ROLE[self.role]

    def parallel(self):
        """Whether cases of this target may run side by side."""
        return self.isolation == "process"


def _fail(path, key, msg):
    where = f"{path}: '{key}'" if key else path
    raise ConfigError(f"{where}: {msg}")


def check_placeholders(path, key, text, allowed=PLACEHOLDERS):
    """Every {name} must be a known placeholder; braces must pair up."""
    names = []
    for m in re.finditer(r"\{([^{}]*)\}|[{}]", text):
        if m.group(1) is None:
            _fail(path, key, f"unbalanced '{m.group(0)}' in {text!r}")
        if m.group(1) not in allowed:
            known = ", ".join("{" + p + "}" for p in allowed)
            _fail(path, key, f"unknown placeholder {{{m.group(1)}}} (known: {known})")
        names.append(m.group(1))
    return names


def _check_types(path, data):
    for key, value in data.items():
        if key not in KEYS:
            _fail(path, key, f"unknown key (known: {', '.join(KEYS)})")
        types, what = KEYS[key]
        # TOML booleans are python ints: refuse them where numbers are wanted.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            _fail(path, key, f"must be {what}, not {_toml_type(value)}")


def _toml_type(value):
    return {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


_PLAIN_WORD = re.compile(r"[\w@%+=:,./{}-]+")


def _join_words(words):
    """shlex.join, but words of plain characters and placeholders stay
    unquoted: the harness fills {socket} and friends only outside quotes."""
    return " ".join(w if _PLAIN_WORD.fullmatch(w) else shlex.quote(w) for w in words)


def _command(path, data):
    cmd = data["command"]
    if isinstance(cmd, list):
        if not cmd or not all(isinstance(a, str) for a in cmd):
            _fail(path, "command", "an array command must be non-empty strings")
        cmd = _join_words(cmd)
    if not cmd.strip():
        _fail(path, "command", "is empty")
    try:
        shlex.split(cmd)
    except ValueError as e:
        _fail(path, "command", f"cannot be split into words: {e}")
    names = check_placeholders(path, "command", cmd)
    if "fd" in names and "socket" in names:
        _fail(path, "command", "uses both {fd} and {socket}; pick one channel")
    if "fd" not in names and "socket" not in names:
        _fail(path, "command", "has neither {fd} nor {socket}: the target could "
                               "not reach the harness")
    return cmd, names


def _channel(path, data):
    """command/connect/listen/isolation: which one, who listens, in parallel?"""
    has_cmd, has_connect = "command" in data, "connect" in data
    if has_cmd == has_connect:
        _fail(path, "command", "give exactly one of 'command' (vhucheck launches "
                               "the target) or 'connect' (it is already running)")
    listen = data.get("listen")
    if listen is not None and listen not in LISTENERS:
        _fail(path, "listen", f"must be one of {', '.join(LISTENERS)}, not {listen!r}")
    isolation = data.get("isolation")
    if isolation is not None and isolation not in ISOLATIONS:
        _fail(path, "isolation", f"must be one of {', '.join(ISOLATIONS)}, not {isolation!r}")
    if has_connect:
        connect = data["connect"]
        if not os.path.isabs(connect):
            _fail(path, "connect", f"must be an absolute socket path, not {connect!r}")
        if isolation not in (None, "none"):
            _fail(path, "isolation", "a 'connect' target is shared by every case: "
                                     "isolation must be \"none\"")
        return None, connect, listen or "target", "none"
    cmd, names = _command(path, data)
    if listen is not None and "socket" not in names:
        _fail(path, "listen", "only applies to a command with {socket} or to 'connect'")
    if isolation == "none":
        _fail(path, "isolation", "\"none\" needs 'connect'; a launched target gets a "
                                 "fresh process per case (\"process\" or \"serial\")")
    if "socket" in names and listen is None:
        # The back-end listens, as vhost-user daemons do.
        listen = "harness" if data["role"] == "frontend" else "target"
    return cmd, None, listen, isolation or "process"


def _env(path, table):
    out = []
    for key, value in table.items():
        if not ENV_RE.match(key):
            _fail(path, "env", f"{key!r} is not a valid environment variable name")
        if not isinstance(value, str):
            _fail(path, "env", f"{key} must be a string, not {_toml_type(value)}")
        check_placeholders(path, f"env.{key}", value, ("build", "top", "state", "shmem_bit"))
        out.append((key, value))
    return tuple(out)


def from_dict(path, data):
    """Validate a parsed profile; ConfigError names path and key."""
    _check_types(path, data)
    for key in ("name", "role"):
        if key not in data:
            _fail(path, key, "is required")
    if not NAME_RE.match(data["name"]):
        _fail(path, "name", f"{data['name']!r} must match [a-z0-9][a-z0-9._-]*")
    if data["role"] not in ROLES:
        _fail(path, "role", f"must be frontend or backend (the target's role), "
                            f"not {data['role']!r}")
    command, connect, listen, isolation = _channel(path, data)
    bit = data.get("shmem_bit")
    if bit is not None and not 0 <= bit <= 63:
        _fail(path, "shmem_bit", f"{bit} is not a protocol feature bit (0..63)")
    mult = float(data.get("timeout_multiplier", 1.0))
    if not 0 < mult <= 100:
        _fail(path, "timeout_multiplier", f"{mult} must be > 0 and <= 100")
    expect = data.get("expectations")
    if expect is not None:
        raw, expect = expect, os.path.join(os.path.dirname(os.path.abspath(path)), expect)
        if not os.path.isfile(expect):
            _fail(path, "expectations", f"{raw}: no such file (paths are relative to "
                                        "the profile's directory)")
    regions = data.get("regions")
    if regions is not None and not re.fullmatch(r"(0|[1-9][0-9]*[kmg]?|0x[0-9a-f]+)"
                                                r"(,(0|[1-9][0-9]*[kmg]?|0x[0-9a-f]+))*", regions):
        _fail(path, "regions", f"{regions!r} is not a list of sizes like 1m,1m,0,2m")
    if "faults" in data and data["faults"] and connect:
        _fail(path, "faults", "a 'connect' target is not launched; it cannot take --fault")
    return Profile(name=data["name"], path=os.path.abspath(path), role=data["role"],
                   description=data.get("description", ""), command=command,
                   connect=connect, listen=listen, shmem_bit=bit,
                   env=_env(path, data.get("env", {})), timeout_multiplier=mult,
                   expectations=expect, isolation=isolation,
                   faults=data.get("faults", False), regions=regions)


def load(path):
    """Read and validate one profile file."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such profile") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    return from_dict(path, data)


def shipped():
    """Paths of the profiles in the profile dir, sorted by name."""
    d = paths.profiles_dir()
    try:
        names = sorted(n for n in os.listdir(d) if n.endswith(".toml"))
    except OSError:
        return []
    return [os.path.join(d, n) for n in names]


def resolve(spec):
    """--target NAME (a shipped profile) or --target PATH.toml."""
    if spec.endswith(".toml") or os.sep in spec:
        return load(spec)
    if not NAME_RE.match(spec):
        raise ConfigError(f"--target {spec!r}: not a profile name or a .toml path")
    path = os.path.join(paths.profiles_dir(), spec + ".toml")
    if not os.path.isfile(path):
        known = ", ".join(os.path.basename(p)[:-5] for p in shipped()) or "none"
        raise ConfigError(f"--target {spec}: no such target (known: {known})")
    prof = load(path)
    if prof.name != spec:
        raise ConfigError(f"{path}: 'name' is {prof.name!r} but the file is {spec}.toml")
    return prof


def known_names(profiles):
    """Every target name an expectations file may have a table for: the
    given profiles', the profile dir's, and those of the profiles next to
    a given one (one file for a user's several targets)."""
    names = {p.name for p in profiles}
    for d in {paths.profiles_dir()} | {os.path.dirname(p.path) for p in profiles}:
        try:
            files = [os.path.join(d, n) for n in os.listdir(d) if n.endswith(".toml")]
        except OSError:
            continue
        for path in files:
            try:
                with open(path, "rb") as f:
                    data = tomllib.load(f)
            except (OSError, tomllib.TOMLDecodeError):
                continue
            if isinstance(data.get("name"), str) and "role" in data:
                names.add(data["name"])
    return names


def expand(text, build, shmem_bit, quote=True):
    """Fill in the placeholders the runner owns ({build}, {top}: the
    project's root, installed its data dir; {state}: a writable dir that
    outlives the case, paths.state_dir(); {shmem_bit} unless
    shmem_bit is None, which leaves it to the harness, per case); the
    harness fills {fd}, {socket} and {control} per case. Commands get the
    build dir shell-quoted, environment values get it as is."""
    text = text.replace("{build}", shlex.quote(build) if quote else build)
    text = text.replace("{top}", shlex.quote(paths.top()) if quote else paths.top())
    if "{state}" in text:
        state = paths.state_dir()
        text = text.replace("{state}", shlex.quote(state) if quote else state)
    return text if shmem_bit is None else text.replace("{shmem_bit}", str(shmem_bit))


def per_case_bit(profile):
    """Whether the target takes any SHMEM bit on its command line, so the
    harness fills {shmem_bit} per case with the case's own handshake
    shmem-bit= (the references do). A profile that sets shmem_bit
    describes a target built for one bit: the runner writes that bit in,
    and cases on another bit are UNSUPPORTED."""
    return (profile.shmem_bit is None and profile.command is not None
            and "{shmem_bit}" in profile.command)


def effective_shmem_bit(profile, override=None):
    """The bit for cases whose handshake names none (--shmem-bit, else the
    profile's, else 22)."""
    if override is not None:
        return override
    return profile.shmem_bit if profile.shmem_bit is not None else DEFAULT_SHMEM_BIT


def program(profile, build):
    """The program a launched profile runs: the first word of its command,
    {build} and {top} filled in (the harness execs it, searching PATH)."""
    words = shlex.split(expand(profile.command, build, None))
    return words[0] if words else ""


def program_problem(profile, build, environ=None):
    """Why the program of a launched profile cannot be run, or None: no
    such file, not executable, or a bare name not on PATH (the profile's
    own env may set PATH). A profile whose program is a launcher (sh,
    vhu-qtest) is checked as far as the launcher: what it runs next is
    its own to report (exec-*'s command is checked by run --command,
    vhu-qtest names an unset VHUCHECK_QEMU)."""
    if not profile.command:
        return None
    prog = program(profile, build)
    env = dict(environ if environ is not None else os.environ)
    env.update({k: expand(v, build, None, quote=False) for k, v in profile.env})
    if os.sep in prog:
        if os.path.isfile(prog) and os.access(prog, os.X_OK):
            return None
        why = "not executable" if os.path.exists(prog) else "no such file"
        if not os.path.exists(prog) and \
                os.path.abspath(prog).startswith(os.path.abspath(build) + os.sep):
            why = (f"not installed in {paths.relpath(build)}; the profile's comments say "
                   "how to build it" if paths.installed() else
                   f"not built in {paths.relpath(build)}; the profile's comments say "
                   "how to build it")
        return f"{paths.relpath(prog)}: no such program ({why})"
    if not shutil.which(prog, path=env.get("PATH", os.defpath)):
        return f"{prog}: no such program (not on PATH)"
    return None


def check_program(profile, build, environ=None):
    """ConfigError naming the profile when its program cannot be run: one
    line before anything runs, not an ERROR in every case."""
    why = program_problem(profile, build, environ)
    if why:
        _fail(paths.relpath(profile.path), "command", why)
