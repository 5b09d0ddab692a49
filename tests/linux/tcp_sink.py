#!/usr/bin/env python3
"""Accept one TCP connection on 127.0.0.1:PORT, read NBYTES, close.

Prints "bytes=N secs=S" (S from the first byte to the last), used by
bench/net.sh to time guest-to-host throughput on the host's clock.  Gives
up after TIMEOUT seconds (default 900) without a complete transfer.
usage: tcp_sink.py PORT NBYTES [TIMEOUT]
"""
import socket
import sys
import time


def main():
    port, want = int(sys.argv[1]), int(sys.argv[2])
    deadline = time.monotonic() + (float(sys.argv[3]) if len(sys.argv) > 3 else 900)
    with socket.socket() as ls:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", port))
        ls.listen(1)
        ls.settimeout(max(1.0, deadline - time.monotonic()))
        try:
            conn, _ = ls.accept()
        except OSError:
            print("bytes=0 secs=0 error=no-connection", flush=True)
            return 1
        got, t0 = 0, None
        with conn:
            conn.settimeout(60)
            try:
                while got < want and time.monotonic() < deadline:
                    chunk = conn.recv(1 << 16)
                    if not chunk:
                        break
                    if t0 is None:
                        t0 = time.monotonic()
                    got += len(chunk)
            except OSError:
                pass
            secs = time.monotonic() - t0 if t0 is not None else 0
    print(f"bytes={got} secs={secs:.3f}", flush=True)
    return 0 if got >= want else 1


if __name__ == "__main__":
    sys.exit(main())
