#!/usr/bin/env python3
"""Test helpers for the sd_notify protocol (test_sd_notify.sh).

  listen SOCKET LOG [-- CMD...]
      Binds a unix datagram socket at SOCKET, the way systemd's notification socket is, and
      appends every message to LOG as one line: "<CLOCK_MONOTONIC seconds> <sender pid> <fields
      joined by '|'>". When a message carries READY=1 and CMD is given, CMD runs at once and its
      standard output is logged as a line "<time> ready-check <output on one line>", so the test
      can see what the stats region said when READY=1 arrived. Runs until SIGTERM.

  freeze PID THREAD_NAME
      Stops the one thread of PID named THREAD_NAME (a worker: ts-worker-N) while the others run
      on: PTRACE_SEIZE and PTRACE_INTERRUPT stop only the thread traced, unlike SIGSTOP, which
      stops the whole process. Prints "frozen TID" and holds the thread stopped until SIGTERM;
      exiting detaches it and it resumes. Needs CAP_SYS_PTRACE (root).
"""
import ctypes
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
WALL = 0x40000000  # __WALL: wait for a thread (a clone), not only a child process


def listen(path, log, cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    creds = struct.calcsize("3i")
    lock = threading.Lock()
    out = open(log, "a", buffering=1)

    def write(line):
        with lock:
            out.write(line)

    def check():
        # In its own thread, so the messages behind READY=1 are timed as they arrive.
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        text = r.stdout.decode(errors="replace").replace("\n", " ")
        write("%.6f ready-check %s\n" % (time.monotonic(), text))

    while True:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(creds))
        pid = 0
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", data[:creds])[0]
        fields = msg.decode(errors="replace").strip("\n").split("\n")
        write("%.6f %d %s\n" % (time.monotonic(), pid, "|".join(fields)))
        if "READY=1" in fields and cmd:
            threading.Thread(target=check, daemon=True).start()


def freeze(pid, name):
    tids = [t for t in os.listdir("/proc/%d/task" % pid)
            if open("/proc/%d/task/%s/comm" % (pid, t)).read().strip() == name]
    if len(tids) != 1:
        sys.exit("freeze: %d threads named %s in pid %d" % (len(tids), name, pid))
    tid = int(tids[0])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0:
        sys.exit("freeze: PTRACE_SEIZE %d: %s" % (tid, os.strerror(ctypes.get_errno())))
    if libc.ptrace(PTRACE_INTERRUPT, tid, None, None) != 0:
        sys.exit("freeze: PTRACE_INTERRUPT %d: %s" % (tid, os.strerror(ctypes.get_errno())))
    os.waitpid(tid, WALL)
    print("frozen %d" % tid, flush=True)

    class Stop(Exception):
        pass

    def on_term(*_):
        raise Stop()

    signal.signal(signal.SIGTERM, on_term)
    try:
        # Wait on the thread, not just for SIGTERM: when the process is killed (the watchdog's
        # SIGABRT) the thread exits while traced, and until its tracer reaps it the process stays
        # a zombie that its parent (systemd) cannot collect. Other stops leave it stopped.
        while True:
            _, status = os.waitpid(tid, WALL)
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                print("exited %d" % tid, flush=True)
                return
    except Stop:
        libc.ptrace(PTRACE_DETACH, tid, None, None)


def main(argv):
    if len(argv) >= 3 and argv[0] == "listen":
        cmd = argv[4:] if len(argv) > 3 and argv[3] == "--" else []
        listen(argv[1], argv[2], cmd)
    elif len(argv) == 3 and argv[0] == "freeze":
        freeze(int(argv[1]), argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
