#!/usr/bin/env python3
# qmp-relay.py QMP_SOCKET CTL_SOCKET LOG
#
# Host side of the guest's hot-plug channel (see run-vm.sh): connects to
# the outer QEMU's QMP socket and to the chardev socket behind the guest's
# third serial port (ttyS2), reads one request per line from the guest and
# answers each with one line. Requests, each prefixed by a number that the
# reply repeats:
#
#   N device_del ID          device_del, then wait (up to 60 s) for
#                            DEVICE_DELETED of ID: the guest has let go
#   N device_add DRIVER,K=V,...
#                            device_add with QEMU-style options
#   N qmp {"execute": ...}   any QMP command, the reply is its JSON return
#   N ping
#
# Replies: "N ok [TEXT]" or "N err TEXT". Exits when QEMU closes the sockets.
import json
import os
import socket
import sys
import time


def connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Qmp:
    def __init__(self, path, log):
        self.sock = connect(path, time.monotonic() + 60)
        self.buf = b""
        self.events = []
        self.log = log
        self.read_msg()  # greeting
        self.call("qmp_capabilities")

    def read_msg(self, timeout=None):
        while b"\n" not in self.buf:
            self.sock.settimeout(timeout)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not data:
                raise EOFError("QMP closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        msg = json.loads(line)
        self.log.write("<- %s\n" % line.decode(errors="replace"))
        self.log.flush()
        return msg

    def call(self, cmd, args=None):
        req = {"execute": cmd}
        if args:
            req["arguments"] = args
        raw = json.dumps(req)
        self.log.write("-> %s\n" % raw)
        self.log.flush()
        self.sock.sendall(raw.encode() + b"\n")
        while True:
            msg = self.read_msg()
            if "event" in msg:
                self.events.append(msg)
                continue
            return msg

    def wait_event(self, name, pred, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev["event"] == name and pred(ev.get("data", {})):
                    del self.events[i]
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            msg = self.read_msg(left)
            if msg is not None and "event" in msg:
                self.events.append(msg)


def opts(text):
    """'edu,id=hp0,bus=rphp' -> {'driver': 'edu', 'id': 'hp0', 'bus': 'rphp'}"""
    out = {}
    for i, part in enumerate(text.split(",")):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v
        elif i == 0:
            out["driver"] = part
        else:
            out[part] = "on"
    return out


def handle(qmp, verb, arg):
    if verb == "ping":
        return "ok pong"
    if verb == "device_del":
        qmp.events = [e for e in qmp.events if e["event"] != "DEVICE_DELETED"]
        r = qmp.call("device_del", {"id": arg})
        if "error" in r:
            return "err " + r["error"].get("desc", "?")
        t0 = time.monotonic()
        ev = qmp.wait_event("DEVICE_DELETED", lambda d: d.get("device") == arg, 60)
        if ev is None:
            return "err no DEVICE_DELETED for %s within 60 s" % arg
        return "ok deleted %s after %.1f s" % (arg, time.monotonic() - t0)
    if verb == "device_add":
        r = qmp.call("device_add", opts(arg))
        if "error" in r:
            return "err " + r["error"].get("desc", "?")
        return "ok added"
    if verb == "qmp":
        req = json.loads(arg)
        r = qmp.call(req["execute"], req.get("arguments"))
        if "error" in r:
            return "err " + r["error"].get("desc", "?")
        return "ok " + json.dumps(r.get("return"))
    return "err unknown request %r" % verb


def main():
    qmp_path, ctl_path, log_path = sys.argv[1:4]
    log = open(log_path, "a")
    try:
        qmp = Qmp(qmp_path, log)
        ctl = connect(ctl_path, time.monotonic() + 60)
    except (OSError, EOFError) as e:
        log.write("relay: cannot connect: %s\n" % e)
        return 1
    buf = b""
    while True:
        data = ctl.recv(4096)
        if not data:
            return 0
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            text = line.decode(errors="replace").strip()
            if not text:
                continue
            log.write("guest: %s\n" % text)
            log.flush()
            parts = text.split(" ", 2)
            tag = parts[0]
            verb = parts[1] if len(parts) > 1 else ""
            arg = parts[2] if len(parts) > 2 else ""
            try:
                reply = handle(qmp, verb, arg)
            except EOFError:
                return 0
            except Exception as e:  # noqa: BLE001 - report, keep serving
                reply = "err %s: %s" % (type(e).__name__, e)
            reply = "%s %s" % (tag, reply.replace("\n", " "))
            log.write("reply: %s\n" % reply)
            log.flush()
            ctl.sendall(reply.encode() + b"\n")


if __name__ == "__main__":
    sys.exit(main())
