"""Reads a JSON list of {"ini": path, "section": name} on stdin and connects with psycopg2 the way
the openGauss manual shows (configparser, then psycopg2.connect(**params)); prints for each
whether the session is SSL according to the server (pg_stat_ssl), or the error."""
import configparser
import json
import sys

import psycopg2

out = []
for item in json.load(sys.stdin):
    parser = configparser.ConfigParser()
    try:
        with open(item["ini"], encoding="utf-8-sig") as f:
            parser.read_file(f)
        params = dict(parser.items(item["section"]))
        conn = psycopg2.connect(**params)
        try:
            cur = conn.cursor()
            cur.execute("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
            out.append({"ssl": cur.fetchone()[0]})
        finally:
            conn.close()
    except Exception as e:
        out.append({"error": type(e).__name__ + ": " + str(e).strip().splitlines()[0]})
json.dump(out, sys.stdout)
