#!/usr/bin/env python3
"""Folds `perf script` output into stacks and draws them as a flame graph: one SVG file,
self-contained (no script, no external style; each frame's name, samples and share are in
its tooltip).

usage: flamegraph.py [--title TEXT] [--subtitle TEXT] [--folded] [--min-width PX] [IN] > OUT.svg

IN (default stdin) is what `perf script` prints for a `perf record -g`; with --folded it is
already folded ("frame;frame;frame COUNT" a line), and --fold-only prints the folded stacks
instead of drawing them. A stack's root is the thread's name, then its frames from the
outermost; kernel frames end in "_[k]" and are drawn in another colour. Frames narrower than
--min-width pixels (default 0.3) are left out.
"""
import argparse
import collections
import hashlib
import html
import re
import sys

WIDTH = 1200          # the image's width in pixels
FRAME_H = 16          # one frame's height
PAD_X = 10
PAD_TOP = 56          # room for the title
PAD_BOTTOM = 24
FONT = 11             # px; a character is about 0.6 of it wide
CHAR_W = FONT * 0.6

# A sample's first line: "comm pid/tid [cpu] time: period event:" (the fields perf prints
# by default); the comm may contain spaces.
HEADER = re.compile(r"^(?P<comm>\S.*?)\s+(?P<pid>\d+)(?:/(?P<tid>\d+))?\s+(?:\[\d+\]\s+)?[\d.]+:")
# A frame line: "\t addr symbol+0xoff (dso)".
FRAME = re.compile(r"^\s+(?P<addr>[0-9a-fA-F]+)\s+(?P<sym>.*?)\s+\((?P<dso>[^()]*)\)\s*$")
OFFSET = re.compile(r"\+0x[0-9a-fA-F]+$")


def fold(lines):
    """perf script's samples → Counter of 'root;…;leaf' stacks."""
    stacks = collections.Counter()
    comm, frames = None, []

    def flush():
        if comm is not None:
            names = [comm] + list(reversed(frames))
            stacks[";".join(names)] += 1

    for raw in lines:
        line = raw.rstrip("\n")
        if not line.strip():
            flush()
            comm, frames = None, []
            continue
        if line.startswith("#"):
            continue
        if not line[0].isspace():
            flush()
            m = HEADER.match(line)
            comm = (m.group("comm") if m else line.split()[0]).replace(";", ":")
            frames = []
            continue
        m = FRAME.match(line)
        if m is None or comm is None:
            continue
        sym = OFFSET.sub("", m.group("sym").strip())
        dso = m.group("dso")
        if not sym or sym == "[unknown]":
            sym = f"[{dso.rsplit('/', 1)[-1]}]" if dso and dso != "unknown" else "[unknown]"
        sym = sym.replace(";", ":")
        if "kernel" in dso or dso.startswith("[k"):
            sym += "_[k]"
        frames.append(sym)
    flush()
    return stacks


def read_folded(lines):
    stacks = collections.Counter()
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        try:
            stacks[stack] += int(count)
        except ValueError:
            continue
    return stacks


class Node:
    __slots__ = ("name", "total", "children")

    def __init__(self, name):
        self.name, self.total, self.children = name, 0, {}


def tree(stacks):
    root = Node("all")
    for stack, count in stacks.items():
        root.total += count
        node = root
        for name in stack.split(";"):
            node = node.children.setdefault(name, Node(name))
            node.total += count
    return root


def colour(name):
    """A stable colour per name: warm for user code, blue-green for the kernel."""
    h = int(hashlib.md5(name.encode()).hexdigest()[:8], 16)
    a, b = (h & 0xFF) / 255, ((h >> 8) & 0xFF) / 255
    if name.endswith("_[k]"):
        return f"rgb({int(80 + 60 * a)},{int(150 + 60 * b)},{int(190 + 50 * a)})"
    if name.startswith("[") or name == "[unknown]":
        return f"rgb({int(180 + 40 * a)},{int(180 + 40 * a)},{int(170 + 40 * b)})"
    return f"rgb({int(205 + 50 * a)},{int(80 + 130 * b)},{int(40 + 40 * a)})"


def draw(root, title, subtitle, min_width):
    depth = 0
    rects = []
    scale = (WIDTH - 2 * PAD_X) / root.total if root.total else 0

    def walk(node, x, level):
        nonlocal depth
        w = node.total * scale
        if w < min_width:
            return
        depth = max(depth, level)
        rects.append((node, x, level, w))
        cx = x
        for child in sorted(node.children.values(), key=lambda n: n.name):
            walk(child, cx, level + 1)
            cx += child.total * scale

    walk(root, PAD_X, 0)
    height = PAD_TOP + (depth + 1) * FRAME_H + PAD_BOTTOM
    out = [
        '<?xml version="1.0" standalone="no"?>',
        f'<svg version="1.1" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#f8f8f2"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-family="sans-serif" '
        f'font-size="16">{html.escape(title)}</text>',
    ]
    if subtitle:
        out.append(f'<text x="{WIDTH / 2}" y="42" text-anchor="middle" font-family="sans-serif" '
                   f'font-size="11" fill="#555">{html.escape(subtitle)}</text>')
    for node, x, level, w in rects:
        y = height - PAD_BOTTOM - (level + 1) * FRAME_H
        share = 100.0 * node.total / root.total
        label = f"{node.name} ({node.total} samples, {share:.2f}%)"
        out.append(f'<g><title>{html.escape(label)}</title>'
                   f'<rect x="{x:.2f}" y="{y}" width="{max(w - 0.5, 0.1):.2f}" '
                   f'height="{FRAME_H - 1}" fill="{colour(node.name)}" rx="1"/>')
        chars = int((w - 4) / CHAR_W)
        if chars >= 3:
            text = node.name if len(node.name) <= chars else node.name[:chars - 2] + ".."
            out.append(f'<text x="{x + 2:.2f}" y="{y + FRAME_H - 4}" font-family="monospace" '
                       f'font-size="{FONT}">{html.escape(text)}</text>')
        out.append("</g>")
    out.append(f'<text x="{PAD_X}" y="{height - 6}" font-family="sans-serif" font-size="11" '
               f'fill="#555">{root.total} samples; the width of a frame is its share of them; '
               'hover a frame for its name and share</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", nargs="?", help="perf script output (default: stdin)")
    ap.add_argument("--title", default="Flame graph")
    ap.add_argument("--subtitle", default="")
    ap.add_argument("--folded", action="store_true", help="the input is folded stacks")
    ap.add_argument("--fold-only", action="store_true", help="print the folded stacks")
    ap.add_argument("--min-width", type=float, default=0.3)
    args = ap.parse_args()
    src = open(args.input, encoding="utf-8", errors="replace") if args.input else sys.stdin
    with src:
        stacks = read_folded(src) if args.folded else fold(src)
    if not stacks:
        print("flamegraph.py: no samples in the input", file=sys.stderr)
        return 1
    if args.fold_only:
        for stack, count in sorted(stacks.items()):
            print(f"{stack} {count}")
        return 0
    sys.stdout.write(draw(tree(stacks), args.title, args.subtitle, args.min_width))
    return 0


if __name__ == "__main__":
    sys.exit(main())
