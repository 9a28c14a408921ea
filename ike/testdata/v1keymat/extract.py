#!/usr/bin/env python3
"""Writes charon-left.txt from a charon filelog with ike = 4, chd = 4.

Usage: python3 extract.py keys.log > charon-left.txt

Every hex dump charon logs under [IKE] or [CHD] ("LABEL => N bytes @ addr"
followed by its dump lines) becomes a line "LABEL = hex", in log order, and
the "parsed"/"generating" lines of the messages become "# ..." comments.
"""
import re
import sys

head = re.compile(r"^\S+ \d+\[(IKE|CHD|ENC)\] (.*?) => (\d+) bytes @ 0x[0-9a-f]+$")
dump = re.compile(r"^\S+ \d+\[(IKE|CHD|ENC)\]\s+\d+: ((?:[0-9A-F]{2} )+)")
msg = re.compile(r"^\S+ \d+\[ENC\] ((?:parsed|generating) \S+ (?:request|response) \d+ \[.*\])$")

out = []
cur = None  # [label, wanted octets, octets]
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    if cur is not None:
        m = dump.match(line)
        if m and len(cur[2]) < cur[1]:
            cur[2] += bytes.fromhex(m.group(2).replace(" ", ""))
            continue
        out.append("%s = %s" % (cur[0], cur[2].hex()))
        cur = None
    m = head.match(line)
    if m and m.group(1) in ("IKE", "CHD"):
        cur = [m.group(2), int(m.group(3)), b""]
        continue
    m = msg.match(line)
    if m:
        out.append("# " + m.group(1))
if cur is not None:
    out.append("%s = %s" % (cur[0], cur[2].hex()))
print("\n".join(out))
