#!/usr/bin/env python3
"""A control-channel filter in front of a real target, for the
`targets --check` tests: it makes a target that lacks commands, answers
some lines its own way, or speaks protocol 1, without another target.

  ctl_filter.py --control=FD [--keep=FD] [--missing=CMD,...]
                [--answer=CMD=TEXT ...] -- TARGET ARGS (CTL for its control fd)

A line whose command is in --missing gets `err unknown command 'CMD'`
(--missing=version: a protocol 1 target), one in --answer gets TEXT; the
others go to the target, and everything it answers comes back. --keep is
an fd the target inherits (its {fd})."""

import os
import selectors
import socket
import subprocess
import sys


def parse(argv):
    cut = argv.index("--")
    opts = {"missing": set(), "answer": {}, "keep": []}
    for a in argv[:cut]:
        key, _, val = a.lstrip("-").partition("=")
        if key == "control":
            opts["control"] = int(val)
        elif key == "keep":
            opts["keep"].append(int(val))
        elif key == "missing":
            opts["missing"] |= set(val.split(","))
        elif key == "answer":
            cmd, _, text = val.partition("=")
            opts["answer"][cmd] = text
        else:
            sys.exit(f"ctl_filter: unknown option {a}")
    return opts, argv[cut + 1:]


def own_answer(opts, line):
    name = line.split(" ", 1)[0]
    if name in opts["missing"]:
        return f"err unknown command '{name}'\n"
    if name in opts["answer"]:
        return opts["answer"][name] + "\n"
    return None


def relay(opts, harness, target):
    sel = selectors.DefaultSelector()
    sel.register(harness, selectors.EVENT_READ)
    sel.register(target, selectors.EVENT_READ)
    pending = b""
    while True:
        for key, _ in sel.select():
            data = key.fileobj.recv(65536)
            if not data:
                return
            if key.fileobj is target:
                harness.sendall(data)
                continue
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                mine = own_answer(opts, line.decode(errors="replace").rstrip("\r"))
                if mine is not None:
                    harness.sendall(mine.encode())
                else:
                    target.sendall(line + b"\n")


def main():
    opts, cmd = parse(sys.argv[1:])
    here, there = socket.socketpair()
    cmd = [a.replace("CTL", str(there.fileno())) for a in cmd]
    child = subprocess.Popen(cmd, pass_fds=[there.fileno(), *opts["keep"]])
    there.close()
    for fd in opts["keep"]:
        os.close(fd)
    harness = socket.socket(fileno=opts["control"])
    try:
        relay(opts, harness, here)
    finally:
        here.close()
        harness.close()
    sys.exit(child.wait())


if __name__ == "__main__":
    main()
