#!/usr/bin/env python3
"""Registration load for the durability test: registers every user of a users file
(`user password` lines) as fast as it can, several registrations in flight, each
REGISTER -> 401 -> REGISTER with digest -> 200, retransmitting after 500 ms.

Writes "AOR CALL-ID" of every registration that got its 200 OK to --ok-file (one a line), the
AORs that got any other final answer to --failed-file, and a one-line JSON summary on stdout.
With --kill-pid PID --kill-after N it sends SIGKILL to PID as soon as N registrations have
been answered 200, and goes on until nothing has been heard for --idle seconds: requests
are in flight at that moment, some of them already committed but not answered.
"""
import argparse
import json
import os
import select
import signal
import socket
import sys
import time

import sipudp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True, help="IP:PORT")
    ap.add_argument("--users", required=True)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--window", type=int, default=64, help="registrations in flight")
    ap.add_argument("--ok-file", required=True)
    ap.add_argument("--failed-file", required=True)
    ap.add_argument("--kill-pid", type=int, default=0)
    ap.add_argument("--kill-after", type=int, default=0)
    ap.add_argument("--idle", type=float, default=1.5)
    ap.add_argument("--deadline", type=float, default=120)
    a = ap.parse_args()

    host, port = a.server.rsplit(":", 1)
    server = (host, int(port))
    users = []
    with open(a.users) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                users.append((parts[0], parts[1]))

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    local = sock.getsockname()
    uri = "sip:" + a.domain

    pending = {}  # branch -> registration state
    ok, failed = [], []
    next_user = 0
    seq = 0
    killed_at = None
    last_heard = time.monotonic()
    start = time.monotonic()

    def send(st):
        sock.sendto(st["msg"], server)
        st["sent"] = time.monotonic()

    def begin(i):
        nonlocal seq
        user, pw = users[i]
        seq += 1
        br = "z9hG4bKload%d-1" % seq
        st = {"user": user, "pw": pw, "call_id": "load-%d-%s" % (seq, os.urandom(4).hex()),
              "stage": 1, "branch": br, "tries": 0}
        st["msg"] = sipudp.register(user, a.domain, local, br, st["call_id"], 1, expires=3600)
        pending[br] = st
        send(st)

    while True:
        now = time.monotonic()
        while len(pending) < a.window and next_user < len(users) and killed_at is None:
            begin(next_user)
            next_user += 1
        if not pending and (next_user >= len(users) or killed_at is not None):
            break
        if now - start > a.deadline:
            break
        if killed_at is not None and now - last_heard > a.idle:
            break
        r, _, _ = select.select([sock], [], [], 0.05)
        if r:
            while True:
                try:
                    data, _ = sock.recvfrom(65535)
                except BlockingIOError:
                    break
                last_heard = time.monotonic()
                br = sipudp.branch_of(data)
                st = pending.get(br.decode()) if br else None
                if st is None:
                    continue  # a late answer to a retransmission
                resp = sipudp.Response(data)
                if resp.status < 200:
                    continue
                del pending[st["branch"]]
                aor = "sip:%s@%s" % (st["user"], a.domain)
                if st["stage"] == 1 and resp.status == 401:
                    ch = resp.challenges().get("MD5")
                    if ch is None:
                        failed.append(aor)
                        continue
                    auth = sipudp.authorization(ch, "MD5", st["user"], st["pw"], "REGISTER", uri)
                    seq += 1
                    nb = "z9hG4bKload%d-2" % seq
                    st.update(stage=2, branch=nb, tries=0)
                    st["msg"] = sipudp.register(st["user"], a.domain, local, nb, st["call_id"], 2,
                                                expires=3600, auth=auth)
                    pending[nb] = st
                    send(st)
                elif st["stage"] == 2 and resp.status == 200:
                    ok.append("%s %s" % (aor, st["call_id"]))
                    if a.kill_pid and killed_at is None and len(ok) >= a.kill_after:
                        os.kill(a.kill_pid, signal.SIGKILL)
                        killed_at = time.monotonic()
                else:
                    failed.append(aor)
        # retransmit (RFC 3261 Timer E, simplified: every 500 ms, at most 10 times)
        now = time.monotonic()
        for st in list(pending.values()):
            if now - st["sent"] >= 0.5:
                if st["tries"] >= 10:
                    del pending[st["branch"]]
                    continue
                st["tries"] += 1
                send(st)

    with open(a.ok_file, "w") as f:
        f.write("".join(x + "\n" for x in ok))
    with open(a.failed_file, "w") as f:
        f.write("".join(x + "\n" for x in failed))
    json.dump({"ok": len(ok), "failed": len(failed), "unanswered": len(pending),
               "started": next_user, "killed": killed_at is not None,
               "seconds": round(time.monotonic() - start, 3)}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
