"""libpq's own keyword list: PQconndefaults() of the libpq.so.5 named on the command line (ctypes).

Output (stdout, JSON): {"version": PQlibVersion(), "keywords": [{"keyword", "envvar", "compiled",
"dispchar"}, ...]} — dispchar "*" marks a secret (a password field), "D" a debug option.
"""
import ctypes
import json
import sys


class Option(ctypes.Structure):
    _fields_ = [
        ("keyword", ctypes.c_char_p),
        ("envvar", ctypes.c_char_p),
        ("compiled", ctypes.c_char_p),
        ("val", ctypes.c_char_p),
        ("label", ctypes.c_char_p),
        ("dispchar", ctypes.c_char_p),
        ("dispsize", ctypes.c_int),
    ]


lib = ctypes.CDLL(sys.argv[1])
lib.PQconndefaults.restype = ctypes.POINTER(Option)
lib.PQconninfoFree.argtypes = [ctypes.POINTER(Option)]
options = lib.PQconndefaults()
out = []
i = 0
while options[i].keyword:
    o = options[i]
    text = lambda b: (b or b"").decode()
    out.append({"keyword": text(o.keyword), "envvar": text(o.envvar), "compiled": text(o.compiled),
                "dispchar": text(o.dispchar)})
    i += 1
lib.PQconninfoFree(options)
json.dump({"version": lib.PQlibVersion(), "keywords": out}, sys.stdout)
