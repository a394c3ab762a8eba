"""The fault catalogue (targets/faults/catalogue.ini): the switches the
reference targets take with --fault NAME, and the cases meant to catch
each one. One section per fault: role, class, rule, cases."""

import configparser
import difflib
import dataclasses
import re

from vhucheck import paths
from vhucheck.errors import ConfigError

ROLES = ("frontend", "backend")
REQUIRED = ("role", "class", "rule", "cases")


@dataclasses.dataclass(frozen=True)
class Fault:
    name: str
    role: str       # the role of the reference target that has the fault
    klass: str
    rule: str
    cases: tuple    # the case ids expected to catch it

    def as_dict(self):
        return {"name": self.name, "role": self.role, "class": self.klass,
                "rule": self.rule, "cases": list(self.cases)}


def _role(path, name, value):
    role = value.strip()
    if role.startswith("ref-"):
        role = role[4:]
    if role not in ROLES:
        raise ConfigError(f"{path}: [{name}] 'role' must be frontend or backend, "
                          f"not {value!r}")
    return role


def load(path=None):
    """Every fault, by name, in file order."""
    path = path or paths.fault_catalogue()
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no fault catalogue (the reference targets are "
                          "not built into this tree yet?)") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    except configparser.Error as e:
        msg = " ".join(str(e).split())
        raise ConfigError(f"{path}: not a valid catalogue: {msg}") from None
    faults = {}
    for name in parser.sections():
        sec = parser[name]
        for key in REQUIRED:
            if not sec.get(key, "").strip():
                raise ConfigError(f"{path}: [{name}] lacks '{key}'")
        faults[name] = Fault(name=name, role=_role(path, name, sec["role"]),
                             klass=sec["class"].strip(),
                             rule=" ".join(sec["rule"].split()),
                             cases=tuple(c for c in re.split(r"[\s,]+", sec["cases"]) if c))
    return faults


def lookup(faults, name, catalogue_path=None):
    if name not in faults:
        near = difflib.get_close_matches(name, list(faults), n=3)
        hint = f" (did you mean {', '.join(near)}?)" if near else \
            f" ({paths.command()} faults lists them)"
        raise ConfigError(f"--fault {name}: not in the fault catalogue{hint}")
    return faults[name]
