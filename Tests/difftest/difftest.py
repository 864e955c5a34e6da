#!/usr/bin/env python3
"""Differential test: deploy compiled inlinelb output for real and compare it with the
simulator, flow by flow.

For each corpus: `inlinelb compile`, then `inlinelb simulate` (the default probe plus
extra groups: many clients for `source`, held-open connections for `leastconn`, cookie-less
clients for sticky listeners) writes the flows and the simulator's verdicts. The same flows
then run through a real stack built from the artifacts only:

  client namespace --veth--> router namespace per VPC (public IPs on eth1, router.iptables)
  router ethN --veth--> tier switch namespace (a bridge) <--veth-- appliance and VM namespaces
  appliance: addresses.json on eth0, iptables.rules, the real haproxy on haproxy.cfg
  VM: a responder answering TCP and HTTP with its own id (a stopped VM has no namespace)

Nothing touches the host's interfaces; every namespace and process is removed at the end,
also on failure or interruption. Exit status 0 only when every flow agrees.

Usage: difftest.py --inlinelb PATH CORPUS...     (as root; needs ip, iptables-restore, haproxy)
"""

import argparse
import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

PREFIX = f"ilbdt{os.getpid()}"
CONNECT_TIMEOUT = 1.0
RESPONSE_TIMEOUT = 3.0
PYTHON = sys.executable
SELF = os.path.abspath(__file__)


