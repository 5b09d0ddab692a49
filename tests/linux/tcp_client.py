#!/usr/bin/env python3
"""Connect to 127.0.0.1:PORT, send HELLO, read until MARKER arrives.

Used by the Linux net test and benchmark: a hostfwd port accepts as soon as
the VMM starts, before the guest listens, so an attempt that ends without
the marker is retried (bounded).  Exit 0 and print what was read on
success, 1 after the last attempt.
usage: tcp_client.py PORT MARKER HELLO [ATTEMPTS]
"""
import socket
import sys
import time


def main():
    port, marker, hello = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3].encode()
    attempts = int(sys.argv[4]) if len(sys.argv) > 4 else 60
    for _ in range(attempts):
        data = b""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.settimeout(120)
                s.sendall(hello + b"\n")
                while marker not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
        except OSError:
            pass
        if marker in data:
            sys.stdout.write(data.decode(errors="replace"))
            return 0
        time.sleep(2)
    return 1


if __name__ == "__main__":
    sys.exit(main())
