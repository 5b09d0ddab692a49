#!/usr/bin/env python3
"""Download http://127.0.0.1:PORT/PATH, then knock on 127.0.0.1:DONE_PORT.

Used by bench/net.sh to time a guest-to-host transfer through a hostfwd
port (busybox httpd in the guest); the knock tells the guest the host is
done.  A hostfwd port accepts before the guest listens, so attempts that
fail or come up short are retried (bounded).  Prints "bytes=N secs=S".
usage: http_pull.py PORT PATH NBYTES DONE_PORT
"""
import socket
import sys
import time
import urllib.request


def main():
    port, path, want, done = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    result = "bytes=0 secs=0"
    for _ in range(30):
        try:
            t0 = time.monotonic()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=120) as r:
                n = 0
                while True:
                    b = r.read(1 << 16)
                    if not b:
                        break
                    n += len(b)
            if n >= want:
                result = f"bytes={n} secs={time.monotonic() - t0:.3f}"
                break
        except OSError:
            pass
        time.sleep(2)
    for _ in range(30):
        try:
            socket.create_connection(("127.0.0.1", done), timeout=10).close()
            break
        except OSError:
            time.sleep(2)
    print(result, flush=True)
    return 0 if result != "bytes=0 secs=0" else 1


if __name__ == "__main__":
    sys.exit(main())