def run(args, stdin=None, check=True):
    """Runs a command, returning its stdout; raises with its stderr on failure."""
    result = subprocess.run(args, input=stdin, capture_output=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout.decode(errors="replace")


class Stack:
    """The namespaces and processes of one deployment; `close` removes them all."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.namespaces = []
        self.processes = []

    def namespace(self, name):
        full = f"{PREFIX}-{name}"
        run(["ip", "netns", "add", full])
        self.namespaces.append(full)
        run(["ip", "-n", full, "link", "set", "lo", "up"])
        return full

    def spawn(self, namespace, args, log_name):
        log = open(os.path.join(self.workdir, log_name), "wb")
        process = subprocess.Popen(
            ["ip", "netns", "exec", namespace] + args, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes.append(process)
        return process

    def close(self):
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for namespace in reversed(self.namespaces):
            for pid in run(["ip", "netns", "pids", namespace], check=False).split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            run(["ip", "netns", "delete", namespace], check=False)
        self.namespaces.clear()
        self.processes.clear()


def remove_stale_namespaces():
    """Deletes namespaces left by earlier runs of this script whose process is gone."""
    for line in run(["ip", "netns", "list"], check=False).splitlines():
        name = line.split()[0] if line.split() else ""
        match = re.match(r"ilbdt(\d+)-", name)
        if match and not os.path.exists(f"/proc/{match.group(1)}"):
            run(["ip", "netns", "delete", name], check=False)


def parse_servers(config_text):
    """(proxy, server name, address, port, check) for every server line of a haproxy.cfg."""
    servers, proxy = [], None
    for line in config_text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] in ("listen", "frontend", "backend"):
            proxy = words[1]
        elif words[0] == "server":
            address, port = words[2].rsplit(":", 1)
            servers.append((proxy, words[1], address, int(port), "check" in words[3:]))
    return servers


def deploy(stack, out, flows):
    """Builds the stack of the output folder `out`; returns the client namespace and the
    stats pages to wait on."""
    topology = json.load(open(os.path.join(out, "topology.json")))
    client = stack.namespace("c")
    for key in ("all", "default"):
        run(["ip", "netns", "exec", client, "sysctl", "-qw", f"net.ipv4.conf.{key}.rp_filter=0"])
    for address in sorted({flow["client"] for flow in flows}):
        run(["ip", "-n", client, "addr", "add", f"{address}/32", "dev", "lo"])
    flow_ports = sorted({flow["port"] for flow in flows})
    waits = []
    for vpc_index, vpc in enumerate(topology["vpcs"]):
        router = stack.namespace(f"r{vpc_index}")
        run(["ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
        uplink = f"p{vpc_index}"
        run(["ip", "-n", router, "link", "add", "eth1", "type", "veth", "peer", "name", uplink, "netns", client])
        public = [ip["ipaddress"] for ip in vpc["router"]["publicips"]]
        if vpc.get("sourcenatip"):
            public.append(vpc["sourcenatip"])
        run(["ip", "-n", router, "link", "set", "eth1", "up"])
        run(["ip", "-n", client, "link", "set", uplink, "up"])
        for address in sorted(set(public)):
            run(["ip", "-n", router, "addr", "add", f"{address}/32", "dev", "eth1"])
            run(["ip", "-n", client, "route", "add", f"{address}/32", "dev", uplink])
        run(["ip", "-n", router, "route", "add", "default", "dev", "eth1"])
        for tier_index, tier in enumerate(vpc["tiers"]):
            switch = stack.namespace(f"s{vpc_index}t{tier_index}")
            run(["ip", "-n", switch, "link", "add", "br0", "type", "bridge"])
            run(["ip", "-n", switch, "link", "set", "br0", "up"])
            device = tier["interface"]
            prefix = tier["cidr"].split("/")[1]
            run(["ip", "-n", router, "link", "add", device, "type", "veth", "peer", "name", "trunk", "netns", switch])
            run(["ip", "-n", switch, "link", "set", "dev", "trunk", "master", "br0", "up"])
            run(["ip", "-n", router, "addr", "add", f"{tier['gateway']}/{prefix}", "dev", device])
            run(["ip", "-n", router, "link", "set", device, "up"])
            ports = {"count": 0}

            def attach(host, addresses):
                port_name = f"h{ports['count']}"
                ports["count"] += 1
                run(["ip", "-n", switch, "link", "add", port_name, "type", "veth", "peer", "name", "eth0", "netns", host])
                run(["ip", "-n", switch, "link", "set", "dev", port_name, "master", "br0", "up"])
                for address in addresses:
                    run(["ip", "-n", host, "addr", "add", f"{address}/{prefix}", "dev", "eth0"])
                run(["ip", "-n", host, "link", "set", "eth0", "up"])
                run(["ip", "-n", host, "route", "add", "default", "via", tier["gateway"]])

            appliance = tier.get("appliance")
            running_appliance = appliance is not None and appliance["state"] == "Running"
            config_path = os.path.abspath(os.path.join(out, appliance["haproxy"])) if running_appliance else None
            config_text = open(config_path).read() if config_path else ""
            servers = parse_servers(config_text)
            cookies = sorted(set(re.findall(r"stick store-response res\.cook\(([^)]+)\)", config_text)))
            # VMs first, so that HAProxy's first health checks find them listening.
            readiness = []
            for vm in tier["virtualmachines"]:
                if vm["state"] != "Running":
                    continue
                host = stack.namespace(f"v{vpc_index}t{tier_index}{vm['id'][-6:]}".replace("_", ""))
                attach(host, [vm["ipaddress"]])
                vm_ports = set(flow_ports) | {port for _, _, address, port, _ in servers if address == vm["ipaddress"]}
                ready = os.path.join(stack.workdir, f"ready-{host}")
                stack.spawn(host, [PYTHON, SELF, "responder", "--id", vm["id"], "--ports",
                                   ",".join(map(str, sorted(vm_ports))), "--cookies", ",".join(cookies),
                                   "--ready", ready], f"vm-{vm['id']}.log")
                readiness.append((ready, vm["id"]))
            # HAProxy reports servers UP before its first check: start it only when every VM
            # listens, or an early connection is refused and redispatched.
            for ready, vm_id in readiness:
                deadline = time.time() + 20
                while not os.path.exists(ready):
                    if time.time() > deadline:
                        raise RuntimeError(f"VM {vm_id} did not start listening")
                    time.sleep(0.02)
            if running_appliance:
                host = stack.namespace(f"a{vpc_index}t{tier_index}")
                addresses = json.load(open(os.path.join(out, appliance["addresses"])))
                guest = next(nic for nic in addresses["nic"] if nic["traffictype"] == "Guest")
                attach(host, [guest["ipaddress"]] + [s["ipaddress"] for s in guest["secondaryip"]])
                rules = open(os.path.join(out, appliance["iptables"]), "rb").read()
                run(["ip", "netns", "exec", host, "iptables-restore"], stdin=rules)
                stack.spawn(host, ["sh", "-c", "mount -t tmpfs tmpfs /run && mkdir -p /run/haproxy && "
                                   f"exec haproxy -db -f '{config_path}'"], f"haproxy-{appliance['name']}.log")
                running = {vm["ipaddress"] for vm in tier["virtualmachines"] if vm["state"] == "Running"}
                down = [name for _, name, address, _, check in servers if check and address not in running]
                waits.append((router, guest["ipaddress"], down, appliance["name"]))
        rules = open(os.path.join(out, vpc["router"]["iptables"]), "rb").read()
        run(["ip", "netns", "exec", router, "iptables-restore"], stdin=rules)
    return client, waits


def wait_for_health(waits, workdir, deadline=40.0):
    """Waits until each appliance's stats page answers and servers of stopped VMs are DOWN."""
    for router, guest, down, name in waits:
        command = [PYTHON, SELF, "stats", "--url", f"http://{guest}:8081/admin?stats;csv", "--down", ",".join(down),
                   "--deadline", str(deadline)]
        result = subprocess.run(["ip", "netns", "exec", router] + command, capture_output=True)
        if result.returncode != 0:
            log = os.path.join(workdir, f"haproxy-{name}.log")
            alerts = [line for line in open(log, errors="replace") if "ALERT" in line] if os.path.exists(log) else []
            raise RuntimeError(f"appliance {name}: {result.stdout.decode().strip()} {''.join(alerts).strip()}")


def simulator_class(flow):
    """The simulator's outcome as the client can observe it."""
    if flow["outcome"] == "delivered":
        return ("delivered", flow["vm"])
    if flow["outcome"] == "failed" or (flow["outcome"] == "refused" and "rejected by" in flow["detail"]
                                       and "haproxy.cfg" in flow["detail"]):
        return ("closed", None)
    return (flow["outcome"], None)


def compare(simulated, real):
    """Mismatch descriptions, one per disagreeing flow."""
    mismatches = []
    by_id = {result["id"]: result for result in real}
    for flow in simulated:
        observed = by_id.get(flow["id"])
        expected = simulator_class(flow)
        actual = (observed["outcome"], observed.get("vm")) if observed else ("missing", None)
        reply_ok = True
        if expected[0] == "delivered" and actual == expected:
            reply_ok = observed.get("peer") == flow["replyfrom"]
            proxy = re.search(r"proxy=(\S+)", observed.get("detail", ""))
            reply_ok = reply_ok and (proxy is None or proxy.group(1) == flow["client"])
        if actual != expected or not reply_ok:
            mismatches.append(
                f"flow #{flow['id']} {flow['client']}:{flow['clientport']} -> {flow['target']}:{flow['port']}\n"
                f"  simulator: {flow['detail']}; replies from {flow['replyfrom']}\n"
                + "".join(f"    {hop}\n" for hop in flow["trace"])
                + f"  real:      {actual[0]} {actual[1] or ''}; {observed.get('detail', '') if observed else ''};"
                  f" peer {observed.get('peer') if observed else None}")
    return mismatches


def extra_groups(base_flows):
    """Extra traffic: many clients for source hashing, held-open connections for leastconn,
    cookie-less clients for sticky listeners."""
    groups, seen = [], set()
    for flow in base_flows:
        target = f"{flow['target']}:{flow['port']}"
        if flow["outcome"] != "delivered" or target in seen:
            continue
        seen.add(target)
        trace = " ".join(flow["trace"])
        if "balance source" in trace:
            groups.append({"target": target, "count": 40, "clients": 40, "concurrency": 1, "cookies": True})
        if "balance leastconn" in trace:
            groups.append({"target": target, "count": 12, "clients": 3, "concurrency": 3, "cookies": True})
        if "balance roundrobin" in trace:
            groups.append({"target": target, "count": 6, "clients": 2, "concurrency": 1, "cookies": False})
    return groups


def difftest(inlinelb, corpus, workdir):
    """Runs one corpus; returns (flows compared, mismatches)."""
    name = os.path.splitext(os.path.basename(corpus))[0]
    folder = os.path.join(workdir, name)
    os.makedirs(folder)
    out = os.path.join(folder, "out")
    run([inlinelb, "compile", corpus, "-o", out])
    base_traffic, base_flows = os.path.join(folder, "base.json"), os.path.join(folder, "base.jsonl")
    run([inlinelb, "simulate", out, "--write-traffic", base_traffic, "--flows-json", base_flows])
    traffic = json.load(open(base_traffic))
    traffic["flows"] += extra_groups([json.loads(line) for line in open(base_flows)])
    traffic_path, sim_path = os.path.join(folder, "traffic.json"), os.path.join(folder, "sim.jsonl")
    json.dump(traffic, open(traffic_path, "w"), indent=1)
    run([inlinelb, "simulate", out, "--traffic", traffic_path, "--flows-json", sim_path])
    simulated = [json.loads(line) for line in open(sim_path)]
    stack = Stack(folder)
    try:
        marks = [time.time()]
        client, waits = deploy(stack, out, simulated)
        marks.append(time.time())
        wait_for_health(waits, folder)
        marks.append(time.time())
        real_path = os.path.join(folder, "real.json")
        flows_path = os.path.join(folder, "flows.json")
        json.dump(simulated, open(flows_path, "w"))
        run(["ip", "netns", "exec", client, PYTHON, SELF, "client", flows_path, real_path])
        real = json.load(open(real_path))
        marks.append(time.time())
        if os.environ.get("DIFFTEST_TIMING"):
            print("deploy %.1fs, health %.1fs, traffic %.1fs" % tuple(b - a for a, b in zip(marks, marks[1:])))
    finally:
        stack.close()
    mismatches = compare(simulated, real)
    proxied = sum(1 for result in real if re.search(r"proxy=\S", result.get("detail", "")))
    delivered = sum(1 for flow in simulated if flow["outcome"] == "delivered")
    print(f"{name:26} {len(simulated):6} flows {delivered:6} delivered {proxied:4} via PROXY protocol"
          f" {len(mismatches):4} mismatches", flush=True)
    for mismatch in mismatches[:20]:
        print(mismatch, flush=True)
    # The comparison must be able to fail: flipping one agreeing verdict adds one mismatch.
    mismatched = {int(text.split()[1][1:]) for text in mismatches}
    flipped = [dict(flow) for flow in simulated]
    victim = next(flow for flow in flipped if flow["outcome"] == "delivered" and flow["id"] not in mismatched)
    victim["vm"] = victim["vm"] + "-elsewhere"
    if len(compare(flipped, real)) != len(mismatches) + 1:
        raise RuntimeError("self-check failed: a flipped simulator verdict went unnoticed")
    return len(simulated), len(mismatches)


# ---- helpers run inside namespaces ------------------------------------------------------

def responder(args):
    """A VM: answers every port with its id, over HTTP (keep-alive) or a plain line."""
    vm_id = args.id
    cookies = [name for name in args.cookies.split(",") if name]
    selector = selectors.DefaultSelector()
    for port in [int(p) for p in args.ports.split(",") if p]:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("0.0.0.0", port))
        listener.listen(256)
        selector.register(listener, selectors.EVENT_READ)
    open(args.ready, "w").close()

    def serve(connection):
        reader = connection.makefile("rb")
        try:
            line = reader.readline()
            proxy = ""
            if line.startswith(b"PROXY "):
                proxy = line.split()[2].decode()
                line = reader.readline()
            while line:
                if line.split()[:1] in ([b"GET"], [b"HEAD"]):
                    while True:
                        header = reader.readline()
                        if header in (b"\r\n", b"\n", b""):
                            break
                    body = f"vm={vm_id} proxy={proxy}\n".encode()
                    head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                    head += "".join(f"Set-Cookie: {name}={vm_id}; path=/\r\n" for name in cookies)
                    head += f"Content-Length: {len(body)}\r\n\r\n"
                    connection.sendall(head.encode() + body)
                else:
                    connection.sendall(f"vm={vm_id} proxy={proxy}\n".encode())
                line = reader.readline()
        except OSError:
            pass
        finally:
            connection.close()

    while True:
        for key, _ in selector.select():
            connection, _ = key.fileobj.accept()
            connection.settimeout(30)
            threading.Thread(target=serve, args=(connection,), daemon=True).start()


