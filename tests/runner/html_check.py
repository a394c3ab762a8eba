#!/usr/bin/env python3
"""Load a vhucheck HTML report in headless chromium and check it.

    python3 tests/runner/html_check.py REPORT.html [--screenshot OUT.png]

Checks: the page's script ran to the end (it sets data-ready="1" on <html>),
raised no error (window.onerror counts into data-js-errors), chromium
logged no console error, and nothing was fetched from the network (the
page has a Content-Security-Policy; a violation is a console error).
Exit 0 ok, 1 a check failed, 77 chromium is not installed (skip).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--enable-logging=stderr", "--v=0"]
CONSOLE_ERROR = re.compile(r"(CONSOLE\(\d+\)|console).*?(error|Uncaught|Refused)", re.I)


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run(browser, page, extra, profile, timeout=60):
    argv = [browser, *FLAGS, f"--user-data-dir={profile}", *extra, "file://" + page]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, start_new_session=True)
    return p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def console_errors(stderr):
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line and CONSOLE_ERROR.search(line)
            or "Uncaught" in line or "Content Security Policy" in line]


def check(page, screenshot=None, width=1280, height=1600):
    browser = chromium()
    if not browser:
        print("html_check: SKIP: chromium is not installed (apt-get install chromium)")
        return SKIP
    page = os.path.abspath(page)
    problems = []
    with tempfile.TemporaryDirectory(prefix="vhucheck-chromium-") as profile:
        dom, err = run(browser, page, ["--dump-dom", "--virtual-time-budget=3000"], profile)
        m = re.search(r"<html[^>]*>", dom)
        tag = m.group(0) if m else ""
        if 'data-ready="1"' not in tag:
            problems.append("the page script did not finish (no data-ready on <html>)")
        if "data-js-errors" in tag:
            problems.append(f"script errors: {tag}")
        problems += [f"console: {line.strip()}" for line in console_errors(err)]
        if screenshot:
            _, err2 = run(browser, page, [f"--screenshot={os.path.abspath(screenshot)}",
                                          f"--window-size={width},{height}",
                                          "--hide-scrollbars"], profile)
            problems += [f"console: {line.strip()}" for line in console_errors(err2)]
            if not os.path.isfile(screenshot):
                problems.append("no screenshot was written")
    for p in problems:
        print(f"html_check: {page}: {p}")
    if not problems:
        print(f"html_check: {page}: ok" + (f", screenshot {screenshot}" if screenshot else ""))
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("page")
    ap.add_argument("--screenshot")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=1600)
    a = ap.parse_args()
    return check(a.page, a.screenshot, a.width, a.height)


if __name__ == "__main__":
    sys.exit(main())
