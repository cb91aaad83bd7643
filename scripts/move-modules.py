#!/usr/bin/env python3
"""Move lib/ modules and rewrite every relative import in lib/, test/ and scripts/ to follow.

usage: move-modules.py OLD=NEW ...   (paths relative to lib/; a trailing / moves a folder)
Imports are resolved against each file's old location and re-written from its new one, so a
move changes no behaviour. Kept as the record of how lib/ was reorganised (issue 14, part 7).
"""
import os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, 'lib')
moves = [arg.split('=', 1) for arg in sys.argv[1:]]

def new_path(old):
    """lib-relative old path → lib-relative new path."""
    for src, dst in moves:
        if src.endswith('/') and old.startswith(src):
            return dst + old[len(src):]
        if old == src:
            return dst
    return old

def files():
    for top in ('lib', 'test', 'scripts'):
        for dirpath, _, names in os.walk(os.path.join(ROOT, top)):
            if 'node_modules' in dirpath:
                continue
            for n in names:
                if n.endswith(('.ts', '.mts')):
                    yield os.path.relpath(os.path.join(dirpath, n), ROOT)

IMPORT = re.compile(r"""((?:from|import)\s*\(?\s*)(['"])(\.{1,2}/[^'"]+)\2""")

plan = {}
for f in files():
    old_abs = os.path.join(ROOT, f)
    new_rel = f
    if f.startswith('lib/'):
        new_rel = 'lib/' + new_path(f[4:])
    plan[f] = new_rel

rewritten = {}
for f, new_rel in plan.items():
    text = open(os.path.join(ROOT, f)).read()
    def fix(m):
        spec = m.group(3)
        target = os.path.normpath(os.path.join(os.path.dirname(f), spec))
        if not target.startswith('lib/') and target != 'lib':
            return m.group(0)
        # Imports name the emitted .js; the sources (and the move list) are .ts.
        source = target[:-3] + '.ts' if target.endswith('.js') else target
        moved = 'lib/' + new_path(source[4:])
        if target.endswith('.js'):
            moved = moved[:-3] + '.js'
        rel = os.path.relpath(moved, os.path.dirname(new_rel))
        if not rel.startswith('.'):
            rel = './' + rel
        return m.group(1) + m.group(2) + rel + m.group(2)
    rewritten[f] = IMPORT.sub(fix, text)

for f, new_rel in plan.items():
    if new_rel != f:
        os.makedirs(os.path.join(ROOT, os.path.dirname(new_rel)), exist_ok=True)
        subprocess.run(['git', 'mv', f, new_rel], cwd=ROOT, check=True)
    open(os.path.join(ROOT, new_rel), 'w').write(rewritten[f])
# .d.ts files are moved too (they hold no relative imports)
