#!/usr/bin/env python3
"""Robustness load for sipreg serve: a few thousand garbled datagrams (random bytes, truncated
and mutated REGISTERs, extreme numbers, huge headers, an oversized 65000-byte datagram, empty
datagrams, responses) sent from 127.0.0.2, with a complete registration of a real user from
127.0.0.1 after every burst. Then malformed requests that can be answered (from 127.0.0.3)
must get 400 with the parser's reason, and responses/ACKs (from 127.0.0.4) get nothing.

Prints one line per check, "ok<TAB>name" or "FAIL<TAB>name<TAB>detail", for the calling
script to count. The seed (--seed) makes a run reproducible.
"""
import argparse
import random
import re
import socket
import time

import sipudp

BASE = ("REGISTER sip:{dom} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP {ip}:{port};rport;branch=z9hG4bK{br}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:{user}@{dom}>;tag={tag}\r\n"
        "To: <sip:{user}@{dom}>\r\n"
        "Call-ID: {cid}\r\n"
        "CSeq: {cseq} REGISTER\r\n"
        "Contact: <sip:{user}@{ip}:{port}>;expires=600\r\n"
        "Authorization: Digest username=\"{user}\", realm=\"{dom}\", nonce=\"AAAA{br}\", "
        "uri=\"sip:{dom}\", response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5, "
        "qop=auth, nc=00000001, cnonce=\"c{br}\"\r\n"
        "User-Agent: garbage/1\r\n"
        "Content-Length: 0\r\n\r\n")

EXTREMES = [b"-1", b"0", b"4294967295", b"4294967296", b"18446744073709551616",
            b"99999999999999999999999999", b"", b" ", b"0x10", b"1e9", b"+5", b"\xff"]


