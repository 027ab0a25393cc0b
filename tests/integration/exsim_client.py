#!/usr/bin/env python3
"""A scripted OUCH 4.2 over SoupBinTCP 3.0 client for the Wireshark test.

Usage: exsim_client.py HOST OUCH_PORT REQUEST_PORT SESSION
Logs in as alice and bob, enters orders that rest, cross, get canceled and replaced, sends one
MoldUDP64 re-request to the venue, logs out, and prints each OUCH message it received as
"<user> <type> <token> <price>" so the test can compare it with the venue's records.
"""
import socket
import struct
import sys
import time

host, ouch_port, req_port, session = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]


def packet(ptype, payload=b""):
    return struct.pack(">H", len(payload) + 1) + ptype + payload


class Client:
    def __init__(self, user, password):
        self.user = user
        self.s = socket.create_connection((host, ouch_port), timeout=5)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        login = (user.ljust(6) + password.ljust(10) + " " * 10 + "1".rjust(20)).encode()
        self.s.sendall(packet(b"L", login))
        ptype, payload = self.next()
        assert ptype == b"A", f"{user}: login answered {ptype!r}"
        self.seen = []

    def next(self):
        while True:
            if len(self.buf) >= 2:
                n = struct.unpack(">H", self.buf[:2])[0]
                if len(self.buf) >= 2 + n:
                    p = self.buf[2 : 2 + n]
                    self.buf = self.buf[2 + n :]
                    if p[:1] == b"H":
                        continue
                    return p[:1], p[1:]
            data = self.s.recv(65536)
            assert data, f"{self.user}: connection closed"
            self.buf += data

    def ouch(self):
        ptype, m = self.next()
        assert ptype == b"S", f"{self.user}: expected a sequenced packet, got {ptype!r}"
        t = m[:1].decode()
        token, price = "", 0
        if t == "A":
            token, price = m[9:23].decode().strip(), struct.unpack(">I", m[36:40])[0]
        elif t == "U":
            token, price = m[9:23].decode().strip(), struct.unpack(">I", m[36:40])[0]
        elif t in "CEJB":
            token = m[9:23].decode().strip()
            if t == "E":
                price = struct.unpack(">I", m[27:31])[0]
        print(f"{self.user} {t} {token} {price}")
        return t

    def enter(self, token, side, shares, stock, price, tif=99998):
        m = (b"O" + token.ljust(14).encode() + side.encode() + struct.pack(">I", shares)
             + stock.ljust(8).encode() + struct.pack(">I", price) + struct.pack(">I", tif)
             + b"    " + b"Y" + b"A" + b"N" + struct.pack(">I", 0) + b"N" + b"N")
        assert len(m) == 49
        self.s.sendall(packet(b"U", m))

    def cancel(self, token, shares):
        self.s.sendall(packet(b"U", b"X" + token.ljust(14).encode() + struct.pack(">I", shares)))

    def replace(self, old, new, shares, price):
        m = (b"U" + old.ljust(14).encode() + new.ljust(14).encode() + struct.pack(">I", shares)
             + struct.pack(">I", price) + struct.pack(">I", 99998) + b"Y" + b"N"
             + struct.pack(">I", 0))
        assert len(m) == 47
        self.s.sendall(packet(b"U", m))

    def logout(self):
        self.s.sendall(packet(b"O"))
        self.s.close()


a = Client("alice", "wonderland")
b = Client("bob", "builder123")
assert a.ouch() == "S" and b.ouch() == "S"  # start of day
for i in range(10):
    a.enter(f"AB{i}", "B", 100 * (i + 1), "QUIET", 1490000 - 100 * i)
    assert a.ouch() == "A"
b.enter("BS0", "S", 400, "QUIET", 1489900, tif=0)  # IOC through the best two bids
assert b.ouch() == "A"
while b.ouch() != "C":  # executions, then the IOC remainder canceled
    pass
a.ouch()
a.ouch()  # alice's two executions
a.cancel("AB5", 0)
assert a.ouch() == "C"
a.replace("AB6", "AR6", 300, 1489000)
assert a.ouch() == "U"
b.enter("BX1", "S", 100, "ZZZZ", 1000000)
assert b.ouch() == "J"

# One MoldUDP64 re-request, answered to this socket from the venue's request port.
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.settimeout(5)
r.sendto(session.ljust(10).encode() + struct.pack(">QH", 1, 5), (host, req_port))
answer, _ = r.recvfrom(2048)
seq, count = struct.unpack(">QH", answer[10:20])
assert seq == 1 and count == 5, (seq, count)
print(f"rerequest {seq} {count}")
time.sleep(0.2)
a.logout()
b.logout()
