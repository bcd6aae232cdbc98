"""A small SIP-over-UDP client for the integration tests: builds REGISTERs, parses responses
and challenges, and computes digest answers (RFC 7616: MD5, SHA-256; qop=auth or none).

Deliberately independent of sipreg's own code, so that it checks the server from outside.
"""
import hashlib
import os
import re
import socket
import time

HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def h(alg, s):
    return HASHES[alg](s.encode()).hexdigest()


def parse_params(s):
    """'Digest a="x", b=y' (without the scheme) -> {'a': 'x', 'b': 'y'}, keys lowercased."""
    out = {}
    for m in re.finditer(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?', s):
        v = m.group(2)
        if v.startswith('"'):
            v = v[1:-1]
        out[m.group(1).lower()] = v
    return out


class Response:
    def __init__(self, data):
        self.raw = data
        text = data.decode("utf-8", "replace")
        head, _, self.body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        self.start = lines[0]
        m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)$", lines[0])
        self.status = int(m.group(1)) if m else 0
        self.reason = m.group(2) if m else ""
        self.headers = []  # (name, value) in order
        for ln in lines[1:]:
            name, _, value = ln.partition(":")
            self.headers.append((name.strip(), value.strip()))

    def all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def get(self, name):
        v = self.all(name)
        return v[0] if v else None

    def names(self):
        return [n for n, _ in self.headers]

    def challenges(self):
        """{algorithm: params} of every Digest WWW-Authenticate, in order (dicts keep order)."""
        out = {}
        for v in self.all("WWW-Authenticate"):
            if v[:6].lower() == "digest":
                p = parse_params(v[6:])
                out[p.get("algorithm", "MD5").upper()] = p
        return out


def authorization(ch, alg, user, password, method, uri, nc=1, cnonce=None):
    """The Authorization header value answering challenge params `ch` with algorithm `alg`."""
    cnonce = cnonce or os.urandom(8).hex()
    ha1 = h(alg, "%s:%s:%s" % (user, ch["realm"], password))
    ha2 = h(alg, "%s:%s" % (method, uri))
    ncs = "%08x" % nc
    if "qop" in ch:
        resp = h(alg, "%s:%s:%s:%s:auth:%s" % (ha1, ch["nonce"], ncs, cnonce, ha2))
        extra = ', qop=auth, nc=%s, cnonce="%s"' % (ncs, cnonce)
    else:
        resp = h(alg, "%s:%s:%s" % (ha1, ch["nonce"], ha2))
        extra = ""
    v = 'Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s' % (
        user, ch["realm"], ch["nonce"], uri, resp, alg)
    if "opaque" in ch:
        v += ', opaque="%s"' % ch["opaque"]
    return v + extra


def register(user, domain, local, branch, call_id, cseq, contact=True, expires=None, auth=None,
             ruri=None, extra=(), to_user=None):
    """A REGISTER as bytes. local = (ip, port) of the sending socket."""
    ruri = ruri or "sip:" + domain
    to = "sip:%s@%s" % (to_user or user, domain)
    lines = [
        "REGISTER %s SIP/2.0" % ruri,
        "Via: SIP/2.0/UDP %s:%d;rport;branch=%s" % (local[0], local[1], branch),
        "Max-Forwards: 70",
        "From: <%s>;tag=f%s" % (to, call_id[:8]),
        "To: <%s>" % to,
        "Call-ID: %s" % call_id,
        "CSeq: %d REGISTER" % cseq,
    ]
    if contact is True:
        lines.append("Contact: <sip:%s@%s:%d>" % (user, local[0], local[1]))
    elif contact:
        lines.append("Contact: %s" % contact)
    if expires is not None:
        lines.append("Expires: %d" % expires)
    if auth:
        lines.append("Authorization: " + auth)
    lines.extend(extra)
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def branch_of(data):
    m = re.search(rb"branch=([^;\s,]+)", data)
    return m.group(1) if m else None


class Client:
    """One UDP socket; request() sends and waits for the final response of the same branch."""

    def __init__(self, server, bind_ip="127.0.0.1"):
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((bind_ip, 0))
        self.local = self.sock.getsockname()
        self.n = 0

    def new_branch(self):
        self.n += 1
        return "z9hG4bK%s%d" % (os.urandom(6).hex(), self.n)

    def send(self, data):
        self.sock.sendto(data, self.server)

    def recv_for(self, branch, timeout=3.0):
        """The next final response carrying `branch`, or None on timeout."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                return None
            if branch_of(data) == branch.encode():
                r = Response(data)
                if r.status >= 200:
                    return r

    def request(self, data, timeout=4.0):
        """Sends `data` and returns its final response (None after `timeout` s), retransmitting
        as RFC 3261 Timer E does over UDP: after 0.5 s, then 1, 2, 4 s."""
        branch = branch_of(data).decode()
        end = time.monotonic() + timeout
        interval = 0.5
        while True:
            self.send(data)
            left = end - time.monotonic()
            if left <= 0:
                return None
            r = self.recv_for(branch, min(interval, left))
            if r is not None:
                return r
            if time.monotonic() >= end:
                return None
            interval = min(interval * 2, 4.0)

    def register_auth(self, user, password, domain, call_id, cseq=1, alg="MD5", expires=600,
                      contact=True, to_user=None):
        """REGISTER, answer the 401 with `alg`: (first response, final response)."""
        r1 = self.request(register(user, domain, self.local, self.new_branch(), call_id, cseq,
                                   contact=contact, expires=expires, to_user=to_user))
        if r1 is None or r1.status != 401:
            return r1, None
        ch = r1.challenges().get(alg)
        if ch is None:
            return r1, None
        auth = authorization(ch, alg, user, password, "REGISTER", "sip:" + domain)
        r2 = self.request(register(user, domain, self.local, self.new_branch(), call_id, cseq + 1,
                                   contact=contact, expires=expires, auth=auth, to_user=to_user))
        return r1, r2

    def close(self):
        self.sock.close()
