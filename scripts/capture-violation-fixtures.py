#!/usr/bin/env python3
"""Captures real nats-server violation log lines for the parser's fixtures.

    scripts/capture-violation-fixtures.py 2.10.25=/path/to/nats-server ...
    scripts/capture-violation-fixtures.py --matrix   # scripts/install-nats-server.sh --matrix

For each server it starts (on free loopback ports, in a temp dir) a users
server with websocket, MQTT and a leafnode listener, and a token server; drives raw-protocol clients into every
violation kind (a raw leaf-protocol connection to the leafnode port for the
leafnode violation); reloads a config that drops a subscribe permission; and
copies the log lines that are violations, reload removals or leafnode
violations, unchanged, into
crates/warden-core/tests/fixtures/violations/nats-server-<version>.log.
The secrets in these configs are test values (the fixtures must show what an
old server leaks).
"""
import base64
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.environ.get("CAPTURE_OUT") or os.path.join(HERE, "..", "crates", "warden-core", "tests", "fixtures", "violations")
TOKEN = "s3cr3t-tok3n"
KEEP = ("Violation", "Removed sub")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_until(cond, what, deadline=10.0):
    end = time.time() + deadline
    while time.time() < end:
        if cond():
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def log_has(path, text):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return text in f.read()
    except FileNotFoundError:
        return False


