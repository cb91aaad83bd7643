#!/bin/bash
# Runs inside the openGauss container at first start: installs the test PKI as the server's
# certificate and turns SSL on, with require_ssl from the environment and hostssl lines for TCP.
set -euo pipefail
DATA="${PGDATA:-/var/lib/opengauss/data}"
for f in server.crt server.key ca.crt; do cp "/pki/$f" "$DATA/$f"; done
chown omm:omm "$DATA/server.crt" "$DATA/server.key" "$DATA/ca.crt"
chmod 600 "$DATA/server.crt" "$DATA/server.key" "$DATA/ca.crt"
gs_guc set -D "$DATA" -c "ssl=on"
gs_guc set -D "$DATA" -c "ssl_cert_file='server.crt'"
gs_guc set -D "$DATA" -c "ssl_key_file='server.key'"
gs_guc set -D "$DATA" -c "ssl_ca_file='ca.crt'"
gs_guc set -D "$DATA" -c "require_ssl=${REQUIRE_SSL:-off}"
gs_guc set -D "$DATA" -h "hostssl all all 0.0.0.0/0 sha256"
gs_guc set -D "$DATA" -h "host all all 0.0.0.0/0 sha256"
