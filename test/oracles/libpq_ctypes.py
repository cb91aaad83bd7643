"""The libpq functions every ctypes oracle calls, declared once: load(path) opens libpq.so.5 and
gives it their argument and result types (ctypes would otherwise truncate pointers to int)."""
import ctypes


def load(path):
    lib = ctypes.CDLL(path)
    lib.PQconnectdb.restype = ctypes.c_void_p
    lib.PQconnectdb.argtypes = [ctypes.c_char_p]
    lib.PQstatus.argtypes = [ctypes.c_void_p]
    lib.PQerrorMessage.restype = ctypes.c_char_p
    lib.PQerrorMessage.argtypes = [ctypes.c_void_p]
    lib.PQfinish.argtypes = [ctypes.c_void_p]
    lib.PQlibVersion.restype = ctypes.c_int
    return lib
