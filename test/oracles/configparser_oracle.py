"""Reads a JSON list of ini file paths on stdin and prints, for each, what Python's
configparser makes of it: every section's dict(parser.items(section)), or the exception name.
Files are opened as psycopg2 users open them, with encoding='utf-8-sig'."""
import configparser
import json
import sys

out = []
for path in json.load(sys.stdin):
    parser = configparser.ConfigParser()
    try:
        with open(path, encoding="utf-8-sig") as f:
            parser.read_file(f)
    except UnicodeDecodeError:
        out.append({"error": "UnicodeDecodeError"})
        continue
    except configparser.Error as e:
        out.append({"error": type(e).__name__})
        continue
    sections = {}
    for name in parser.sections():
        try:
            sections[name] = {"items": dict(parser.items(name))}
        except configparser.Error as e:
            sections[name] = {"error": type(e).__name__}
    out.append({"sections": sections})
json.dump(out, sys.stdout)
