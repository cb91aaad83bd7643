"""
MariaDB's own client library (Connector/C, libmariadb.so.3 — what the `mariadb` command runs on)
for scripts/bench-latency-mysql.ts: a worker that, for every line "N settings-json" on stdin,
makes N connections with mysql_real_connect, runs SELECT 1 and closes, and prints one JSON line:
a list of per-connection {"connect": ms, "tls": cipher or null}, or {"error": message}.

Settings: host, port, user, password, database, and ssl_ca (TLS with this CA file; the chain is
verified, as VERIFY_CA) or nothing (TLS off, as DISABLED).
"""
import ctypes
import json
import sys
import time

lib = ctypes.CDLL(sys.argv[1] if len(sys.argv) > 1 else 'libmariadb.so.3')
lib.mysql_init.restype = ctypes.c_void_p
lib.mysql_init.argtypes = [ctypes.c_void_p]
lib.mysql_ssl_set.argtypes = [ctypes.c_void_p] + [ctypes.c_char_p] * 5
lib.mysql_real_connect.restype = ctypes.c_void_p
lib.mysql_real_connect.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                   ctypes.c_char_p, ctypes.c_uint, ctypes.c_char_p, ctypes.c_ulong]
lib.mysql_query.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
lib.mysql_store_result.restype = ctypes.c_void_p
lib.mysql_store_result.argtypes = [ctypes.c_void_p]
lib.mysql_free_result.argtypes = [ctypes.c_void_p]
lib.mysql_close.argtypes = [ctypes.c_void_p]
lib.mysql_error.restype = ctypes.c_char_p
lib.mysql_error.argtypes = [ctypes.c_void_p]
lib.mysql_get_ssl_cipher.restype = ctypes.c_char_p
lib.mysql_get_ssl_cipher.argtypes = [ctypes.c_void_p]


def one(s):
    conn = lib.mysql_init(None)
    if s.get('ssl_ca'):
        lib.mysql_ssl_set(conn, None, None, s['ssl_ca'].encode(), None, None)
    t0 = time.perf_counter()
    ok = lib.mysql_real_connect(conn, s['host'].encode(), s['user'].encode(), s['password'].encode(),
                                s['database'].encode(), int(s['port']), None, 0)
    connect_ms = (time.perf_counter() - t0) * 1000
    if not ok:
        message = lib.mysql_error(conn).decode()
        lib.mysql_close(conn)
        raise RuntimeError(message)
    cipher = lib.mysql_get_ssl_cipher(conn)
    if lib.mysql_query(conn, b'SELECT 1') != 0:
        raise RuntimeError(lib.mysql_error(conn).decode())
    lib.mysql_free_result(lib.mysql_store_result(conn))
    lib.mysql_close(conn)
    return {'connect': connect_ms, 'tls': cipher.decode() if cipher else None}


for line in sys.stdin:
    n, settings = line.split(' ', 1)
    try:
        print(json.dumps([one(json.loads(settings)) for _ in range(int(n))]), flush=True)
    except RuntimeError as error:
        print(json.dumps({'error': str(error)}), flush=True)
