#!/usr/bin/env python3
"""Samples processes for the soak run: RSS, open descriptors, sockets, and serve's pass time.

Usage: sample.py OUT.csv INTERVAL_S DURATION_S SERVE_URL NAME=PID [NAME=PID ...]

Every INTERVAL_S seconds for DURATION_S seconds it appends one row per process to OUT.csv:
elapsed seconds, process name, RSS (MiB), open file descriptors, of which sockets, and, from serve
(SERVE_URL: its /metrics and its embedded PostgREST), the passes run and the mean pass time over the last
interval and the rows the database holds (the tables the app and the matchmaker write). With
SOAK_DATABASE_URL set (the postgres backend), the rows are counted there with psql (from PG_BIN).
A process that has exited ends the run with an error: a soak that lost a process is not flat. A scrape
that takes over 10 s is logged and leaves that row's pass columns empty.
"""
import csv
import json
import os
import subprocess
import sys
import time
import urllib.request


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def descriptors(pid):
    total = sockets = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        total += 1
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                sockets += 1
        except OSError:
            pass  # closed between listdir and readlink
    return total, sockets


def pass_totals(url):
    """Returns (count, sum of seconds) of serve's pass histogram, or None when /metrics did not answer in 10 s."""
    count = total = 0.0
    try:
        response = urllib.request.urlopen(url, timeout=10)
    except OSError as error:
        print(f"soak: /metrics did not answer: {error}", file=sys.stderr, flush=True)
        return None
    with response:
        for line in response.read().decode().splitlines():
            if line.startswith("matchmaker_pass_seconds_count"):
                count = float(line.rsplit(" ", 1)[1])
            elif line.startswith("matchmaker_pass_seconds_sum"):
                total = float(line.rsplit(" ", 1)[1])
    return count, total


# Each table with one column of its key, to count its rows with little to send.
TABLES = {"user": "id", "room": "id", "room_member": "user_id", "message": "id", "skipped_pair": "user_a_id",
          "bot_analytics": "id"}


def stored_rows(base):
    """The rows in TABLES through serve's embedded PostgREST, or "" when it did not answer in 10 s."""
    total = 0
    try:
        for table, column in TABLES.items():
            request = urllib.request.Request(f"{base}/rest/v1/{table}?select={column}", headers={"apikey": "soak"})
            with urllib.request.urlopen(request, timeout=10) as response:
                total += len(json.load(response))
    except OSError as error:
        print(f"soak: PostgREST did not answer: {error}", file=sys.stderr, flush=True)
        return ""
    return total


def stored_rows_sql(database_url):
    """The rows in TABLES of the database, counted with psql, or "" when it did not answer in 10 s."""
    psql = os.path.join(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"), "psql")
    query = "select " + " + ".join(f'(select count(*) from public."{table}")' for table in TABLES)
    try:
        result = subprocess.run([psql, database_url, "-qAt", "-c", query], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError) as error:
        print(f"soak: psql did not answer: {error}", file=sys.stderr, flush=True)
        return ""
    return int(result.stdout.strip())


def main():
    out, interval, duration, base = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    url = f"{base}/metrics"
    processes = [arg.split("=", 1) for arg in sys.argv[5:]]
    database_url = os.environ.get("SOAK_DATABASE_URL", "")
    start = time.monotonic()
    last = pass_totals(url)
    with open(out, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["elapsed_s", "process", "rss_mib", "fds", "sockets", "passes", "mean_pass_ms", "rows"])
        tick = 1
        while True:
            time.sleep(max(0.0, start + tick * interval - time.monotonic()))
            elapsed = time.monotonic() - start
            now = pass_totals(url)
            if now is None or last is None:
                passes, mean_ms = "", ""
            else:
                passes = int(now[0] - last[0])
                mean_ms = f"{(now[1] - last[1]) / passes * 1000:.2f}" if passes else "0.00"
            last = now
            rows = stored_rows_sql(database_url) if database_url else stored_rows(base)
            for name, pid in processes:
                if not os.path.exists(f"/proc/{pid}"):
                    sys.exit(f"soak: {name} (pid {pid}) exited at {elapsed:.0f} s")
                fds, sockets = descriptors(pid)
                writer.writerow([f"{elapsed:.0f}", name, f"{rss_mib(pid):.1f}", fds, sockets, passes, mean_ms, rows])
            file.flush()
            if tick % 6 == 0:
                print(f"soak: {elapsed:.0f}/{duration:.0f} s", flush=True)
            if elapsed >= duration:
                break
            tick += 1


if __name__ == "__main__":
    main()
