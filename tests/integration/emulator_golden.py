#!/usr/bin/env python3
"""The requests an emulator received (GET /_emulator/log, on stdin) as the text a golden file
holds: each request's statements one per line, the parts that vary from run to run replaced by
placeholders (staged file names, temporary table numbers, versions, positions, times,
credentials), the requests sorted (snapshot lanes run in parallel, so their order varies) and
each preceded by '-- request'. A request sent again (retry=true) is left out.

Usage: emulator_golden.py snowflake|databricks < log.json"""
import json
import re
import sys

log = json.load(sys.stdin)["statements"]
SNOWFLAKE = [
    (r"AWS_KEY_ID = '[^']*' AWS_SECRET_KEY = '[^']*'( AWS_TOKEN = '[^']*')?", "AWS_KEY_ID = '***' AWS_SECRET_KEY = '***'"),
    (r"/(snapshot|changes|probe)/[0-9a-f]+-[0-9]+\.parquet", r"/\1/RUN-N.parquet"),
    (r"_SLUICE_TMP_[0-9]+", "_SLUICE_TMP_N"),
    (r"AS \"EPOCH\", '[^']*' AS \"POSITION\", [0-9]+ AS \"VERSION\", -?[0-9]+ AS \"COMMIT_US\", [0-9]+ AS \"APPLIED_US\"",
     "AS \"EPOCH\", 'POSITION' AS \"POSITION\", VERSION AS \"VERSION\", COMMIT_US AS \"COMMIT_US\", APPLIED_US AS \"APPLIED_US\""),
    (r"'[^']*' AS \"EPOCH\"", "'EPOCH' AS \"EPOCH\""),
    (r"\"_SLUICE_VERSION\" = [0-9]+ WHERE", "\"_SLUICE_VERSION\" = VERSION WHERE"),
    (r"AND \"VERSION\" = [0-9]+", "AND \"VERSION\" = VERSION"),
    (r"\"EPOCH\" = '[^']*'", "\"EPOCH\" = 'EPOCH'"),
]
# Databricks: values travel as parameters (not in the text); file and probe names carry the run
DATABRICKS = [
    (r"/(snapshot|changes)/[0-9a-f]+-[0-9]+\.parquet", r"/\1/RUN-N.parquet"),
    (r"FILES = \('[0-9a-f]+-[0-9]+\.parquet'\)", "FILES = ('RUN-N.parquet')"),
    (r"_sluice_probe_[0-9a-f]+", "_sluice_probe_RUN"),
]
subs = {"snowflake": SNOWFLAKE, "databricks": DATABRICKS}[sys.argv[1]]
blocks = []
for entry in log:
    if entry.get("retry"):
        continue
    text = entry["text"]
    for pat, rep in subs:
        text = re.sub(pat, rep, text)
    blocks.append("-- request\n" + text.replace(";\n", ";\n") + "\n")
sys.stdout.write("".join(sorted(blocks)))
