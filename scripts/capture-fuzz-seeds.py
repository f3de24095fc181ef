#!/usr/bin/env python3
"""Captures real nats-server system replies and events as fuzz seeds.

    scripts/capture-fuzz-seeds.py --matrix    # scripts/install-nats-server.sh --matrix
    scripts/capture-fuzz-seeds.py 2.12.8=/path/to/nats-server ...

For each server it starts (loopback, temp dir) a users server with a system
account, and through a raw-protocol system client asks the system API
(`$SYS.REQ.SERVER.PING.VARZ`, `.CONNZ` with `auth`, open and closed,
`.STATSZ`, `$SYS.REQ.SERVER.PING`, `$SYS.REQ.USER.INFO`) and records the
advisories a user's connect, disconnect and failed login publish
(`$SYS.ACCOUNT.*.CONNECT`, `.DISCONNECT`, `$SYS.SERVER.*.CLIENT.AUTH.ERR`).
Payloads are written unchanged to fuzz/corpus/sys_reply/<version>-<what>.json;
events also to fuzz/corpus/auth_event/<version>-<what>.txt (the subject on
the first line, the payload after it, as the auth_event target reads them).
The passwords in these configs are test values.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
cap = __import__("capture-violation-fixtures")

CORPUS = os.path.join(HERE, "..", "fuzz", "corpus")


def conf(port):
    return f"""
server_name: seed
listen: 127.0.0.1:{port}
accounts {{
  SYS {{ users: [ {{ user: sys, password: syspw }} ] }}
  APP {{ users: [ {{ user: tent, password: pw, permissions: {{
      publish: {{ allow: ["tentacular.>"] }}, subscribe: {{ allow: ["_INBOX.>"] }} }} }} ] }}
}}
system_account: SYS
"""


class Sys(cap.Proto):
    """The system client: requests and subscriptions, messages by subject."""

    def msgs(self, until, deadline=3.0):
        """(subject, payload) of every MSG until `until(list)` or the deadline."""
        out = []
        end = time.time() + deadline
        self.s.settimeout(0.2)
        while time.time() < end and not until(out):
            try:
                line = self.readline()
            except (TimeoutError, OSError):
                continue
            if line.startswith(b"PING"):
                self.send("PONG\r\n")
            if not line.startswith(b"MSG "):
                continue
            parts = line.split(b" ")
            n = int(parts[-1])
            while len(self.buf) < n + 2:
                self.buf += self.s.recv(65536)
            payload, self.buf = self.buf[:n], self.buf[n + 2 :]
            out.append((parts[1].decode(), payload))
        return out


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def run(version, binary):
    tmp = tempfile.mkdtemp(prefix=f"seeds-{version}-")
    port = cap.free_port()
    path = os.path.join(tmp, "seed.conf")
    log = os.path.join(tmp, "seed.log")
    with open(path, "w") as f:
        f.write(conf(port))
    p = subprocess.Popen([binary, "-c", path, "-l", log], stderr=subprocess.DEVNULL)
    try:
        cap.wait_until(lambda: cap.log_has(log, "Server is ready"), "server ready")
        s = Sys(port, {"verbose": False, "pedantic": False, "user": "sys", "pass": "syspw", "name": "seeds", "headers": True})
        s.send("SUB $SYS.ACCOUNT.*.CONNECT 1\r\nSUB $SYS.ACCOUNT.*.DISCONNECT 2\r\n")
        s.send("SUB $SYS.SERVER.*.CLIENT.AUTH.ERR 3\r\nSUB _INBOX.seeds.> 9\r\n")
        s.flush()
        # A user connects, is refused a publish, leaves; another fails to log in.
        u = cap.client(port, user="tent", **{"pass": "pw"})
        u.send("PUB forbidden.x 1\r\nx\r\n")
        u.flush()
        events = s.msgs(lambda m: any(x.endswith(".CONNECT") for x, _ in m))
        asks = [
            ("varz", "$SYS.REQ.SERVER.PING.VARZ", {}),
            ("connz", "$SYS.REQ.SERVER.PING.CONNZ", {"auth": True}),
            ("statsz", "$SYS.REQ.SERVER.PING.STATSZ", {}),
            ("ping", "$SYS.REQ.SERVER.PING", {}),
            ("user-info", "$SYS.REQ.USER.INFO", None),
        ]
        for what, subj, body in asks:
            payload = "" if body is None else json.dumps(body)
            s.send(f"PUB {subj} _INBOX.seeds.{what} {len(payload)}\r\n{payload}\r\n")
            got = s.msgs(lambda m: any(x == f"_INBOX.seeds.{what}" for x, _ in m))
            for x, data in got:
                if x == f"_INBOX.seeds.{what}":
                    write("sys_reply", f"{version}-{what}.json", data)
                else:
                    events.append((x, data))
        u.s.close()
        try:
            cap.client(port, user="tent", **{"pass": "wrong"})
        except (EOFError, OSError):
            pass
        events += s.msgs(lambda m: any(x.endswith(".DISCONNECT") for x, _ in m) and any("AUTH.ERR" in x for x, _ in m))
        payload = json.dumps({"auth": True, "state": "closed"})
        s.send(f"PUB $SYS.REQ.SERVER.PING.CONNZ _INBOX.seeds.closed {len(payload)}\r\n{payload}\r\n")
        for x, data in s.msgs(lambda m: any(x == "_INBOX.seeds.closed" for x, _ in m)):
            if x == "_INBOX.seeds.closed":
                write("sys_reply", f"{version}-connz-closed.json", data)
        seen = set()
        for subj, data in events:
            kind = subj.rsplit(".", 1)[-1].lower() if "AUTH.ERR" not in subj else "auth-err"
            if kind in seen:
                continue
            seen.add(kind)
            write("sys_reply", f"{version}-event-{kind}.json", data)
            write("auth_event", f"{version}-{kind}.txt", subj.encode() + b"\n" + data)
        s.s.close()
        print(f"{version}: {len(asks) + 1} replies, events {sorted(seen)}")
    finally:
        p.terminate()
        p.wait(5)


def main():
    args = sys.argv[1:]
    if args == ["--matrix"]:
        out = subprocess.check_output([os.path.join(HERE, "install-nats-server.sh"), "--matrix"], text=True).strip()
        args = [a for a in out.split(",") if a]
    for a in args:
        v, _, path = a.partition("=")
        run(v, path)


if __name__ == "__main__":
    main()
