"""libpq 18's OAuth as the reference: connect with each conninfo through the libpq.so.5 named on
the command line (ctypes), with an authentication-data hook (PQsetAuthDataHook) that answers
PQAUTHDATA_OAUTH_BEARER_TOKEN as an application would: it records what libpq asked for and gives
the token of the case, or declines (returns 0) when the case has none.

Input (stdin, JSON): {"cases": [{"conninfo": "...", "token": "..." | null}, ...]}.
Output: {"version": int, "results": [{"ok": bool, "error": str,
         "requests": [{"openid_configuration": str, "scope": str | null}, ...]}]}.
"""
import ctypes
import json
import sys

import libpq_ctypes

lib = libpq_ctypes.load(sys.argv[1])

PQAUTHDATA_OAUTH_BEARER_TOKEN = 1  # PGauthData (libpq-fe.h, 18)


class PGoauthBearerRequest(ctypes.Structure):
    # libpq-fe.h (18): inputs, then the hook's outputs.
    _fields_ = [
        ("openid_configuration", ctypes.c_char_p),
        ("scope", ctypes.c_char_p),
        ("async_", ctypes.c_void_p),
        ("cleanup", ctypes.c_void_p),
        ("token", ctypes.c_char_p),
        ("user", ctypes.c_void_p),
    ]


HOOK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
lib.PQsetAuthDataHook.argtypes = [HOOK]
lib.PQdefaultAuthDataHook.restype = ctypes.c_int
lib.PQdefaultAuthDataHook.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]

state = {"token": None, "requests": []}
keep = []  # the token buffers must outlive the hook call: libpq copies them later


def hook(kind, conn, data):
    if kind != PQAUTHDATA_OAUTH_BEARER_TOKEN:
        return lib.PQdefaultAuthDataHook(kind, conn, data)
    request = ctypes.cast(data, ctypes.POINTER(PGoauthBearerRequest)).contents
    state["requests"].append({
        "openid_configuration": (request.openid_configuration or b"").decode(),
        "scope": request.scope.decode() if request.scope is not None else None,
    })
    if state["token"] is None:
        return 0
    buffer = ctypes.create_string_buffer(state["token"].encode())
    keep.append(buffer)
    request.token = ctypes.cast(buffer, ctypes.c_char_p)
    return 1


hook_ref = HOOK(hook)
lib.PQsetAuthDataHook(hook_ref)

CONNECTION_OK = 0
out = []
for case in json.load(sys.stdin)["cases"]:
    state["token"] = case.get("token")
    state["requests"] = []
    conn = lib.PQconnectdb(case["conninfo"].encode())
    ok = lib.PQstatus(conn) == CONNECTION_OK
    out.append({
        "ok": ok,
        "error": "" if ok else (lib.PQerrorMessage(conn) or b"").decode("utf-8", "replace").strip(),
        "requests": state["requests"],
    })
    lib.PQfinish(conn)
json.dump({"version": lib.PQlibVersion(), "results": out}, sys.stdout)
