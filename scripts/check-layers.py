#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-layers.py - no lower layer of lib/ calls a higher one (issue 13).

Reads the symbol tables of lib/'s object files (`nm` of the static archive
build/lib/libhugepool-internal.a and of any loose .o, e.g. preload.c.o,
which only the shared library holds) and, for every object, checks each
undefined symbol that another lib object defines: the defining object must
sit in the same layer as the caller or a lower one.

The layer order is the table LAYERS below, lowest first. An object whose
file is in no layer fails the check: a new file must be placed. Known
upward calls are listed in scripts/layers-allow.txt, one "caller.o symbol"
a line, each with a comment saying why; the check fails on a violation not
listed there and on a listed one that no longer occurs (shrink the list as
the calls go away).

Usage: check-layers.py [--allow FILE] [--nm NM] ARCHIVE_OR_OBJECT...
Exit: 0 clean, 1 violations (each printed on one line), 2 usage/tool error.
"""

import argparse
import fnmatch
import os
import re
import subprocess
import sys

# Lowest first. A name is an object's source file without ".c"; shell
# patterns place families of files (pool-*.c, heap*.c) before they exist.
LAYERS = [
	("kernel",    ["sys", "fork"]),
	("base",      ["meta", "util", "version"]),
	("machine",   ["hstate", "node", "cgroup", "resv", "subpool", "options", "compat-env"]),
	("hooks",     ["hooks"]),
	("window",    ["window"]),
	("arena",     ["arena"]),
	("freelist",  ["freelist"]),
	("fault",     ["fault"]),
	("decay",     ["decay"]),
	("pool",      ["pool", "pool-*"]),
	("move",      ["move"]),
	("block",     ["block"]),
	("mixed",     ["mixed"]),
	("heap",      ["heap*"]),
	("consumers", ["default", "alloc", "region", "uring"]),
	("reporting", ["stats", "publish"]),
	("faces",     ["preload", "segplan", "segments", "shm"]),
]

UNDEF_TYPES = set("Uw")
# Global definitions only: a static (lower-case t, d, b, r) function cannot
# be called from another object.
DEF_TYPES = set("TDBRGSCWVui")


def layer_of(name):
	"""Index of the layer holding object `name` (e.g. "pool"), or None."""
	for i, (_, pats) in enumerate(LAYERS):
		if any(fnmatch.fnmatchcase(name, p) for p in pats):
			return i
	return None


def object_name(member):
	"""build/.../pool.c.o or pool.o -> pool"""
	base = os.path.basename(member)
	for suffix in (".c.o", ".o", ".c.obj", ".obj"):
		if base.endswith(suffix):
			return base[: -len(suffix)]
	return base


# GNU nm -A -P: "archive[member]: sym T value size" or "file.o: sym U"
NM_LINE = re.compile(r"^(?P<file>[^\[:]+)(?:\[(?P<member>[^\]]+)\])?: (?P<sym>\S+) (?P<type>\S)")


def read_symbols(nm, paths):
	"""{object name: (defined set, undefined set)} over every path."""
	objs = {}
	for path in paths:
		if not os.path.exists(path):
			sys.exit(f"check-layers: {path}: no such file (build first)")
		try:
			out = subprocess.run([nm, "-A", "-P", path], check=True,
					     capture_output=True, text=True).stdout
		except (OSError, subprocess.CalledProcessError) as e:
			print(f"check-layers: {nm} {path}: {e}", file=sys.stderr)
			sys.exit(2)
		for line in out.splitlines():
			m = NM_LINE.match(line)
			if not m:
				continue
			name = object_name(m.group("member") or m.group("file"))
			d, u = objs.setdefault(name, (set(), set()))
			t = m.group("type")
			if t in UNDEF_TYPES:
				u.add(m.group("sym"))
			elif t in DEF_TYPES:
				d.add(m.group("sym"))
	return objs


def read_allow(path):
	"""{(caller, symbol): line number}. Each entry needs a comment: on its
	line after '#', or a comment line just above its group."""
	allow, errors = {}, []
	if not path:
		return allow, errors
	commented = False
	with open(path) as f:
		for n, raw in enumerate(f, 1):
			line = raw.strip()
			if not line:
				commented = False
				continue
			if line.startswith("#"):
				commented = True
				continue
			body, _, why = line.partition("#")
			fields = body.split()
			if len(fields) != 2:
				errors.append(f"{path}:{n}: want 'caller.o symbol  # why': {line}")
				continue
			if not why.strip() and not commented:
				errors.append(f"{path}:{n}: {fields[0]} {fields[1]}: no comment says why")
			allow[(object_name(fields[0]), fields[1])] = n
	return allow, errors


def main():
	ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	ap.add_argument("--allow", help="allow-list of known upward calls")
	ap.add_argument("--nm", default=os.environ.get("NM", "nm"))
	ap.add_argument("paths", nargs="+", help="static archives and object files of lib/")
	args = ap.parse_args()

	objs = read_symbols(args.nm, args.paths)
	allow, problems = read_allow(args.allow)

	owner = {}
	for name, (defined, _) in objs.items():
		if layer_of(name) is None:
			problems.append(f"{name}.o: not in the layer table of {sys.argv[0]}: place it in a layer")
		for s in defined:
			owner.setdefault(s, name)

	seen = set()
	for name in sorted(objs):
		lo = layer_of(name)
		if lo is None:
			continue
		for s in sorted(objs[name][1]):
			callee = owner.get(s)
			if callee is None or callee == name:
				continue
			hi = layer_of(callee)
			if hi is None or hi <= lo:
				continue
			if (name, s) in allow:
				seen.add((name, s))
				continue
			problems.append(f"{name}.o ({LAYERS[lo][0]}) calls {s} of {callee}.o ({LAYERS[hi][0]}): a lower layer calls a higher one")

	for (name, s), n in sorted(allow.items(), key=lambda kv: kv[1]):
		if (name, s) not in seen:
			problems.append(f"{args.allow}:{n}: {name}.o {s} is no longer an upward call: remove the line")

	for p in problems:
		print(p)
	order = " < ".join(f"{n} ({', '.join(p)})" for n, p in LAYERS)
	if problems:
		print(f"check-layers: {len(problems)} problem(s); layer order: {order}")
		return 1
	print(f"check-layers: {len(objs)} objects, {len(seen)} allowed upward call(s), no new ones")
	return 0


if __name__ == "__main__":
	sys.exit(main())