class Proto:
    """A raw NATS client (or leafnode) connection."""

    def __init__(self, port, connect):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.readline()  # INFO
        import json

        self.send("CONNECT " + json.dumps(connect) + "\r\nPING\r\n")
        self.expect(b"PONG")

    def send(self, text):
        self.s.sendall(text.encode())

    def readline(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def expect(self, what):
        while True:
            line = self.readline()
            if line.startswith(what):
                return line
            if line.startswith(b"PING"):
                self.send("PONG\r\n")

    def flush(self):
        self.send("PING\r\n")
        try:
            self.expect(b"PONG")
        except (EOFError, OSError):
            pass


def client(port, **auth):
    c = {"verbose": False, "pedantic": False, "lang": "python3", "version": "2.16.0", "protocol": 1, "name": "cap"}
    c.update(auth)
    return Proto(port, c)


def ws_client(port, user, password):
    """A websocket client: handshake, then CONNECT/PUB in masked frames."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)

    def frame(payload):
        mask = os.urandom(4)
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        n = len(payload)
        hdr = bytes([0x82]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
        s.sendall(hdr + mask + data)

    frame(
        (
            'CONNECT {"verbose":false,"pedantic":false,"lang":"python3","version":"2.16.0","name":"ws","user":"%s","pass":"%s"}\r\n'
            % (user, password)
        ).encode()
    )
    frame(b"PUB forbidden.ws 0\r\n\r\nPING\r\n")
    return s


def mqtt_client(port, user, password):
    """An MQTT 3.1.1 client: CONNECT, then PUBLISH (QoS 0) to a denied topic."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)

    def mstr(b):
        return struct.pack(">H", len(b)) + b

    var = mstr(b"MQTT") + bytes([4, 0xC2]) + struct.pack(">H", 30)
    body = var + mstr(b"capmqtt") + mstr(user.encode()) + mstr(password.encode())
    s.sendall(bytes([0x10, len(body)]) + body)
    s.recv(4)  # CONNACK
    pub = mstr(b"forbidden/mqtt") + b"hi"
    s.sendall(bytes([0x30, len(pub)]) + pub)
    return s


def users_conf(port, ws, mqtt, leaf, js, sub_allow, leaf_deny):
    leaf_deny = ", ".join(f'"{s}"' for s in leaf_deny)
    subs = ", ".join(f'"{s}"' for s in sub_allow)
    return f"""
server_name: hub
listen: 127.0.0.1:{port}
max_sub_tokens: 4
jetstream {{ store_dir: "{js}" }}
websocket {{ listen: "127.0.0.1:{ws}", no_tls: true }}
mqtt {{ listen: "127.0.0.1:{mqtt}" }}
leafnodes {{ listen: "127.0.0.1:{leaf}" }}
authorization {{
  users: [
    {{ user: tent, password: pw, permissions: {{
        publish: {{ allow: ["tentacular.>", "forbidden/mqtt.ok"] }}
        subscribe: {{ allow: [{subs}] }} }} }}
    {{ user: leaf, password: leafpw, permissions: {{
        publish: {{ deny: [{leaf_deny}] }}, subscribe: {{ deny: [{leaf_deny}] }} }} }}
    {{ user: mq, password: mqpw, permissions: {{ publish: {{ allow: ["ok.>"] }} }} }}
  ]
}}
"""


def run(version, binary):
    tmp = tempfile.mkdtemp(prefix=f"capture-{version}-")
    procs = []
    try:
        port, ws, mqtt, leaf, tport = (free_port() for _ in range(5))
        hub_log = os.path.join(tmp, "hub.log")
        hub_conf = os.path.join(tmp, "hub.conf")
        js = os.path.join(tmp, "js")
        allow = ["tentacular.>", "_INBOX.>", "keep.>", "gone.>"]
        with open(hub_conf, "w") as f:
            f.write(users_conf(port, ws, mqtt, leaf, js, allow, ["secret.>"]))
        procs.append(subprocess.Popen([binary, "-c", hub_conf, "-l", hub_log], stderr=subprocess.DEVNULL))
        wait_until(lambda: log_has(hub_log, "Server is ready"), "hub ready")

        c = client(port, user="tent", **{"pass": "pw"})
        c.send("PUB forbidden.x 1\r\nx\r\n")
        c.send("SUB secret.> 1\r\n")
        c.send("SUB secret.q grp 2\r\n")
        c.send("SUB tentacular.a.b.c.d.e 3\r\n")
        c.send("PUB tentacular.ok _R_.abc 1\r\nx\r\n")
        c.send('PUB a"b\\c.\u00e9 1\r\nx\r\n')
        c.send("SUB gone.plain 4\r\nSUB gone.q workers 5\r\nSUB keep.x 6\r\n")
        c.flush()
        wait_until(lambda: log_has(hub_log, "tentacular.a.b.c.d.e"), "too-many-tokens line")

        # A config reload that drops `gone.>`: the server removes sid 4 and 5.
        with open(hub_conf, "w") as f:
            f.write(users_conf(port, ws, mqtt, leaf, js, [a for a in allow if a != "gone.>"], ["secret.>", "late.>"]))
        procs[0].send_signal(signal.SIGHUP)
        wait_until(lambda: log_has(hub_log, "Removed sub") and log_has(hub_log, '"gone.q"'), "reload removal")

        # A leafnode connection to the hub's leafnode port, speaking the leaf
        # protocol: its interest in a subject the hub may not publish to it
        # (server/leafnode.go processLeafSub -> leafSubPermViolation). A
        # nats-server spoke never sends it: the hub tells the spoke its
        # permissions (sendPermsAndAccountInfo) and the spoke filters.
        lc = Proto(leaf, {"name": "rawleaf", "user": "leaf", "pass": "leafpw", "headers": True})
        lc.send("LS+ secret.leaf\r\n")
        lc.flush()
        wait_until(lambda: log_has(hub_log, "Check other side configuration"), "leafnode violation")

        w = ws_client(ws, "tent", "pw")
        wait_until(lambda: log_has(hub_log, "wid:"), "websocket violation")
        m = mqtt_client(mqtt, "mq", "mqpw")
        wait_until(lambda: log_has(hub_log, "mid:"), "mqtt violation")

        # A token server: the token user's own violations.
        tlog = os.path.join(tmp, "token.log")
        tconf = os.path.join(tmp, "token.conf")
        with open(tconf, "w") as f:
            f.write(f'listen: 127.0.0.1:{tport}\nmax_sub_tokens: 4\nauthorization {{ token: "{TOKEN}" }}\n')
        procs.append(subprocess.Popen([binary, "-c", tconf, "-l", tlog], stderr=subprocess.DEVNULL))
        wait_until(lambda: log_has(tlog, "Server is ready"), "token server ready")
        t = client(tport, auth_token=TOKEN)
        t.send("PUB $GNR.x.y 1\r\nx\r\nPUB ok.x _R_.abc 1\r\nx\r\nSUB a.b.c.d.e 1\r\n")
        t.flush()
        wait_until(lambda: log_has(tlog, "a.b.c.d.e"), "token too-many-tokens line")
        for s in (c.s, w, m, lc.s, t.s):
            s.close()

        lines = []
        for name, path in (("hub", hub_log), ("token", tlog)):
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if any(k in line for k in KEEP):
                        lines.append(line.rstrip("\n"))
        os.makedirs(OUT, exist_ok=True)
        out = os.path.join(OUT, f"nats-server-{version}.log")
        with open(out, "w") as f:
            f.write(f"# nats-server {version}: lines copied unchanged from its log by scripts/capture-violation-fixtures.py\n")
            f.write("\n".join(lines) + "\n")
        print(f"{version}: {len(lines)} lines -> {out}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()


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
