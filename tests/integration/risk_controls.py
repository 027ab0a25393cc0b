#!/usr/bin/env python3
"""Drives the pre-trade controls of a live tradsys-dataplane to their limits.

The dataplane runs handler = trading with no strategy against tradsys-exsim (see
test_risk_controls.sh). Every order here is a manual order through the worker's command ring
(tradsys-dataplane --command), checked by risk like any strategy order; limits and kill switches
change at run time through the same ring. Each order's fate is read from the stats region
(--stats): either orders_sent moved (it went to the venue) or one reason's refusal counter did.

Usage: risk_controls.py DATAPLANE INSTANCE EXSIM_CONTROL_SOCKET SENT_FILE
Writes the orders that went out as "SIDE PRICE QTY" lines to SENT_FILE, for the caller to compare
with what the venue recorded. Exit 0 when every order met the expected fate, 1 otherwise.
"""
import json
import socket
import subprocess
import sys
import time

DP, INST, EXSIM_SOCK, SENT_FILE = sys.argv[1:5]
AAPL = 1          # the venue's stock locate of AAPL: the instrument id of orders and limits
LOW = 1000000     # $100.00: a buy far below AAPL's $150 that rests (inside a 50 % collar)
HIGH = 2000000    # $200.00: a sell far above
sent = []         # (side, price, qty) of the orders that went out
open_buys = []    # (price, qty) of account 0's resting buys and sells
open_sells = []
failures = 0
serial = 0        # quantities differ from order to order: account 0 refuses duplicates


def stats():
    out = subprocess.run([DP, "--stats", INST], capture_output=True, check=True).stdout
    return json.loads(out)["workers"][0]["trading"]


def command(*args):
    subprocess.run([DP, "--command", INST, "0", *map(str, args)], check=True,
                   capture_output=True)


def exsim(line):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(EXSIM_SOCK)
        s.sendall(line.encode() + b"\n")
        return s.recv(200).decode().strip()


def fate(before, timeout=10.0):
    """What happened to the one order sent after the snapshot before."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        now = stats()
        if now["orders_sent"] > before["orders_sent"]:
            return "sent"
        for why, n in now["risk_rejects_by"].items():
            if n > before["risk_rejects_by"].get(why, 0):
                return why
        time.sleep(0.01)
    return "nothing"


def order(step, want, account, side, qty, price):
    """Sends one manual order and checks its fate is want ("sent" or a refusal reason)."""
    global failures
    before = stats()
    command("order", account, 0, AAPL, side, qty, price)
    got = fate(before)
    mark = "ok  " if got == want else "FAIL"
    print(f"{mark} {step}: account {account} {side} {qty} @ {price / 10000:.2f}: {got}"
          + ("" if got == want else f" (expected {want})"), flush=True)
    if got != want:
        failures += 1
    if got == "sent":
        sent.append((side, price, qty))
        if account == 0:
            (open_buys if side == "B" else open_sells).append((price, qty))
    return got


def qty():
    global serial
    serial += 1
    return 10 + serial


def notional(orders):
    return sum(p * q for p, q in orders)


def await_open(n, timeout=10.0):
    """Until account 0 has n open orders (the venue answered what was asked of it)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        acc = [a for a in stats().get("accounts", []) if a["id"] == 0]
        if acc and acc[0]["open_orders"] == n:
            return True
        time.sleep(0.05)
    return False


# Orders that pass, resting far from the market on both sides.
order("a buy within every limit", "sent", 0, "B", qty(), LOW)
order("a sell within every limit", "sent", 0, "S", qty(), HIGH)
order("another buy", "sent", 0, "B", qty(), LOW + 100)

# The order alone against its instrument.
order("max_order_qty 1000", "max_qty", 0, "B", 1001, LOW)
command("limit", "instrument", AAPL, "max_order_notional", 500 * LOW)  # $50,000
order("max_order_notional $50,000", "max_notional", 0, "B", 501, LOW)
order("just at max_order_notional", "sent", 0, "B", 500, LOW)
command("limit", "instrument", AAPL, "max_order_notional", 500000 * 10000)
order("collar 50 % around $150", "price_collar", 0, "B", qty(), 500000)

