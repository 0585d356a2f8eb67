#!/usr/bin/env python3
"""Encodes <name>.events.jsonl (one {"headers": {...string headers...}, "payload": {...}} per line) into <name>.bin in
the AWS event-stream binary framing (application/vnd.amazon.eventstream), with CRC-32 from zlib, independent of the
library's own encoder. Usage: python3 encode-event-stream.py converse-stream.events.jsonl ..."""
import json, struct, sys, zlib

def encode(headers, payload):
    head = b""
    for name, value in headers.items():
        n, v = name.encode(), value.encode()
        head += struct.pack(">B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + head + payload
    return message + struct.pack(">I", zlib.crc32(message))

for path in sys.argv[1:]:
    with open(path) as source, open(path.replace(".events.jsonl", ".bin"), "wb") as target:
        for line in source:
            if line.strip():
                event = json.loads(line)
                target.write(encode(event["headers"], json.dumps(event["payload"], separators=(",", ":"), ensure_ascii=False).encode()))
