# A function that attacks its neighbours: each probe reports what it got, so
# the test can assert that every escape failed (and that what a function
# must be able to do still works).
import json
import os
import signal
import socket
import urllib.request


def attempt(fn):
    try:
        return {"ok": True, "value": fn()}
    except Exception as e:  # the error is the result
        return {"ok": False, "error": type(e).__name__ + ": " + str(e)}


def read(path):
    with open(path, "rb") as f:
        return f.read(200).decode("latin-1")


def hijack(port):
    # Ask the victim's Runtime API for its next invocation.
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        s.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
        data = s.recv(1024)
    finally:
        s.close()
    if not data:
        raise ConnectionError("closed without an answer")
    return data.decode("latin-1")


def write_task():
    with open("/var/task/owned.txt", "w") as f:
        f.write("x")


def write_tmp():
    with open("/tmp/mine.txt", "w") as f:
        f.write("mine")
    return read("/tmp/mine.txt")


def tmp_size():
    st = os.statvfs("/tmp")
    return st.f_blocks * st.f_frsize


def status():
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return {k: fields.get(k) for k in ("Uid", "Gid", "CapEff", "CapPrm", "CapBnd", "CapAmb", "NoNewPrivs")}


def fork_bomb():
    children = []
    try:
        while len(children) < 10000:
            pid = os.fork()
            if pid == 0:
                signal.pause()
                os._exit(0)
            children.append(pid)
    except OSError as e:
        err = str(e)
    else:
        err = "no limit"
    for c in children:
        os.kill(c, signal.SIGKILL)
    for c in children:
        os.waitpid(c, 0)
    return {"forked": len(children), "error": err}


def handler(event, context):
    if event.get("fork_bomb"):
        return fork_bomb()
    if event.get("write_secret_tmp"):
        with open("/tmp/secret.txt", "w") as f:
            f.write("victim's tmp")
        return {"pid": os.getpid()}
    v = event
    # dry: signal 0 (permission and existence only), for runs without
    # isolation where a real SIGKILL would kill the test itself.
    sig = 0 if v.get("dry") else signal.SIGKILL
    return {
        "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "env": sorted(os.environ.keys()),
        "victim_environ": attempt(lambda: read("/proc/%d/environ" % v["victim_pid"])),
        "victim_code": attempt(lambda: read(v["victim_code"])),
        "state_file": attempt(lambda: read(v["state_file"])),
        "victim_tmp": attempt(lambda: read("/tmp/secret.txt")),
        "kill_victim": attempt(lambda: os.kill(v["victim_pid"], sig)),
        "kill_portico": attempt(lambda: os.kill(v["portico_pid"], sig)),
        "hijack": attempt(lambda: hijack(v["victim_port"])),
        "write_task": attempt(write_task),
        "write_tmp": attempt(write_tmp),
        "tmp_size": attempt(tmp_size),
        "status": status(),
        "outbound": attempt(lambda: urllib.request.urlopen(v["server_url"], timeout=5).read().decode()),
        "admin": attempt(lambda: urllib.request.urlopen(v["admin_url"], timeout=5).read().decode()),
        "cwd": os.getcwd(),
        "home": os.path.expanduser("~"),
    }
