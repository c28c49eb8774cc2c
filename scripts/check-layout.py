#!/usr/bin/env python3
"""The layout rules of docs/architecture.md, checked on the source tree (a unit test runs this).

1. Dependencies run one way: a file includes only headers of its own folder and of the folders
   listed for it below (src/shim's rooms and the four base modules).
2. The pure core (shim/pod, shim/manifest) includes no Boost (the build also poisons it).
3. No file in src/ has more than 500 lines, no function body more than 80.
Prints one line per violation ("path:line: what") and exits 1 if there is any.
"""
import os
import re
import sys

BASE = ["common"]
ALLOWED = {
    "common": [],
    "cgroups": BASE,
    "signals": BASE,
    "oci": BASE,
    "shim/manifest": BASE + ["cgroups", "signals", "oci"],
    "shim/pod": BASE + ["cgroups", "signals", "oci", "shim/manifest"],
    "shim/record": BASE + ["cgroups", "signals", "oci", "shim/manifest", "shim/pod"],
    "shim/control": BASE + ["signals"],
    "shim/keeper": BASE,
    "shim/run": BASE + ["cgroups", "signals", "oci", "shim/manifest", "shim/pod", "shim/record",
                        "shim/control", "shim/keeper"],
    "shim/ocirt": BASE + ["cgroups", "signals", "oci"],
    "shim/proto": [],
    "shim/ttrpc": BASE + ["shim/proto"],
    "shim/task": BASE + ["cgroups", "signals", "oci", "shim/manifest", "shim/pod", "shim/record",
                         "shim/ocirt", "shim/ttrpc", "shim/proto"],
    "shim/shimv2": BASE + ["cgroups", "signals", "oci", "shim/manifest", "shim/pod",
                           "shim/record", "shim/ocirt", "shim/ttrpc", "shim/task", "shim/proto"],
    "shim/cli": BASE + ["cgroups", "signals", "oci", "shim/manifest", "shim/pod", "shim/record",
                        "shim/control", "shim/run", "shim/ocirt"],
}
PURE = ("shim/pod", "shim/manifest")
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 80


def folder_of(rel):
    parts = rel.split("/")
    return "/".join(parts[:2]) if parts[0] == "shim" else parts[0]


def strip_comments_and_strings(src):
    keep_lines = lambda m: "\n" * m.group(0).count("\n")
    src = re.sub(r'R"([^(]*)\((.*?)\)\1"', lambda m: '""' + keep_lines(m), src, flags=re.S)
    src = re.sub(r"//[^\n]*", "", src)
    src = re.sub(r"/\*.*?\*/", keep_lines, src, flags=re.S)
    src = re.sub(r'"(\\.|[^"\\\n])*"', '""', src)
    return re.sub(r"'(\\.|[^'\\\n])*'", "''", src)


FUNCTION_OPEN = re.compile(r"(\)|\bconst|\bnoexcept|\boverride|\bfinal|->\s*[\w:<>,\s*&]+)$")
CONTROL_OPEN = re.compile(r"\b(if|for|while|switch|catch)\s*\([^;{}]*\)$")


def long_functions(src):
    """(first line, length) of each outermost function body longer than the limit."""
    s = strip_comments_and_strings(src)
    stack, in_function, line = [], 0, 1
    for i, ch in enumerate(s):
        if ch == "\n":
            line += 1
        elif ch == "{":
            before = s[max(0, i - 300):i].rstrip()
            is_fn = (in_function == 0 and FUNCTION_OPEN.search(before) is not None and
                     CONTROL_OPEN.search(before) is None)
            stack.append((is_fn, line))
            in_function += is_fn
        elif ch == "}" and stack:
            is_fn, start = stack.pop()
            if is_fn:
                in_function -= 1
                if line - start + 1 > MAX_FUNCTION_LINES:
                    yield start, line - start + 1


def self_test():
    """The checker finds each kind of violation in a made-up tree, and nothing in a clean one."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        def write(rel, text):
            os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            open(os.path.join(d, rel), "w").write(text)
        write("shim/pod/ok.cc", '#include "shim/manifest/m.h"\nint F() {\n  return 1;\n}\n')
        if check(d):
            print("self-test: a clean tree was refused")
            return 1
        write("shim/pod/bad.cc", '#include "shim/run/loop.h"\n#include <boost/asio.hpp>\n' +
              "int G() {\n" + "  ;\n" * 90 + "}\n" + "\n" * 420)
        write("shim/attic/old.h", "")
        found = check(d)
        expected = ["shim/pod/bad.cc:1: shim/pod may not include shim/run/loop.h",
                    "shim/pod/bad.cc:2: the pure core may not include Boost",
                    "shim/pod/bad.cc:1: 514 lines (at most 500)",
                    "shim/pod/bad.cc:3: a function of 92 lines (at most 80)",
                    "shim/attic/old.h:1: folder 'shim/attic' is not a known room or module"]
        if sorted(found) != sorted(expected):
            print("self-test: expected", expected, "found", found)
            return 1
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    src_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__),
                                                                 "..", "src")
    problems = check(src_dir)
    for p in problems:
        print(p)
    return 1 if problems else 0


def check(src_dir):
    problems = []
    for root, _, files in os.walk(src_dir):
        for name in sorted(files):
            if not name.endswith((".h", ".cc")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src_dir)
            folder = folder_of(rel)
            text = open(path, encoding="utf-8").read()
            lines = text.split("\n")
            if folder not in ALLOWED:
                problems.append(f"{rel}:1: folder {folder!r} is not a known room or module")
                continue
            allowed = set(ALLOWED[folder]) | {folder}
            for n, l in enumerate(lines, 1):
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', l)
                if m and "/" in m.group(1) and folder_of(m.group(1)) not in allowed:
                    problems.append(f"{rel}:{n}: {folder} may not include {m.group(1)}")
                if folder in PURE and re.match(r"\s*#\s*include\s+<boost/", l):
                    problems.append(f"{rel}:{n}: the pure core may not include Boost")
            if len(lines) - 1 > MAX_FILE_LINES:
                problems.append(f"{rel}:1: {len(lines) - 1} lines (at most {MAX_FILE_LINES})")
            for start, length in long_functions(text):
                problems.append(
                    f"{rel}:{start}: a function of {length} lines (at most {MAX_FUNCTION_LINES})")
    return problems


if __name__ == "__main__":
    sys.exit(main())
