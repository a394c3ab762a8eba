"""meson install script: removes __pycache__ dirs from the installed
runner package (DIR, relative to the prefix, or absolute), which
install_subdir copies from a checkout that has run. Honours DESTDIR
through MESON_INSTALL_DESTDIR_PREFIX."""

import os
import shutil
import sys


def main(argv):
    if len(argv) != 2:
        print("usage: prune_pycache.py DIR", file=sys.stderr)
        return 2
    root = os.path.join(os.environ["MESON_INSTALL_DESTDIR_PREFIX"], argv[1])
    if os.path.isabs(argv[1]) and os.environ.get("DESTDIR"):
        root = os.environ["DESTDIR"] + argv[1]
    for d, subdirs, _ in os.walk(root):
        if "__pycache__" in subdirs:
            subdirs.remove("__pycache__")
            shutil.rmtree(os.path.join(d, "__pycache__"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
