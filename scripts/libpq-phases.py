"""
Phase timings of libpq connections for scripts/bench-phases.ts: a worker that loads one libpq.so.5
(argv[1]) through ctypes and, for every line "N conninfo" on stdin, makes N connections with
PQconnectStartParams + PQconnectPoll, timing each phase from the connection status it reaches,
then PQexec('select 1') and PQfinish. Prints one JSON line per request: a list of per-connection
phase timings in milliseconds.

Phases (PQconnectPoll state changes): tcp = until the SSLRequest went out (CONNECTION_SSL_STARTUP)
or the start-up packet did; ssl = SSLRequest round trip and TLS handshake (the whole
CONNECTION_SSL_STARTUP state); startup = until CONNECTION_OK.
"""
import ctypes
import json
import select
import sys
import time

lib = ctypes.CDLL(sys.argv[1])
lib.PQconnectStartParams.restype = ctypes.c_void_p
lib.PQconnectStartParams.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]
lib.PQconnectPoll.argtypes = [ctypes.c_void_p]
lib.PQstatus.argtypes = [ctypes.c_void_p]
lib.PQsocket.argtypes = [ctypes.c_void_p]
lib.PQexec.restype = ctypes.c_void_p
lib.PQexec.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
lib.PQresultStatus.argtypes = [ctypes.c_void_p]
lib.PQclear.argtypes = [ctypes.c_void_p]
lib.PQfinish.argtypes = [ctypes.c_void_p]
lib.PQerrorMessage.restype = ctypes.c_char_p
lib.PQerrorMessage.argtypes = [ctypes.c_void_p]
lib.PQsslInUse.argtypes = [ctypes.c_void_p]

POLLING_FAILED, POLLING_READING, POLLING_WRITING, POLLING_OK = 0, 1, 2, 3
CONNECTION_SSL_STARTUP = 7
PGRES_TUPLES_OK = 2


def one(keys, values):
    kw = (ctypes.c_char_p * (len(keys) + 1))(*keys, None)
    vals = (ctypes.c_char_p * (len(values) + 1))(*values, None)
    t0 = time.perf_counter()
    conn = lib.PQconnectStartParams(kw, vals, 0)
    ssl_start = None
    ssl_end = None
    state = POLLING_WRITING
    while True:
        sock = lib.PQsocket(conn)
        if state == POLLING_READING:
            select.select([sock], [], [])
        elif state == POLLING_WRITING:
            select.select([], [sock], [])
        state = lib.PQconnectPoll(conn)
        now = time.perf_counter()
        status = lib.PQstatus(conn)
        if status == CONNECTION_SSL_STARTUP and ssl_start is None:
            ssl_start = now
        if ssl_start is not None and ssl_end is None and status != CONNECTION_SSL_STARTUP:
            ssl_end = now
        if state in (POLLING_OK, POLLING_FAILED):
            break
    ready = time.perf_counter()
    if state == POLLING_FAILED:
        message = lib.PQerrorMessage(conn).decode(errors='replace')
        lib.PQfinish(conn)
        raise RuntimeError(message)
    encrypted = bool(lib.PQsslInUse(conn))
    res = lib.PQexec(conn, b'select 1')
    ok = lib.PQresultStatus(res) == PGRES_TUPLES_OK
    lib.PQclear(res)
    queried = time.perf_counter()
    lib.PQfinish(conn)
    closed = time.perf_counter()
    if not ok:
        raise RuntimeError('select 1 failed')
    tcp_end = ssl_start if ssl_start is not None else None
    ms = lambda a, b: None if a is None or b is None else round((b - a) * 1000, 4)
    return {
        'tcp': ms(t0, tcp_end),
        'ssl': ms(ssl_start, ssl_end),
        'startup': ms(ssl_end if ssl_end is not None else t0, ready),
        'connect': ms(t0, ready),
        'query': ms(ready, queried),
        'close': ms(queried, closed),
        'encrypted': encrypted,
    }


for line in sys.stdin:
    count, conninfo = line.rstrip('\n').split(' ', 1)
    params = json.loads(conninfo)
    keys = [k.encode() for k in params]
    values = [str(v).encode() for v in params.values()]
    try:
        out = [one(keys, values) for _ in range(int(count))]
        print(json.dumps(out), flush=True)
    except Exception as error:  # noqa: BLE001 - reported to the caller, which stops
        print(json.dumps({'error': str(error)}), flush=True)
