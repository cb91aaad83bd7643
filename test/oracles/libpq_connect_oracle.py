"""libpq itself as the reference: connect with each conninfo through the libpq.so.5 named on the
command line (ctypes), and say whether it connected, whether SSL is in use, and libpq's error.

Input (stdin, JSON): {"conninfos": ["...", ...]}.
Output: [{"ok": bool, "ssl": bool, "error": str, "port": str, "protocol": int}] (protocol:
PQfullProtocolVersion(), 30002 for 3.2; 0 on failure or in a libpq before 18).
The environment (HOME, SSL_CERT_FILE, ...) is the caller's: the test sets it per batch.
"""
import ctypes
import json
import sys

import libpq_ctypes

lib = libpq_ctypes.load(sys.argv[1])
lib.PQsslInUse.argtypes = [ctypes.c_void_p]
lib.PQport.restype = ctypes.c_char_p
lib.PQport.argtypes = [ctypes.c_void_p]
full_protocol = getattr(lib, "PQfullProtocolVersion", None)
if full_protocol is not None:
    full_protocol.argtypes = [ctypes.c_void_p]

CONNECTION_OK = 0
out = []
for conninfo in json.load(sys.stdin)["conninfos"]:
    conn = lib.PQconnectdb(conninfo.encode())
    ok = lib.PQstatus(conn) == CONNECTION_OK
    out.append({
        "ok": ok,
        "ssl": bool(lib.PQsslInUse(conn)) if ok else False,
        "error": "" if ok else (lib.PQerrorMessage(conn) or b"").decode("utf-8", "replace").strip(),
        "port": (lib.PQport(conn) or b"").decode() if ok else "",
        "protocol": full_protocol(conn) if ok and full_protocol is not None else 0,
    })
    lib.PQfinish(conn)
json.dump({"version": lib.PQlibVersion(), "results": out}, sys.stdout)