# The order against the position and open orders of its side.
q = qty()
long_now = sum(x for _, x in open_buys)
command("limit", "instrument", AAPL, "max_long", long_now + q - 1)
order("max_long one share short of the order", "max_long", 0, "B", q, LOW)
command("limit", "instrument", AAPL, "max_long", long_now + q)
order("max_long exactly at the order", "sent", 0, "B", q, LOW + 200)
command("limit", "instrument", AAPL, "max_long", 5000)
q = qty()
short_now = sum(x for _, x in open_sells)
command("limit", "instrument", AAPL, "max_short", short_now + q - 1)
order("max_short one share short of the order", "max_short", 0, "S", q, HIGH)
command("limit", "instrument", AAPL, "max_short", 5000)

# The account's exposure: open notional of both sides (no position: nothing filled).
q = qty()
n = q * LOW
gross = notional(open_buys) + notional(open_sells)
command("limit", "account", 0, "max_gross_exposure", gross + n - 1)
order("max_gross_exposure", "gross_exposure", 0, "B", q, LOW)
command("limit", "account", 0, "max_gross_exposure", 2000000 * 10000)
net = abs(notional(open_buys) - notional(open_sells) + n)
command("limit", "account", 0, "max_net_exposure", net - 1)
order("max_net_exposure", "net_exposure", 0, "B", q, LOW)
command("limit", "account", 0, "max_net_exposure", 0)
command("limit", "account", 0, "credit_limit", gross + n - 1)
order("credit_limit", "credit", 0, "B", q, LOW)
command("limit", "account", 0, "credit_limit", 0)
command("limit", "account", 0, "max_open_orders", len(open_buys) + len(open_sells))
order("max_open_orders", "max_open_orders", 0, "B", q, LOW)
command("limit", "account", 0, "max_open_orders", 50)

# Duplicates within the account's 2 s window, and a cross with its own resting sell.
q = qty()
order("a new order", "sent", 0, "B", q, LOW + 300)
order("the same order again", "duplicate", 0, "B", q, LOW + 300)
order("a buy at our own resting sell", "self_cross", 0, "B", qty(), HIGH)

# Account 1: cash for buys, no short selling, one new order a second.
order("account 1: a buy within its cash", "sent", 1, "B", 5, LOW)
order("account 1: the next order within the second", "order_rate", 1, "B", 6, LOW)
time.sleep(1.2)
order("account 1: a buy beyond its cash", "cash", 1, "B", 200, LOW)
order("account 1: a sell with no position", "no_short", 1, "S", 7, HIGH)
order("an account with no limits", "no_limits", 3, "B", 8, LOW)
order("a quantity of 0", "bad_order", 0, "B", 0, LOW)

# The venue halts the instrument, then resumes it.
if exsim("halt AAPL").split()[0] != "ok":
    print("FAIL exsim did not take the halt", flush=True)
    failures += 1
time.sleep(1.0)
order("a halted instrument", "halted", 0, "B", qty(), LOW)
exsim("resume AAPL")
time.sleep(1.0)
order("trading resumed", "sent", 0, "B", qty(), LOW + 400)

# Kill switches: each scope refuses, and switching on cancels the open orders at the venue.
command("kill", "on", "instrument", AAPL)
order("instrument kill switch", "kill_instrument", 0, "B", qty(), LOW)
command("kill", "off", "instrument", AAPL)
command("kill", "on", "account", 0)
order("account kill switch", "kill_account", 0, "B", qty(), LOW)
command("kill", "off", "account", 0)
order("after the account kill switch", "sent", 0, "B", qty(), LOW + 500)
command("kill", "on")
order("firm kill switch", "kill_firm", 0, "S", qty(), HIGH)
if not await_open(0):
    print("FAIL the firm kill switch left account 0 with open orders", flush=True)
    failures += 1
else:
    print("ok   the kill switches cancelled every open order of account 0", flush=True)

with open(SENT_FILE, "w") as f:
    for side, price, q in sent:
        f.write(f"{side} {price} {q}\n")
print(f"{len(sent)} orders went out, {failures} unexpected fates", flush=True)
sys.exit(1 if failures else 0)
