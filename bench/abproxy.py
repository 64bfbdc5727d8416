#!/usr/bin/env python3
"""A/B of two Portico builds on the HTTP_PROXY path, with nginx (one worker,
the harness's configuration, see nginxConf in contenders.go) in the same
interleaved rounds: nginx, base, new, nginx, base, new, ...

    go build -o WORK/upstream ./bench/cmd/upstream
    git stash; go build -o WORK/portico-base ./cmd/portico; git stash pop
    go build -o WORK/portico-new ./cmd/portico
    python3 bench/abproxy.py ROUNDS SECS CONNS METHOD BODYBYTES WORK/portico-base WORK/portico-new WORK/upstream [tls]

It prints each round as JSON, then medians and the ratios to nginx and of
new to base, round by round, as median [min-max]. CPU/req is utime+stime of
the contender's process tree over the round divided by its requests; hwm is
VmHWM summed over that tree at the end (the peak RSS of the whole run).
With "tls" last, clients connect over HTTPS/1.1 (TLS 1.3) and all three
terminate it with one ECDSA P-256 certificate made by openssl; nginx is held
to TLS_AES_128_GCM_SHA256, the suite Go's server picks, so both use the same
cipher. Needs wrk and nginx (and openssl for tls) on PATH.
"""

import os, subprocess, sys, time, re, statistics, signal, socket, json, tempfile, shutil
R, SECS, CONNS, METHOD, BODY = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
BINS = {"base": sys.argv[6], "new": sys.argv[7]}
UPSTREAM = sys.argv[8]
TLS = len(sys.argv) > 9 and sys.argv[9] == "tls"
W = tempfile.mkdtemp(prefix="abproxy-")
HZ = os.sysconf("SC_CLK_TCK")
NGINX = """worker_processes 1;
daemon off;
pid PREFIX/nginx.pid;
error_log PREFIX/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path PREFIX/body;
    proxy_temp_path PREFIX/proxy;
    fastcgi_temp_path PREFIX/fastcgi;
    uwsgi_temp_path PREFIX/uwsgi;
    scgi_temp_path PREFIX/scgi;
    client_max_body_size 16m;
    client_body_buffer_size 2m;
    keepalive_requests 1000000;
    upstream backend {
        server UPSTREAM;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:PORT;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
"""
procs = []
def freeport():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
def start(args, **kw):
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, **kw)
    procs.append(p); return p
def waitline(p, pat):
    for line in p.stdout:
        m = re.search(pat, line)
        if m: return m
    raise SystemExit("no line " + pat)
def tree(pid):
    out = [pid]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = open(f"/proc/{d}/stat").read()
                if int(st.rsplit(")", 1)[1].split()[1]) == pid: out.append(int(d))
            except Exception: pass
    return out
def cpu(pids):
    t = 0
    for p in pids:
        f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        t += int(f[11]) + int(f[12])
    return t / HZ
def hwm(pids):
    t = 0
    for p in pids:
        for l in open(f"/proc/{p}/status"):
            if l.startswith("VmHWM"): t += int(l.split()[1])
    return t / 1024
