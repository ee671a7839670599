"""The TLS gate in front of the SuperLink: one port per audience.

Flower 1.42's SuperLink serves its Fleet API (SuperNodes), Control API
(submitting runs, registering keys) and Runtime API (the ServerApp) on one
HTTPS port, so a NetworkPolicy alone cannot let hospitals reach the first
without the other two. The SuperLink therefore listens on the pod's loopback
only, and an unprivileged nginx in the same pod re-exposes it:

    FLEET_PORT    /v1/fleet/* and /health       for hospital SuperNodes
    CONTROL_PORT  /v1/control/* and /health     for operators and the Ingress

Everything else answers 404, the Runtime API is never exposed, and the gate
re-encrypts to the SuperLink, verifying it against the federation CA. Node
authentication is unaffected: Flower signs each Fleet request in its headers,
which the gate passes through untouched.
"""

from __future__ import annotations

from fedcluster.runtime.kubernetes import names

CONFIG_FILE = "gate.conf"


def gate_config() -> str:
    """The nginx `conf.d` file for the gate."""
    upstream = (
        "upstream superlink {\n"
        f"    server 127.0.0.1:{names.SUPERLINK_PORT};\n"
        "    keepalive 16;\n"
        "}\n"
    )
    fleet = _server(names.FLEET_PORT, "fleet", "/v1/fleet/")
    control = _server(names.CONTROL_PORT, "control", "/v1/control/")
    return (
        "# fedcluster gate: hospitals reach only the Fleet API, operators only\n"
        "# the Control API; the SuperLink itself listens on loopback.\n"
        f"{upstream}\n{fleet}\n{control}"
    )


def _server(port: int, audience: str, prefix: str) -> str:
    tls = names.TLS_DIR
    return (
        f"server {{\n"
        f"    # {audience} port\n"
        f"    listen {port} ssl;\n"
        f"    ssl_certificate {tls}/tls.crt;\n"
        f"    ssl_certificate_key {tls}/tls.key;\n"
        "    ssl_protocols TLSv1.2 TLSv1.3;\n"
        "    client_max_body_size 2g;\n"
        "    proxy_http_version 1.1;\n"
        '    proxy_set_header Connection "";\n'
        "    proxy_set_header Host localhost;\n"
        "    proxy_buffering off;\n"
        "    proxy_request_buffering off;\n"
        "    proxy_read_timeout 900s;\n"
        "    proxy_send_timeout 900s;\n"
        "    proxy_ssl_verify on;\n"
        f"    proxy_ssl_trusted_certificate {tls}/ca.crt;\n"
        "    proxy_ssl_name localhost;\n"
        "    proxy_ssl_server_name on;\n"
        f"    location {prefix} {{\n"
        "        proxy_pass https://superlink;\n"
        "    }\n"
        "    location = /health {\n"
        "        proxy_pass https://superlink;\n"
        "    }\n"
        "    location / {\n"
        "        return 404;\n"
        "    }\n"
        "}\n"
    )
