#!/usr/bin/env python3
"""Turns `tmux capture-pane -e -p` output (text with SGR colour codes) into an
SVG screenshot: one <text> line per row, a <tspan> per colour run. Only the
16 ANSI colours, bold and reverse video are needed: warden's themes use
nothing else."""
import html
import re
import sys

PALETTE = {
    30: "#1e1e1e", 31: "#cd3131", 32: "#0dbc79", 33: "#e5e510", 34: "#2472c8", 35: "#bc3fbc", 36: "#11a8cd", 37: "#e5e5e5",
    90: "#666666", 91: "#f14c4c", 92: "#23d18b", 93: "#f5f543", 94: "#3b8eea", 95: "#d670d6", 96: "#29b8db", 97: "#ffffff",
}
FG, BG = "#d4d4d4", "#1e1e1e"
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def parse(line):
    """Yields (text, fg, bg, bold) runs."""
    fg, bg, bold, rev = None, None, False, False
    pos = 0
    for m in SGR.finditer(line):
        if m.start() > pos:
            yield line[pos:m.start()], fg, bg, bold, rev
        codes = [int(c) if c else 0 for c in m.group(1).split(";")]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                fg, bg, bold, rev = None, None, False, False
            elif c == 1:
                bold = True
            elif c == 22:
                bold = False
            elif c == 7:
                rev = True
            elif c == 27:
                rev = False
            elif c in PALETTE and (30 <= c <= 37 or 90 <= c <= 97):
                fg = PALETTE[c]
            elif 40 <= c <= 47 or 100 <= c <= 107:
                bg = PALETTE[c - 10]
            elif c == 39:
                fg = None
            elif c == 49:
                bg = None
            elif c in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
                i += 2
            i += 1
        pos = m.end()
    if pos < len(line):
        yield line[pos:], fg, bg, bold, rev


def main():
    rows = sys.stdin.read().split("\n")
    cols = max((len(SGR.sub("", r)) for r in rows), default=80)
    cw, ch = 8.4, 17
    w, h = int(cols * cw) + 16, int(len(rows) * ch) + 16
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="DejaVu Sans Mono, Menlo, monospace" font-size="14">',
           f'<rect width="100%" height="100%" fill="{BG}"/>']
    for y, row in enumerate(rows):
        x = 0
        base = 8 + y * ch
        texts = []
        for text, fg, bg, bold, rev in parse(row):
            f, b = (fg or FG), bg
            if rev:
                f, b = (bg or BG), (fg or FG)
            n = len(text)
            if b:
                out.append(f'<rect x="{8 + x * cw:.1f}" y="{base}" width="{n * cw:.1f}" height="{ch}" fill="{b}"/>')
            weight = ' font-weight="bold"' if bold else ""
            texts.append(f'<tspan x="{8 + x * cw:.1f}" fill="{f}"{weight}>{html.escape(text)}</tspan>')
            x += n
        out.append(f'<text y="{base + ch - 4}" xml:space="preserve">{"".join(texts)}</text>')
    out.append("</svg>")
    print("\n".join(out))


if __name__ == "__main__":
    main()
