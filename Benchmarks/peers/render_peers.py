#!/usr/bin/env python3
"""Peer baselines: render the same haproxy.cfg files as inlinelb, for the same translated
rules, once with Jinja2 templates (the way OpenStack Octavia renders its HAProxy configs)
and once with plain f-strings; check that the bytes equal ours; print listeners/s.

Usage: render_peers.py DIR   (DIR holds listeners.json and expected/<appliance>.cfg,
written by `inlinelb-throughput --peers-dir DIR`)
"""

import json
import os
import sys
import time

import jinja2

TEMPLATE = """global
\tlog 127.0.0.1:3914   local0 warning
\tmaxconn {{ maxconn }}
\tmaxpipes {{ maxconn // 4 }}
\tchroot /var/lib/haproxy
\tuser haproxy
\tgroup haproxy
\tstats socket /run/haproxy/admin.sock
\tdaemon

defaults
\tlog     global
\tmode    tcp
\toption  dontlognull
\tretries 3
\toption redispatch
\toption forwardfor
\t{{ "no option httpclose" if keepalive else "option httpclose" }}
\ttimeout connect    5000
\ttimeout client     50000
\ttimeout server     50000

listen stats_on_guest
\tbind {{ guestip }}:8081
\tmode http
{% if not keepalive %}\toption httpclose
{% endif %}\tstats enable
\tstats uri     /admin?stats
\tstats realm   Haproxy\\ Statistics
\tstats auth    admin1:AdMiN123
{% for rule in rules %}{% set pool = rule.sourceip.replace(".", "_") ~ "-" ~ rule.sourceport %}
{% set cookies = rule.stickiness in ("LbCookie", "AppCookie") %}listen {{ pool }}
\tbind {{ rule.sourceip }}:{{ rule.sourceport }}
\tbalance {{ rule.algorithm }}
{% if rule.cidrs %}\tacl network_allowed src {{ rule.cidrs | join(" ") }}
\ttcp-request connection reject if !network_allowed
{% endif %}{% for server in rule.servers %}\tserver {{ pool }}_{{ loop.index0 }} {{ server }} check\
{% if rule.proxy %} send-proxy{% endif %}{% if cookies %} cookie {{ server.replace(".", "_").replace(":", "-") }}{% endif %}
{% endfor %}{% if rule.stickiness == "LbCookie" %}\tcookie {{ rule.params.get("cookie-name") or default_cookie("lbcooki_", rule) }} {{ rule.params.get("mode", "insert") }}\
{% for flag in ["indirect", "nocache", "postonly"] %}{% if flag in rule.params %} {{ flag }}{% endif %}{% endfor %}\
{% if "domain" in rule.params %} domain {{ rule.params.domain }}{% endif %}
{% elif rule.stickiness == "SourceBased" %}\tstick-table type ip size {{ rule.params.get("tablesize", "200k") }} expire {{ rule.params.get("expire", "30m") }}
\tstick on src
{% elif rule.stickiness == "AppCookie" %}{% set name = rule.params.get("cookie-name") or default_cookie("appcookie_", rule) %}\
\tstick-table type string len {{ rule.params.get("length", "52") }} size 200k expire {{ rule.params.get("holdtime", "3h") }}
\tstick store-response res.cook({{ name }})
{% if "request-learn" in rule.params %}\tstick store-request req.cook({{ name }})
{% endif %}\tstick match req.cook({{ name }})
{% endif %}{% if rule.sourceport == 80 or cookies %}\tmode http
\t{{ "no option httpclose" if keepalive else "option httpclose" }}
{% endif %}{% endfor %}"""


def java_hash(text):
    value = 0
    for character in text:
        value = (31 * value + ord(character)) & 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def default_cookie(prefix, rule):
    return f"{prefix}{java_hash(rule['sourceip'])}_{rule['sourceport']}"