def stats(args):
    """Polls an appliance's stats CSV until the listed servers are DOWN and all others UP."""
    down = {name for name in args.down.split(",") if name}
    request = urllib.request.Request(args.url, headers={"Authorization": "Basic YWRtaW4xOkFkTWlOMTIz"})
    deadline = time.time() + float(args.deadline)
    last = "no answer"
    while time.time() < deadline:
        try:
            text = urllib.request.urlopen(request, timeout=1).read().decode()
            rows = [row.split(",") for row in text.splitlines() if row and not row.startswith("#")]
            status = {row[1]: row[17] for row in rows if len(row) > 17 and row[1] not in ("FRONTEND", "BACKEND")}
            pending = [name for name in down if not status.get(name, "").startswith("DOWN")]
            pending += [name for name, state in status.items() if name not in down and state not in ("UP", "no check")]
            if status and not pending:
                return 0
            last = f"servers not settled yet: {pending}"
            if os.environ.get("DIFFTEST_TIMING"):
                print("%.2f %s" % (time.time(), status), file=sys.stderr)
        except OSError as error:
            last = str(error)
        time.sleep(0.25)
    print(last)
    return 1


def client(args):
    """Runs the flows for real: targets in parallel, each target's flows in order."""
    flows = json.load(open(args.flows))
    by_target = {}
    for flow in flows:
        by_target.setdefault((flow["target"], flow["port"]), []).append(flow)
    results, lock = [], threading.Lock()

    def run_target(target_flows):
        jar, held, batch = {}, [], None
        for flow in target_flows:
            if flow["batch"] != batch:
                close_in_order(held)
                held, batch = [], flow["batch"]
            started = time.time()
            try:
                result, sock = one_flow(flow, jar)
            except Exception as error:  # recorded, so that one flow cannot hide its target's others
                result, sock = {"id": flow["id"], "outcome": "error", "detail": repr(error)}, None
            result["ms"] = round((time.time() - started) * 1000, 1)
            if sock is not None:
                held.append(sock)
            with lock:
                results.append(result)
        close_in_order(held)

    threads = [threading.Thread(target=run_target, args=(group,)) for group in by_target.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    json.dump(results, open(args.output, "w"))
    return 0


def close_in_order(sockets):
    """Closes held connections one at a time, as the simulator releases them, so that
    HAProxy sees the releases in the same order (leastconn's ties depend on it)."""
    for sock in sockets:
        sock.close()
        time.sleep(0.03)


def one_flow(flow, jar):
    """One connection; returns its observation and the socket when it stays open."""
    result = {"id": flow["id"]}
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((flow["client"], flow["clientport"]))
    sock.settimeout(CONNECT_TIMEOUT)
    try:
        sock.connect((flow["target"], flow["port"]))
    except socket.timeout:
        sock.close()
        return {**result, "outcome": "dropped", "detail": "connect timed out"}, None
    except ConnectionRefusedError:
        sock.close()
        return {**result, "outcome": "refused", "detail": "connection refused"}, None
    except ConnectionResetError:
        # The handshake completed and the server side reset at once (tcp-request reject).
        sock.close()
        return {**result, "outcome": "closed", "detail": "reset right after the handshake"}, None
    except OSError as error:
        sock.close()
        return {**result, "outcome": "dropped", "detail": f"connect: {error.strerror}"}, None
    try:
        peer = "%s:%d" % sock.getpeername()
    except OSError:
        # The reset of a tcp-request reject can land between connect() and this call.
        sock.close()
        return {**result, "outcome": "closed", "detail": "reset right after the handshake"}, None
    key = (flow["client"], flow["target"], flow["port"])
    cookies = jar.get(key, {}) if flow["cookies"] else {}
    request = f"GET / HTTP/1.1\r\nHost: {flow['target']}\r\n"
    if cookies:
        request += "Cookie: " + "; ".join(f"{k}={v}" for k, v in sorted(cookies.items())) + "\r\n"
    sock.settimeout(RESPONSE_TIMEOUT)
    try:
        sock.sendall((request + "\r\n").encode())
        response = read_response(sock)
    except OSError as error:
        sock.close()
        return {**result, "outcome": "closed", "detail": f"after connect: {error}", "peer": peer}, None
    if response is None:
        sock.close()
        return {**result, "outcome": "closed", "detail": "closed without a response", "peer": peer}, None
    status, headers, body = response
    for name, value in headers:
        if name.lower() == "set-cookie":
            cookie = value.split(";")[0].strip()
            if "=" in cookie:
                cookie_name, cookie_value = cookie.split("=", 1)
                jar.setdefault(key, {})[cookie_name] = cookie_value
    match = re.match(r"vm=(\S+)", body)
    if status != 200 or not match:
        sock.close()
        return {**result, "outcome": "closed", "detail": f"HTTP {status}", "peer": peer}, None
    return {**result, "outcome": "delivered", "vm": match.group(1), "detail": body.strip(), "peer": peer}, sock


def read_response(sock):
    """(status, headers, body) of one HTTP response, or None when the peer closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1])
    headers = [tuple(line.split(":", 1)) for line in lines[1:] if ":" in line]
    length = next((int(v) for k, v in headers if k.lower() == "content-length"), None)
    while length is not None and len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return status, [(k.strip(), v.strip()) for k, v in headers], body.decode(errors="replace")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    responder_parser = commands.add_parser("responder")
    responder_parser.add_argument("--id", required=True)
    responder_parser.add_argument("--ports", required=True)
    responder_parser.add_argument("--cookies", default="")
    responder_parser.add_argument("--ready", required=True)
    stats_parser = commands.add_parser("stats")
    stats_parser.add_argument("--url", required=True)
    stats_parser.add_argument("--down", default="")
    stats_parser.add_argument("--deadline", default="30")
    client_parser = commands.add_parser("client")
    client_parser.add_argument("flows")
    client_parser.add_argument("output")
    if len(sys.argv) > 1 and sys.argv[1] in ("responder", "stats", "client"):
        args = parser.parse_args()
        sys.exit({"responder": responder, "stats": stats, "client": client}[args.command](args))

    main_parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    main_parser.add_argument("--inlinelb", required=True, help="the inlinelb executable")
    main_parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, flows)")
    main_parser.add_argument("corpora", nargs="+")
    args = main_parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("difftest: needs root (network namespaces)")
    for tool in ("ip", "iptables-restore", "haproxy"):
        if shutil.which(tool) is None:
            sys.exit(f"difftest: {tool} is not installed")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    remove_stale_namespaces()
    workdir = tempfile.mkdtemp(prefix="inlinelb-difftest-")
    started, total, mismatched, failed = time.time(), 0, 0, False
    try:
        for corpus in args.corpora:
            try:
                flows, mismatches = difftest(os.path.abspath(args.inlinelb), corpus, workdir)
                total += flows
                mismatched += mismatches
            except RuntimeError as error:
                failed = True
                print(f"{corpus}: {error}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"work folder kept: {workdir}")
    print(f"difftest: {total} flows compared over {len(args.corpora)} corpora, {mismatched} mismatches, "
          f"{time.time() - started:.1f} s")
    sys.exit(1 if mismatched or failed else 0)


if __name__ == "__main__":
    main()
