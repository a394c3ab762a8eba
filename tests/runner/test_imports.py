"""The runner's import graph (runner/vhucheck, read with ast): no cycle,
counting every import wherever it is written (inside a function too), so
a cycle cannot be hidden by importing late."""

import ast
import os
import tempfile
import unittest

from helpers import RUNNER

PACKAGE = "vhucheck"


def modules(root=RUNNER, package=PACKAGE):
    """{dotted module name: path} for every .py file of the package."""
    found = {}
    for d, _, files in os.walk(os.path.join(root, package)):
        for f in files:
            if not f.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(d, f), root)[:-3].split(os.sep)
            if rel[-1] == "__init__":
                rel = rel[:-1]
            found[".".join(rel)] = os.path.join(d, f)
    return found


def resolve(name, mods):
    """The longest prefix of a dotted name that is a module of ours."""
    parts = name.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in mods:
            return cand
        parts.pop()
    return None


def imports_of(mod, path, mods):
    """The modules of ours that MOD imports, anywhere in its file.
    `from P import X` is an import of P.X when that is a module, else of P;
    relative imports are resolved against MOD's package."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    is_pkg = os.path.basename(path) == "__init__.py"
    here = mod.split(".") if is_pkg else mod.split(".")[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out.add(resolve(a.name, mods))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level + 1]
                src = ".".join(base + ([node.module] if node.module else []))
            else:
                src = node.module or ""
            for a in node.names:
                sub = f"{src}.{a.name}"
                out.add(sub if sub in mods else resolve(src, mods))
    out.discard(None)
    out.discard(mod)
    return out


def graph(root=RUNNER, package=PACKAGE):
    mods = modules(root, package)
    return {m: imports_of(m, p, mods) for m, p in sorted(mods.items())}


def parents(mod):
    """A module's enclosing packages: importing a.b.c runs a/__init__ and
    a/b/__init__ first; those edges are Python's, not a cycle of ours."""
    parts = mod.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def find_cycle(g):
    """One cycle of G as a list [a, b, ..., a], or None (depth-first)."""
    state = {}
    stack = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in sorted(g.get(m, ())):
            if n in parents(m):
                continue
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state:
                c = visit(n)
                if c:
                    return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(g):
        if m not in state:
            c = visit(m)
            if c:
                return c
    return None


def late_imports(root=RUNNER, package=PACKAGE):
    """file:line of every import of a module of ours written inside a
    function or class: the way a cycle is usually hidden."""
    mods = modules(root, package)
    found = []
    for mod, path in sorted(mods.items()):
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=path)
        for top in tree.body:
            if not isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            for node in ast.walk(top):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and \
                        (node.level or imports_of_node(node, mods)):
                    found.append(f"{os.path.relpath(path, root)}:{node.lineno}")
    return found


def imports_of_node(node, mods):
    names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
    return [n for n in names if resolve(n, mods)]


class TestImportGraph(unittest.TestCase):
    def test_no_cycle(self):
        g = graph()
        self.assertGreater(len(g), 30)
        c = find_cycle(g)
        self.assertIsNone(c, "import cycle in runner/vhucheck: " + " -> ".join(c or []))

    def test_no_late_import(self):
        self.assertEqual(late_imports(), [], "imports of vhucheck modules inside a function "
                         "(import at the top; a cycle is fixed by moving code, not hiding it)")

    def test_finds_a_cycle_through_a_late_import(self):
        """The check itself: a cycle closed by an import inside a function,
        or by a relative import, is found and named."""
        with tempfile.TemporaryDirectory() as tmp:
            pkg = os.path.join(tmp, "p")
            os.makedirs(os.path.join(pkg, "sub"))
            for name, text in (("__init__.py", ""), ("a.py", "from p import b\n"),
                               ("b.py", "def f():\n    from p.sub import c\n"),
                               ("sub/__init__.py", ""), ("sub/c.py", "from .. import a\n"),
                               ("d.py", "import p.a\n")):
                with open(os.path.join(pkg, name), "w", encoding="utf-8") as f:
                    f.write(text)
            g = graph(tmp, "p")
            self.assertEqual(g["p.d"], {"p.a"})
            self.assertEqual(find_cycle(g), ["p.a", "p.b", "p.sub.c", "p.a"])
            self.assertEqual(late_imports(tmp, "p"), [os.path.join("p", "b.py") + ":2"])
            with open(os.path.join(pkg, "sub", "c.py"), "w", encoding="utf-8") as f:
                f.write("import p\n")
            self.assertIsNone(find_cycle(graph(tmp, "p")))


if __name__ == "__main__":
    unittest.main()