class Garbler:
    def __init__(self, rng, local, user, dom):
        self.rng, self.local, self.user, self.dom = rng, local, user, dom
        self.n = 0
        self.kinds = {}

    def valid(self):
        self.n += 1
        r = self.rng
        return BASE.format(dom=self.dom, ip=self.local[0], port=self.local[1], user=self.user,
                           br="g%d%x" % (self.n, r.getrandbits(32)), tag="t%d" % self.n,
                           cid="garbage-%d-%x" % (self.n, r.getrandbits(32)),
                           cseq=r.randrange(1, 1 << 31)).encode()

    def make(self):
        r = self.rng
        kind = r.choice(["random", "truncated", "bitflip", "splice", "duplicate", "delete",
                         "huge-header", "numbers", "crlf", "nul", "many-contacts", "params",
                         "response", "method", "compact", "auth", "empty", "binary-tail"])
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        v = self.valid()
        if kind == "random":
            return r.randbytes(r.randrange(1, 1500))
        if kind == "truncated":
            return v[:r.randrange(0, len(v))]
        if kind == "bitflip":
            b = bytearray(v)
            for _ in range(r.randrange(1, 12)):
                i = r.randrange(len(b))
                b[i] ^= 1 << r.randrange(8)
            return bytes(b)
        if kind == "splice":
            b = bytearray(v)
            for _ in range(r.randrange(1, 6)):
                i = r.randrange(len(b))
                b[i:i] = r.choice([b"<", b">", b"\"", b";", b",", b":", b"@", b"\\", b"%",
                                   b"%zz", b"\r\n", b"\r\n ", b"\r\n\r\n", b"=", b"[", b"]",
                                   r.randbytes(r.randrange(1, 40))])
            return bytes(b)
        lines = v.split(b"\r\n")
        head = lines[:-2]  # without the blank line and the empty body
        if kind == "duplicate":
            i = r.randrange(1, len(head))
            head[i:i] = [head[i]] * r.randrange(2, 300)
            return b"\r\n".join(head) + b"\r\n\r\n"
        if kind == "delete":
            for _ in range(r.randrange(1, 4)):
                if len(head) > 1:
                    del head[r.randrange(len(head))]
            return b"\r\n".join(head) + b"\r\n\r\n"
        if kind == "huge-header":
            name = r.choice([b"Via", b"To", b"Contact", b"X-Junk", b"Call-ID", b"Authorization"])
            head.insert(r.randrange(1, len(head)),
                        name + b": " + b"a" * r.randrange(1000, 60000))
            return b"\r\n".join(head) + b"\r\n\r\n"
        if kind == "numbers":
            t = v
            for pat in (rb"(CSeq: )\d+", rb"(Max-Forwards: )\d+", rb"(Content-Length: )\d+",
                        rb"(expires=)\d+", rb"(:)\d+(>)", rb"(nc=)\d+"):
                if r.random() < 0.5:
                    x = r.choice(EXTREMES)
                    t = re.sub(pat, lambda m: m.group(1) + x + (m.group(2) if m.lastindex > 1
                                                                else b""), t, count=1)
            return t
        if kind == "crlf":
            return v.replace(b"\r\n", r.choice([b"\n", b"\r", b"\r\r\n", b"\n\r"]))
        if kind == "nul":
            b = bytearray(v)
            for _ in range(r.randrange(1, 5)):
                b[r.randrange(len(b))] = 0
            return bytes(b)
        if kind == "many-contacts":
            cs = b", ".join(b"<sip:c%d@192.0.2.%d:%d>;expires=%d;q=0.%d" %
                            (i, i % 250, 5060 + i, r.randrange(0, 9999), r.randrange(10))
                            for i in range(r.randrange(30, 400)))
            head.insert(3, b"Contact: " + cs)
            return b"\r\n".join(head) + b"\r\n\r\n"
        if kind == "params":
            ps = b"".join(b";p%d=%s" % (i, r.choice([b"", b"x", b"\"q\"", b"%41", b"[::1]"]))
                          for i in range(r.randrange(10, 500)))
            i = r.randrange(1, len(head))
            head[i] += ps
            return b"\r\n".join(head) + b"\r\n\r\n"
        if kind == "response":
            head[0] = r.choice([b"SIP/2.0 200 OK", b"SIP/2.0 401 Unauthorized", b"SIP/2.0 999",
                                b"SIP/2.0 abc Bad", b"SIP/9.9 200 OK"])
            return b"\r\n".join(head) + b"\r\n\r\n"
        if kind == "method":
            m = r.choice([b"INVITE", b"ACK", b"BYE", b"CANCEL", b"SUBSCRIBE", b"register",
                          b"REGISTERX", b"R\xc3\xa9GISTER", b"X" * 300, b"", b"OPTIONS"])
            head[0] = m + b" " + head[0].split(b" ", 1)[1]
            return b"\r\n".join(head) + b"\r\n\r\n"
        if kind == "compact":
            t = v
            for full, short in ((b"Via:", b"v:"), (b"From:", b"f:"), (b"To:", b"t:"),
                                (b"Call-ID:", b"i:"), (b"Contact:", b"m:"),
                                (b"Content-Length:", b"l:")):
                if r.random() < 0.5:
                    t = t.replace(full, short)
            if r.random() < 0.5:
                t = t.replace(b"\r\n", b"\r\n \t", 1)  # a folded line in the wrong place
            return t
        if kind == "auth":
            bad = r.choice([b"Digest", b"Digest ,,,,", b"Digest username=\"x", b"Digest nc=zz",
                            b"Digest username=\"a\", username=\"b\"", b"Basic YWxhZGRpbg==",
                            b"Digest response=\"" + b"f" * 5000 + b"\"",
                            b"Digest realm=\"" + b"\\\"" * 200 + b"\""])
            t = re.sub(rb"Authorization: [^\r]*", lambda m: b"Authorization: " + bad, v)
            return t
        if kind == "empty":
            return b""
        # binary-tail: a valid head followed by binary junk the Content-Length does not cover
        return v + r.randbytes(r.randrange(1, 3000))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--count", type=int, default=4000)
    ap.add_argument("--burst", type=int, default=100)
    ap.add_argument("--seed", type=int, required=True)
    a = ap.parse_args()
    host, port = a.server.rsplit(":", 1)
    server = (host, int(port))
    rng = random.Random(a.seed)
    results = []

    def report(name, ok, detail=""):
        results.append(ok)
        print("%s\t%s\t%s" % ("ok" if ok else "FAIL", name, detail), flush=True)

    junk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    junk.bind(("127.0.0.2", 0))
    junk.setblocking(False)
    g = Garbler(rng, junk.getsockname(), a.user, a.domain)
    legit = sipudp.Client(server, "127.0.0.1")
    contact = "<sip:%s@127.0.0.1:%d>" % (a.user, legit.local[1])

    def drain():
        while True:
            try:
                junk.recvfrom(65535)
            except (BlockingIOError, ConnectionRefusedError):
                return

    sent = flows = flows_ok = 0
    bad_flows = []
    special = [b"", b"REGISTER sip:" + a.domain.encode() + b" SIP/2.0\r\nX-Pad: " +
               b"p" * 64900 + b"\r\n\r\n"]  # an empty and a 65000-byte datagram
    while sent < a.count:
        # (UDP over IPv4 carries at most 65507 bytes; the largest datagram sent is 65000)
        burst = [g.make()[:65000] for _ in range(min(a.burst, a.count - sent))]
        if sent == 0:
            burst = special + burst
        for d in burst:
            try:
                junk.sendto(d, server)
            except OSError as e:  # a datagram too large for the socket is itself a finding
                report("garbage datagram of %d bytes could be sent" % len(d), False, str(e))
            sent += 1
        drain()
        flows += 1
        first, final = legit.register_auth(a.user, a.password, a.domain,
                                           "legit-%d-%x" % (flows, rng.getrandbits(32)),
                                           contact=contact)
        if (first is not None and first.status == 401 and final is not None and
                final.status == 200 and
                any(c.startswith(contact + ";expires=") for c in final.all("Contact"))):
            flows_ok += 1
        else:
            bad_flows.append("flow %d: %s / %s" % (flows, first and first.start,
                                                    final and final.start))
        drain()
    kinds = " ".join("%s=%d" % kv for kv in sorted(g.kinds.items()))
    print("#\tsent %d garbage datagrams (%s)" % (sent, kinds), flush=True)
    report("every registration between the garbage bursts got 401 then 200 (%d/%d)"
           % (flows_ok, flows), flows_ok == flows, "; ".join(bad_flows[:5]))

    # malformed requests that can be answered: 400 and the reason
    m = sipudp.Client(server, "127.0.0.3")

    def req(name, lines):
        br = m.new_branch()
        text = "\r\n".join(l.format(ip=m.local[0], port=m.local[1], br=br, dom=a.domain,
                                    user=a.user) for l in lines) + "\r\n\r\n"
        return text.encode()

    good = ["REGISTER sip:{dom} SIP/2.0", "Via: SIP/2.0/UDP {ip}:{port};rport;branch={br}",
            "Max-Forwards: 70", "From: <sip:{user}@{dom}>;tag=m1", "To: <sip:{user}@{dom}>",
            "Call-ID: malformed-{br}", "CSeq: 1 REGISTER", "Contact: <sip:{user}@{ip}:{port}>",
            "Content-Length: 0"]

    def variant(i, new):
        v = list(good)
        v[i] = new
        return v

    cases = [
        ("non-numeric CSeq", variant(6, "CSeq: abc REGISTER"), "Bad CSeq"),
        ("CSeq method not the request's", variant(6, "CSeq: 1 INVITE"), "CSeq Method Mismatch"),
        ("non-numeric Content-Length", variant(8, "Content-Length: x"), "Bad Content-Length"),
        ("Content-Length beyond the datagram", variant(8, "Content-Length: 50"),
         "Content-Length Exceeds Message"),
        ("non-numeric Max-Forwards", variant(2, "Max-Forwards: many"), "Bad Max-Forwards"),
    ]
    for name, lines, reason in cases:
        r = m.request(req(name, lines), timeout=2.0)
        ok = r is not None and r.status == 400 and r.reason == reason
        report("malformed request (%s) gets 400 %s" % (name, reason), ok,
               r.start if r else "no answer")

    # ... and those only found after authentication: the challenge, then 400 and the reason
    for name, contact_v, extra, reason in (
            ("unclosed Contact", "<sip:%s@127.0.0.3:5060" % a.user, (), "Malformed Contact"),
            ("Contact expires not a number", "<sip:%s@127.0.0.3:5060>;expires=abc" % a.user, (),
             "Malformed Contact"),
            ("Expires not a number", True, ("Expires: soon",), "Bad Expires")):
        cid = "malformed-auth-%x" % rng.getrandbits(32)
        r1 = m.request(sipudp.register(a.user, a.domain, m.local, m.new_branch(), cid, 1,
                                       contact=contact_v, extra=extra))
        r2 = None
        if r1 is not None and r1.status == 401:
            auth = sipudp.authorization(r1.challenges()["MD5"], "MD5", a.user, a.password,
                                        "REGISTER", "sip:" + a.domain)
            r2 = m.request(sipudp.register(a.user, a.domain, m.local, m.new_branch(), cid, 2,
                                           contact=contact_v, extra=extra, auth=auth))
        ok = r2 is not None and r2.status == 400 and r2.reason == reason
        report("authenticated REGISTER with %s gets 400 %s" % (name, reason), ok,
               "%s / %s" % (r1 and r1.start, r2 and r2.start))

    # never answered: responses, ACKs, garbage without a usable Via
    q = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    q.bind(("127.0.0.4", 0))
    qp = q.getsockname()[1]
    quiet = [
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.4:%d;branch=z9hG4bKr1\r\nFrom: <sip:a@%s>;"
        "tag=1\r\nTo: <sip:a@%s>\r\nCall-ID: r1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
        % (qp, a.domain, a.domain),
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.4:%d;branch=z9hG4bKr2\r\nCSeq: x\r\n\r\n" % qp,
        "ACK sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.4:%d;branch=z9hG4bKr3\r\nFrom: <sip:a@%s>"
        ";tag=1\r\nTo: <sip:a@%s>;tag=2\r\nCall-ID: r3\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
        % (a.domain, qp, a.domain, a.domain),
        "REGISTER sip:%s SIP/2.0\r\nVia: garbage\r\nCSeq: 1 REGISTER\r\n\r\n" % a.domain,
        "\x00\x01\x02 not SIP at all",
    ]
    for d in quiet:
        q.sendto(d.encode(), server)
    q.settimeout(1.0)
    try:
        got = q.recv(65535)
        report("responses, ACKs and requests without a usable Via get no answer", False,
               got[:80])
    except socket.timeout:
        report("responses, ACKs and requests without a usable Via get no answer", True)

    # a last query: the legitimate binding is the only one, with its expiry
    first, final = legit.register_auth(a.user, a.password, a.domain, "legit-query", contact=None)
    cs = final.all("Contact") if final is not None and final.status == 200 else []
    report("the query lists exactly the legitimate binding", len(cs) == 1 and
           cs[0].startswith(contact + ";expires="), "%s %s" % (final and final.start, cs))
    return 0


if __name__ == "__main__":
    main()
