#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# openmetrics-check.py - a strict checker of the OpenMetrics text format
# (and, with --prometheus, of the Prometheus text format 0.0.4 that
# node_exporter's textfile collector reads), for hugepool-ctl's
# --format openmetrics/prometheus. Written here rather than running
# promtool: Debian's prometheus package is large for one check, and this
# checks more of what the spec says a producer must do (families
# contiguous, metadata before samples and once, # UNIT a suffix of the
# name, counter samples _total, label escaping, no duplicate series,
# # EOF last).
#
# Usage: openmetrics-check.py [--prometheus] < exposition
# Prints one line per error and exits 1, or prints the samples as
# "name{labels} value" lines (labels sorted) and exits 0.
import re
import sys

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*$')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*$')
FLOAT = re.compile(r'^[+-]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?|Inf|inf|NaN)$')
TYPES = {'counter', 'gauge', 'histogram', 'gaugehistogram', 'stateset', 'info', 'summary', 'unknown'}
SUFFIX = {'counter': ['_total', '_created'], 'gauge': [''], 'unknown': [''], 'info': ['_info'],
          'stateset': [''], 'histogram': ['_bucket', '_count', '_sum', '_created'],
          'gaugehistogram': ['_bucket', '_gcount', '_gsum'], 'summary': ['', '_count', '_sum', '_created']}

prom = '--prometheus' in sys.argv[1:]
text = sys.stdin.read()
errors = []


def err(lineno, msg):
    errors.append('line %d: %s' % (lineno, msg))


def parse_labels(s, lineno):
    """s starts after '{'; returns (dict, rest after '}')"""
    labels = {}
    i = 0
    while True:
        if i < len(s) and s[i] == '}':
            return labels, s[i + 1:]
        m = re.match(r'([^=]*)="', s[i:])
        if not m:
            err(lineno, 'bad label syntax: %r' % s[i:])
            return labels, ''
        name = m.group(1)
        if not LABEL.match(name) or name.startswith('__'):
            err(lineno, 'bad label name %r' % name)
        i += m.end()
        val = []
        while True:
            if i >= len(s):
                err(lineno, 'unterminated label value')
                return labels, ''
            c = s[i]
            if c == '\\':
                if i + 1 >= len(s) or s[i + 1] not in '\\"n':
                    err(lineno, 'bad escape in label value')
                    return labels, ''
                val.append({'\\': '\\', '"': '"', 'n': '\n'}[s[i + 1]])
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == '\n':
                err(lineno, 'newline in label value')
                return labels, ''
            else:
                val.append(c)
                i += 1
        if name in labels:
            err(lineno, 'label %s twice' % name)
        labels[name] = ''.join(val)
        if i < len(s) and s[i] == ',':
            i += 1
            if i < len(s) and s[i] == '}' and not prom:
                err(lineno, 'trailing comma in labels')
        elif i < len(s) and s[i] == '}':
            continue
        else:
            err(lineno, 'expected , or } after a label')
            return labels, ''


if not prom:
    if not text.endswith('# EOF\n') and not text.endswith('# EOF'):
        err(0, 'does not end with # EOF')
lines = text.split('\n')
if lines and lines[-1] == '':
    lines.pop()
families = {}        # name -> {'type','unit','help','samples'}
order = []
current = None
seen_series = set()
eof = False
out = []
for n, line in enumerate(lines, 1):
    if eof:
        err(n, 'text after # EOF')
        break
    if line == '# EOF':
        if prom:
            err(n, '# EOF is OpenMetrics, not Prometheus text')
        eof = True
        continue
    if line.startswith('#'):
        parts = line.split(' ', 3)
        if len(parts) < 3 or parts[0] != '#' or parts[1] not in ('TYPE', 'UNIT', 'HELP'):
            if prom:
                continue  # a comment
            err(n, 'bad metadata line %r' % line)
            continue
        kind, fam = parts[1], parts[2]
        rest = parts[3] if len(parts) > 3 else ''
        if not NAME.match(fam):
            err(n, 'bad family name %r' % fam)
        if fam != current:
            if fam in families:
                err(n, 'family %s is not contiguous' % fam)
            families[fam] = {'type': None, 'unit': None, 'help': None, 'samples': 0}
            order.append(fam)
            current = fam
        f = families[fam]
        if f['samples']:
            err(n, '%s metadata after its samples' % kind)
        key = kind.lower()
        if f[key] is not None:
            err(n, '%s for %s twice' % (kind, fam))
        if kind == 'TYPE':
            if rest not in TYPES or (prom and rest not in ('counter', 'gauge', 'histogram', 'summary', 'untyped')):
                err(n, 'unknown type %r' % rest)
            f['type'] = rest
        elif kind == 'UNIT':
            if prom:
                err(n, '# UNIT is OpenMetrics only')
            if not rest or not fam.endswith('_' + rest):
                err(n, 'unit %r is not the suffix of %s' % (rest, fam))
            f['unit'] = rest
        else:
            f['help'] = rest
        continue
    if not line:
        err(n, 'empty line')
        continue
    m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)$', line)
    if not m:
        err(n, 'bad sample %r' % line)
        continue
    name, rest = m.group(1), m.group(2)
    labels = {}
    if rest.startswith('{'):
        labels, rest = parse_labels(rest[1:], n)
    if not rest.startswith(' '):
        err(n, 'no space before the value: %r' % line)
        continue
    fields = rest[1:].split(' ')
    if len(fields) not in (1, 2) or not FLOAT.match(fields[0]):
        err(n, 'bad value %r' % rest[1:])
        continue
    if current is None:
        err(n, 'sample %s before any # TYPE' % name)
        continue
    f = families[current]
    if f['type'] is None:
        err(n, 'sample of %s with no # TYPE' % current)
    if prom:
        ok = name == current
    else:
        ok = any(name == current + s for s in SUFFIX.get(f['type'] or 'unknown', ['']))
    if not ok:
        err(n, 'sample %s does not belong to family %s (%s)' % (name, current, f['type']))
    if f['type'] == 'counter' and name.endswith('_total'):
        v = float(fields[0].replace('Inf', 'inf'))
        if v != v or v < 0:
            err(n, 'counter %s is %s' % (name, fields[0]))
    series = (name, tuple(sorted(labels.items())))
    if series in seen_series:
        err(n, 'series %s%s twice' % series)
    seen_series.add(series)
    f['samples'] += 1
    out.append('%s{%s} %s' % (name, ','.join('%s="%s"' % kv for kv in sorted(labels.items())), fields[0]))
if not prom and not eof:
    err(len(lines), 'no # EOF')
for fam in order:
    if families[fam]['samples'] == 0:
        errors.append('family %s has no samples' % fam)
if errors:
    for e in errors:
        print('openmetrics-check: ' + e)
    sys.exit(1)
print('\n'.join(out))
