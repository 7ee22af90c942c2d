#!/usr/bin/env python3
"""Structure checks run by `make test` (tests/run.sh), from issue 14's "done when":

  1. no include loop between the files of one folder: a module is a file's
     stem (x.c and x.h are module x; x_int.h and x-t.h belong to x too), a
     module depends on another of its folder when one of its files includes
     the other's header; any cycle among them fails;
  2. no .c/.h file over 1,000 lines under src/ and tests/app/;
  3. no function over 150 lines, but for the parsers' state machines named
     in ALLOWED_LONG below.

Prints one line per finding and exits 1 if there is any. Runs in well under
a second; standard library only.
"""
import os
import re
import sys

ROOTS = ["src", "tests/app"]
MAX_FILE_LINES = 1000
MAX_FUNCTION_LINES = 150
# Parsers' state machines: one switch over the input's states reads best whole.
ALLOWED_LONG = {
    ("src/http/chunked.c", "jn_chunked_decode"),
    ("src/http/parse.c", "jn_http_parse_request"),
    ("src/http/parse.c", "jn_http_parse_response"),
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
FUNC_NAME = re.compile(r"([A-Za-z_]\w*)\s*\(")


def sources(root):
    for d, _, files in os.walk(root):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.join(d, f)


def module(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    for suffix in ("_int", "-t", "_types"):
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem


def include_loops(files):
    """Yields one message per cycle of modules within a folder."""
    graph = {}  # folder -> module -> set(modules)
    for path in files:
        folder = os.path.dirname(path)
        src_rel = os.path.relpath(folder, "src") if path.startswith("src/") else None
        edges = graph.setdefault(folder, {}).setdefault(module(path), set())
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                m = INCLUDE.match(line)
                if not m:
                    continue
                inc = m.group(1)
                # "control/deploy/deploy.h" from src/, or "x.h" beside the file
                target_dir = os.path.dirname(inc)
                if (src_rel is not None and target_dir == src_rel) or (
                    target_dir == "" and os.path.exists(os.path.join(folder, inc))
                ):
                    dep = module(inc)
                    if dep != module(path):
                        edges.add(dep)
    for folder, g in sorted(graph.items()):
        for cycle in strongly_connected(g):
            yield f"{folder}: include loop between {', '.join(sorted(cycle))}"


def strongly_connected(g):
    """Tarjan's algorithm; yields the components with more than one module."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in g:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def long_functions(path, lines):
    """Functions written as clang-format lays them out: the signature from
    column 0, the body's braces alone in column 0."""
    start = None
    name = None
    for i, line in enumerate(lines):
        if line.startswith("{") and start is None:
            # the signature: back to the first line of the declaration
            j = i - 1
            while j > 0 and lines[j - 1].strip() and not lines[j - 1].startswith(
                ("}", "#", "/", " *", "*")
            ) and not lines[j - 1].rstrip().endswith((";", "}", "*/")):
                j -= 1
            sig = " ".join(l.strip() for l in lines[j:i])
            m = None
            for m in FUNC_NAME.finditer(sig.split("(")[0] + "("):
                pass
            name = m.group(1) if m else "?"
            start = j
        elif line.startswith("}") and start is not None:
            n = i - start + 1
            if n > MAX_FUNCTION_LINES and (path, name) not in ALLOWED_LONG:
                yield f"{path}:{start + 1}: function {name} is {n} lines (over {MAX_FUNCTION_LINES})"
            start = None


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    files = [p for r in ROOTS for p in sources(r)]
    problems = list(include_loops([p for p in files if p.startswith("src/")]))
    problems += list(include_loops([p for p in files if p.startswith("tests/app")]))
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) > MAX_FILE_LINES:
            problems.append(f"{path}: {len(lines)} lines (over {MAX_FILE_LINES})")
        problems += list(long_functions(path, lines))
    for p in problems:
        print(p)
    print(f"check-structure: {len(files)} files, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