def render_fstrings(config):
    keepalive = config["keepalive"]
    close = "\tno option httpclose\n" if keepalive else "\toption httpclose\n"
    out = [
        "global\n\tlog 127.0.0.1:3914   local0 warning\n",
        f"\tmaxconn {config['maxconn']}\n\tmaxpipes {config['maxconn'] // 4}\n",
        "\tchroot /var/lib/haproxy\n\tuser haproxy\n\tgroup haproxy\n\tstats socket /run/haproxy/admin.sock\n\tdaemon\n\n",
        "defaults\n\tlog     global\n\tmode    tcp\n\toption  dontlognull\n\tretries 3\n\toption redispatch\n",
        "\toption forwardfor\n", close,
        "\ttimeout connect    5000\n\ttimeout client     50000\n\ttimeout server     50000\n\n",
        f"listen stats_on_guest\n\tbind {config['guestip']}:8081\n\tmode http\n",
        "" if keepalive else "\toption httpclose\n",
        "\tstats enable\n\tstats uri     /admin?stats\n\tstats realm   Haproxy\\ Statistics\n\tstats auth    admin1:AdMiN123\n",
    ]
    for rule in config["rules"]:
        pool = f"{rule['sourceip'].replace('.', '_')}-{rule['sourceport']}"
        stickiness = rule.get("stickiness")
        params = rule.get("params", {})
        cookies = stickiness in ("LbCookie", "AppCookie")
        out.append(f"\nlisten {pool}\n\tbind {rule['sourceip']}:{rule['sourceport']}\n\tbalance {rule['algorithm']}\n")
        if rule["cidrs"]:
            out.append(f"\tacl network_allowed src {' '.join(rule['cidrs'])}\n\ttcp-request connection reject if !network_allowed\n")
        for index, server in enumerate(rule["servers"]):
            line = f"\tserver {pool}_{index} {server} check"
            if rule["proxy"]:
                line += " send-proxy"
            if cookies:
                line += f" cookie {server.replace('.', '_').replace(':', '-')}"
            out.append(line + "\n")
        if stickiness == "LbCookie":
            line = f"\tcookie {params.get('cookie-name') or default_cookie('lbcooki_', rule)} {params.get('mode', 'insert')}"
            for flag in ("indirect", "nocache", "postonly"):
                if flag in params:
                    line += f" {flag}"
            if "domain" in params:
                line += f" domain {params['domain']}"
            out.append(line + "\n")
        elif stickiness == "SourceBased":
            out.append(f"\tstick-table type ip size {params.get('tablesize', '200k')} expire {params.get('expire', '30m')}\n\tstick on src\n")
        elif stickiness == "AppCookie":
            name = params.get("cookie-name") or default_cookie("appcookie_", rule)
            out.append(f"\tstick-table type string len {params.get('length', '52')} size 200k expire {params.get('holdtime', '3h')}\n")
            out.append(f"\tstick store-response res.cook({name})\n")
            if "request-learn" in params:
                out.append(f"\tstick store-request req.cook({name})\n")
            out.append(f"\tstick match req.cook({name})\n")
        if rule["sourceport"] == 80 or cookies:
            out.append("\tmode http\n" + close)
    return "".join(out)


def measure(render, configs, expected):
    """Renders every config (best of three), checks the bytes, returns listeners/s."""
    for config in configs:
        if render(config).encode() != expected[config["appliance"]]:
            sys.exit(f"{render.__name__}: output for {config['appliance']} differs from inlinelb's")
    listeners = sum(len(config["rules"]) for config in configs)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for config in configs:
            render(config)
        best = min(best, time.perf_counter() - started)
    return listeners / best


def main():
    folder = sys.argv[1]
    configs = json.load(open(os.path.join(folder, "listeners.json")))
    expected = {name[:-4]: open(os.path.join(folder, "expected", name), "rb").read()
                for name in os.listdir(os.path.join(folder, "expected"))}
    environment = jinja2.Environment(keep_trailing_newline=True, autoescape=False)
    template = environment.from_string(TEMPLATE)

    def render_jinja2(config):
        return template.render(**config, default_cookie=default_cookie)

    jinja = measure(render_jinja2, configs, expected)
    fstrings = measure(render_fstrings, configs, expected)
    print(f"jinja2 {jinja:.0f}")
    print(f"fstrings {fstrings:.0f}")


if __name__ == "__main__":
    main()