try:
    up = start([UPSTREAM]); upurl = waitline(up, r"listening (\S+)").group(1)
    hostport = upurl.split("//")[1]
    targets = {}
    # nginx
    ng = os.path.join(W, "nginx"); os.makedirs(ng, exist_ok=True)
    port = freeport()
    conf = (("user root;\n" if os.geteuid() == 0 else "") + NGINX).replace("PREFIX", ng).replace("UPSTREAM", hostport).replace("PORT", str(port))
    scheme = "http"
    if TLS:
        cert, key = os.path.join(W, "cert.pem"), os.path.join(W, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
        conf = conf.replace(f"listen 127.0.0.1:{port};", f"listen 127.0.0.1:{port} ssl;\n        ssl_certificate {cert};\n        ssl_certificate_key {key};\n        ssl_protocols TLSv1.3;\n        ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;")
        scheme = "https"
    open(ng + "/nginx.conf", "w").write(conf)
    n = start(["nginx", "-p", ng, "-c", ng + "/nginx.conf"])
    time.sleep(0.5)
    targets["nginx"] = (f"{scheme}://127.0.0.1:{port}/proxy/x", n.pid)
    for name, b in BINS.items():
        d = os.path.join(W, name); os.makedirs(d, exist_ok=True)
        spec = f"""account: {{throttlingRateLimit: 10000000, throttlingBurstLimit: 10000000}}
apis:
  bench:
    integrations:
      up: {{type: HTTP_PROXY, uri: "{upurl}/{{proxy}}"}}
    routes:
      "ANY /proxy/{{proxy+}}": {{integration: up}}
    stages:
      $default: {{autoDeploy: true}}
"""
        open(d + "/portico.yaml", "w").write(spec)
        args = [b, "up", "-f", d + "/portico.yaml", "--listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0", "--admin-listen", "", "--data-dir", d + "/data"]
        if TLS:
            args += ["--tls-listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key]
        p = start(args)
        u = waitline(p, r"^gateway-tls (\S+)" if TLS else r"endpoint bench \$default (\S+)").group(1).rstrip("/")
        waitline(p, r"^ready")
        targets[name] = (u + "/proxy/x", p.pid)
    script = os.path.join(W, "s.lua")
    s = f'wrk.method = "{METHOD}"\n'
    if BODY: s += f'wrk.body = string.rep("x", {BODY})\nwrk.headers["Content-Type"] = "application/octet-stream"\n'
    s += '''done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %d %d %d\\n", summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
'''
    open(script, "w").write(s)
    res = {k: [] for k in targets}
    for r in range(R):
        for name, (url, pid) in targets.items():
            pids = tree(pid)
            c0 = cpu(pids)
            out = subprocess.run(["wrk", "-t1", f"-c{CONNS}", f"-d{SECS}s", "--timeout", "5s", "-s", script, url], capture_output=True, text=True).stdout
            c1 = cpu(pids)
            m = re.search(r"BENCH (\d+) (\d+) (\d+) (\d+) (\d+)", out)
            req, dur, p50, p99, err = map(int, m.groups())
            res[name].append(dict(rps=req / (dur / 1e6), cpu_us=(c1 - c0) / req * 1e6, p50=p50, p99=p99, err=err))
    for name, (url, pid) in targets.items():
        res[name + "_hwm_mib"] = hwm(tree(pid))
    json.dump(res, sys.stdout, indent=None); print()
    def med(xs): return statistics.median(xs)
    for name in targets:
        rows = res[name]
        line = f"{name:6s} rps {med([x['rps'] for x in rows]):8.0f} cpu/req {med([x['cpu_us'] for x in rows]):6.1f}us p50 {med([x['p50'] for x in rows])}us p99 {med([x['p99'] for x in rows])}us hwm {res[name+'_hwm_mib']:.1f}MiB errs {sum(x['err'] for x in rows)}"
        if name != "nginx":
            for k in ("rps", "cpu_us", "p50"):
                rat = [a[k] / b[k] for a, b in zip(rows, res["nginx"])]
                line += f" | {k}/nginx x{med(rat):.2f} [{min(rat):.2f}-{max(rat):.2f}]"
        print(line)
    rat = [a["rps"] / b["rps"] for a, b in zip(res["new"], res["base"])]
    crat = [a["cpu_us"] / b["cpu_us"] for a, b in zip(res["new"], res["base"])]
    print(f"new/base rps x{med(rat):.2f} [{min(rat):.2f}-{max(rat):.2f}] cpu/req x{med(crat):.2f} [{min(crat):.2f}-{max(crat):.2f}]")
finally:
    for p in procs:
        try: os.killpg(p.pid, signal.SIGTERM)
        except Exception: pass
    for p in procs:
        try: p.wait(timeout=10)
        except Exception: pass
    shutil.rmtree(W, ignore_errors=True)
