#!/usr/bin/env python3
"""Writes msg-NN.hex (ISAKMP datagrams) and esp-N.hex (the first ESP packet
of each SPI) from a capture of the interop rig, in the current directory.

Usage: python3 split.py capture.pcap   (needs tshark)

Port 4500 datagrams that start with the 4-octet non-ESP marker are ISAKMP
(written without the marker, RFC 3948 Section 2.2), the others ESP.
"""
import subprocess
import sys

out = subprocess.run(["tshark", "-r", sys.argv[1], "-n", "-Y", "udp", "-T", "fields",
                      "-e", "udp.dstport", "-e", "udp.payload"],
                     check=True, capture_output=True, text=True).stdout
n = e = 0
spis = set()
for line in out.splitlines():
    port, payload = line.split()
    b = bytes.fromhex(payload)
    if port == "4500":
        if b[:4] != b"\0\0\0\0":
            if b[:4] not in spis:
                spis.add(b[:4])
                e += 1
                open("esp-%d.hex" % e, "w").write(b.hex() + "\n")
            continue
        b = b[4:]
    n += 1
    open("msg-%02d.hex" % n, "w").write(b.hex() + "\n")
