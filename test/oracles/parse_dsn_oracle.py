"""Reads a JSON list of connection strings on stdin and prints what libpq's own parser
(PQconninfoParse, through psycopg2.extensions.parse_dsn) makes of each: the keyword map, or
{"error": message}. Also prints the libpq version psycopg2 was built with."""
import json
import sys

import psycopg2.extensions as ext

out = []
for dsn in json.load(sys.stdin):
    try:
        out.append({"keywords": ext.parse_dsn(dsn)})
    except Exception as e:  # psycopg2.ProgrammingError: invalid dsn
        out.append({"error": str(e).strip()})
json.dump({"libpq": ext.libpq_version(), "results": out}, sys.stdout)
