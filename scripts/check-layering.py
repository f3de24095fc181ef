#!/usr/bin/env python3
"""Checks the layering the compiler cannot: no import cycle between the
source files of any crate of the workspace (tests modules excluded), and the
folder order each crate declares below.

A file depends on another when it names an item of it through a path
(`use crate::a::b`, `super::x::Y`, `warden_core::nats::...`); declaring a
child module (`mod x;`) is not a dependency. Exit 1 and the cycles found,
else a one-line summary.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = {  # crate name as used in paths -> src dir
    "warden": "src",
    "warden_core": "crates/warden-core/src",
    "kube_double": "crates/kube-double/src",
    "warden_sandbox": "crates/warden-sandbox/src",
}
# Top-level folders of a crate that must not depend on the ones listed.
FORBIDDEN = {
    "warden": {"app": {"ui", "report", "cli"}, "report": {"ui"}},
    "warden_core": {
        "config": {"identity", "nats", "kube", "spire", "violations"},
        "nats": {"identity", "kube", "spire", "violations"},
        "kube": {"identity", "nats", "spire", "violations"},
        "spire": {"identity", "nats", "violations"},
        "violations": {"identity"},
    },
}

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def modules(src):
    """module path (tuple) -> file, for every .rs file under src."""
    out = {}
    for d, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(d, f), src)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            out[tuple(rel)] = os.path.join(d, f)
    return out


def blank_literals(text):
    """Comments, strings (raw too) and char literals out, in one pass, so a
    `//` in a string or a `'{'` cannot hide code or unbalance braces."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                depth += text.startswith("/*", i) - text.startswith("*/", i)
                i += 2 if text.startswith(("/*", "*/"), i) else 1
            out.append(" ")
        elif m := re.match(r'b?r(#*)"', text[i:]):
            end = text.find('"' + m.group(1), i + m.end())
            i = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif m := re.match(r"'(\\.|[^'\\])'", text[i:]):
            i += m.end()
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def strip(text):
    text = blank_literals(text)
    # test modules may reach anything: drop each `#[cfg(test)] mod x { ... }`
    pat = re.compile(r"#\[cfg\(test\)\]\s*(pub(\([a-z]+\))?\s+)?mod\s+" + IDENT + r"\s*\{")
    while m := pat.search(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        text = text[: m.start()] + text[i:]
    return text


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']"""
    tree = tree.strip()
    i = tree.find("{")
    if i < 0:
        return [re.sub(r"\s+as\s+" + IDENT + "$", "", tree)]
    prefix, inner = tree[:i], tree[i + 1 : tree.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p.strip():
            for e in expand_use(p):
                out.append(prefix + e if e != "self" else prefix.rstrip(":"))
    return out


def paths(text):
    out = []
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        out += expand_use(m.group(1))
    out += re.findall(r"(?<![:\w])(?:crate|super|self|warden_core|warden_sandbox|kube_double|warden)(?:::" + IDENT + ")+", text)
    return [re.sub(r"\s+", "", p) for p in out]


def resolve(path, here, crate, mods):
    """The (crate, module) a path names, or None when outside the workspace."""
    segs = [s for s in path.split("::") if s]
    if not segs:
        return None
    if segs[0] in ("crate",):
        base, rest, c = (), segs[1:], crate
    elif segs[0] in ("super", "self"):
        base = list(here)
        i = 0
        while i < len(segs) and segs[i] in ("super", "self"):
            if segs[i] == "super":
                base = base[:-1]
            i += 1
        base, rest, c = tuple(base), segs[i:], crate
    elif segs[0] in CRATES and segs[0] != crate:
        base, rest, c = (), segs[1:], segs[0]
    elif here + (segs[0],) in mods[crate]:  # a child module, named relatively
        base, rest, c = here, segs, crate
    else:
        return None
    full = base + tuple(rest)
    for n in range(len(full), -1, -1):
        if full[:n] in mods[c]:
            return (c, full[:n])
    return None


def main():
    mods = {c: modules(os.path.join(ROOT, s)) for c, s in CRATES.items() if os.path.isdir(os.path.join(ROOT, s))}
    graph, problems = {}, []
    for c, ms in mods.items():
        for mod, f in ms.items():
            deps = set()
            for p in paths(strip(open(f, encoding="utf-8").read())):
                t = resolve(p, mod, c, mods)
                if t and t != (c, mod) and t[1] != ():
                    deps.add(t)
            graph[(c, mod)] = deps
            for dep_c, dep_m in deps:
                if dep_c == c and mod and dep_m and dep_m[0] in FORBIDDEN.get(c, {}).get(mod[0], ()):
                    problems.append(f"{c}: {'/'.join(mod)} imports {'/'.join(dep_m)} ({mod[0]} must not depend on {dep_m[0]})")
    # strongly connected components (Tarjan)
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(100000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
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
                sccs.append(comp)

    for v in graph:
        if v not in index:
            visit(v)
    for comp in sccs:
        names = sorted(f"{c}::{'::'.join(m)}" for c, m in comp)
        problems.append("import cycle: " + " <-> ".join(names))
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"layering: {len(graph)} files in {len(mods)} crates, no import cycle, folder order held")


if __name__ == "__main__":
    main()
