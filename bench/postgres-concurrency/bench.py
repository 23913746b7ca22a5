#!/usr/bin/env python3
"""The release benchmark of the postgres backend; run through bench/postgres-concurrency/run.sh.

Against DATABASE_URL (a throwaway server set up by scripts/with-postgres.sh): pgbench TPC-B first,
then, one run after the other, 1, 2, 4 and 8 `matchmaker serve` processes over USERS users enqueued
at once. Each run starts from empty tables and an empty queue, prints its progress, checks the
invariants and keeps its numbers; the end writes bench/RESULTS-postgres.md.
"""

import argparse
import datetime
import json
import os
import random
import signal
import subprocess
import sys
import time

URL = os.environ["DATABASE_URL"]
QUEUE = "stranger-queue"
QUEUE_TABLE = 'pgmq."q_stranger-queue"'


def psql(sql):
    """Runs SQL, returns the unaligned output's lines."""
    out = subprocess.run(
        ["psql", URL, "-XAtq", "-v", "ON_ERROR_STOP=1"], input=sql, check=True, capture_output=True, text=True
    ).stdout
    return [line for line in out.splitlines() if line]


def scalar(sql):
    rows = psql(sql)
    return rows[0] if rows else None


def say(text):
    print(text, flush=True)


def pgbench(seconds, clients):
    say(f"pgbench: initialising scale 10, then TPC-B with {clients} clients for {seconds} s")
    subprocess.run(["pgbench", "-i", "-s", "10", "-q", URL], check=True, capture_output=True)
    out = subprocess.run(
        ["pgbench", "-c", str(clients), "-j", "2", "-T", str(seconds), "-n", URL], check=True, capture_output=True, text=True
    ).stdout
    tps = next(float(line.split()[2]) for line in out.splitlines() if line.startswith("tps = "))
    say(f"pgbench: {tps:.0f} tps")
    return tps


def reset_and_seed(run, users):
    """Empties the app's tables and the queue, then enqueues `users` new users at once."""
    psql(
        f"""
        truncate public.room, public.room_member, public.matchmaker_outbox, public.skipped_pair cascade;
        delete from {QUEUE_TABLE};
        truncate realtime.messages;
        delete from public."user" where id like 'bench-%';
        """
    )
    prefix = f"bench-{run}-"
    psql(
        f"""
        insert into public."user" (id, name, email, email_verified, created_at, updated_at, is_anonymous, is_bot)
        select '{prefix}' || g, 'User ' || g, '{prefix}' || g || '@bench.invalid', true, now(), now(), true, false
        from generate_series(1, {users}) g;
        """
    )
    continents = ["World", "World", "World", "Europe", "Asia", "North America", "South America", "Africa", "Oceania", ""]
    rng = random.Random(run)
    picks = ",".join(f"'{rng.choice(continents)}'" for _ in range(users))
    psql(
        f"""
        select count(*) from pgmq.send_batch('{QUEUE}', (
            select array_agg(jsonb_build_object('userId', '{prefix}' || g, 'continent', (array[{picks}])[g]) order by g)
            from generate_series(1, {users}) g));
        """
    )
    return prefix


def start_matchers(count, binary, logs):
    env = dict(os.environ)
    env.update(
        {
            "HTTP_PORT": "0",
            "MATCH_INTERVAL": "0.05",
            "QUEUE_LEASE_SECONDS": "5",
            "QUEUE_TTL": "8",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "info",
            "BOTS": "off",
        }
    )
    env.pop("SUPABASE_URL", None)
    processes = []
    for index in range(count):
        log = open(os.path.join(logs, f"matcher-{count}-{index}.log"), "w")
        processes.append((subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=log), log))
    return processes


def stop_matchers(processes):
    for process, _ in processes:
        process.send_signal(signal.SIGTERM)
    for process, log in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def pass_times(logs, count):
    """Durations (ms) of passes that leased someone, from the matchers' `Pass completed` lines."""
    durations = []
    for index in range(count):
        with open(os.path.join(logs, f"matcher-{count}-{index}.log")) as log:
            for line in log:
                if '"Pass completed"' not in line:
                    continue
                try:
                    metadata = json.loads(line).get("metadata", {})
                except json.JSONDecodeError:
                    continue
                if int(metadata.get("pass.leased", "0")) > 0 and "pass.duration_ms" in metadata:
                    durations.append(float(metadata["pass.duration_ms"]))
    return sorted(durations)


def percentile(values, fraction):
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(fraction * (len(values) - 1))))]


def run_matchers(count, users, binary, logs, limit):
    prefix = reset_and_seed(count, users)
    say(f"[{count} matcher{'s' if count > 1 else ''}] {users} users enqueued; starting")
    started = time.monotonic()
    processes = start_matchers(count, binary, logs)
    try:
        while True:
            time.sleep(0.5)
            rooms, queued, outbox = psql(
                f"select (select count(*) from public.room where owner_id like '{prefix}%'), "
                f"(select count(*) from {QUEUE_TABLE}), (select count(*) from public.matchmaker_outbox)"
            )[0].split("|")
            elapsed = time.monotonic() - started
            say(f"[{count}] {elapsed:5.1f} s: {int(rooms):5d} rooms, {int(queued):5d} queued, {int(outbox)} pending")
            if int(queued) == 0 and int(outbox) == 0:
                break
            if elapsed > limit:
                say(f"[{count}] stopped after {limit} s with {queued} still queued")
                break
            if any(process.poll() is not None for process, _ in processes):
                raise SystemExit(f"a matcher exited early; see {logs}")
    finally:
        stop_matchers(processes)
    wall = time.monotonic() - started

    rooms = int(scalar(f"select count(*) from public.room where owner_id like '{prefix}%'"))
    pairing = float(
        scalar(
            f"select coalesce(extract(epoch from max(created_at) - min(created_at)), 0) from public.room "
            f"where owner_id like '{prefix}%'"
        )
    )
    twice = int(
        scalar(
            f"select count(*) from (select user_id from public.room_member where user_id like '{prefix}%' "
            f"group by user_id having count(*) > 1) t"
        )
    )
    matched = int(scalar(f"select count(distinct user_id) from public.room_member where user_id like '{prefix}%'"))
    expired = int(
        scalar(
            f"select count(distinct topic) from realtime.messages where event = 'stranger_no_matches' and topic like 'user:{prefix}%'"
        )
    )
    queued = int(scalar(f"select count(distinct message ->> 'userId') from {QUEUE_TABLE} where message ->> 'userId' like '{prefix}%'"))
    lost = int(
        scalar(
            f"""
            select count(*) from public."user" u where u.id like '{prefix}%'
              and not exists (select 1 from public.room_member m where m.user_id = u.id)
              and not exists (select 1 from {QUEUE_TABLE} q where q.message ->> 'userId' = u.id)
              and not exists (select 1 from realtime.messages r where r.topic = 'user:' || u.id and r.event = 'stranger_no_matches')
            """
        )
    )
    untold = int(
        scalar(
            f"""
            select count(*) from public.room_member m where m.user_id like '{prefix}%'
              and not exists (select 1 from realtime.messages r
                              where r.topic = 'user:' || m.user_id and r.event = 'stranger_matched'
                                and r.payload -> 'room' ->> 'id' = m.room_id)
            """
        )
    )
    durations = pass_times(logs, count)
    numbers = {
        "matchers": count,
        "rooms": rooms,
        "matched": matched,
        "expired": expired,
        "queued": queued,
        "twice": twice,
        "lost": lost,
        "untold": untold,
        "wall": wall,
        "pairing": pairing,
        "pairsPerSecond": rooms / pairing if pairing > 0 else 0.0,
        "passes": len(durations),
        "p50": percentile(durations, 0.5),
        "p99": percentile(durations, 0.99),
    }
    say(
        f"[{count}] {rooms} rooms in {pairing:.2f} s: {numbers['pairsPerSecond']:.0f} pairs/s; "
        f"p99 pass {numbers['p99']:.1f} ms over {len(durations)} passes; "
        f"in two rooms {twice}, lost {lost}, untold {untold}, expired {expired}, still queued {queued}"
    )
    return numbers


def write_results(path, tps, runs, users, seconds, clients):
    server = scalar("show server_version")
    lines = [
        "# PostgreSQL backend: release benchmark",
        "",
        f"Measured by `bench/postgres-concurrency/run.sh {users}` on {datetime.date.today().isoformat()}: release build,",
        f"{os.cpu_count()} cores shared with other work, PostgreSQL {server} (throwaway cluster of `scripts/with-postgres.sh`,",
        "fsync off), the real pgmq SQL and our migrations. One server serves every run, one after the other.",
        "",
        f"Baseline: pgbench TPC-B (scale 10, {clients} clients, 2 threads, {seconds} s) on the same server first: **{tps:.0f} tps**.",
        "",
        f"Then, for each row, {users} users are enqueued at once (one `pgmq.send_batch`; continents mixed, 30 % World) into",
        "emptied tables, and that many `matchmaker serve` processes run on `DATABASE_URL` (`MATCH_INTERVAL=0.05`,",
        "`BATCH_SIZE=100`, `QUEUE_TTL=8`, notifications through `realtime.send`) until the queue and the outbox are",
        "empty. Pairs/s counts rooms over the time from the first room to the last; p99 is over the passes that leased",
        "someone, from each pass's `Pass completed` log line.",
        "",
        "| matchers | rooms | pairing time | **pairs/s** | ratio to pgbench | p50 pass | p99 pass | passes | expired | in two rooms | lost | matched, untold |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| {run['matchers']} | {run['rooms']} | {run['pairing']:.2f} s | **{run['pairsPerSecond']:.0f}** | "
            f"{run['pairsPerSecond'] / tps:.2f}× | {run['p50']:.1f} ms | {run['p99']:.1f} ms | {run['passes']} | "
            f"{run['expired']} | {run['twice']} | {run['lost']} | {run['untold']} |"
        )
    lines += [
        "",
        "Invariants, checked after each run: **in two rooms** counts users who are members of more than one room (must",
        "be 0); **lost** counts users who are in no room, not queued, and were not told `stranger_no_matches` (must be 0);",
        "**matched, untold** counts room members without a `stranger_matched` for their room in `realtime.messages`",
        "(must be 0).",
        "",
        "A pass costs a handful of statements whatever its size: the lease (`pgmq.read`), one look-up of skips and bots,",
        "one `commit_stranger_matches` call that writes every room, member, consumed message and `realtime.send`",
        "broadcast of the pass (each match all or nothing), and one release of the users it keeps.",
    ]
    with open(path, "w") as out:
        out.write("\n".join(lines) + "\n")
    say("\n".join(lines))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--matchers", default="1 2 4 8")
    parser.add_argument("--binary", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--logs", required=True)
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--limit", type=float, default=180)
    args = parser.parse_args()
    tps = pgbench(args.pgbench_seconds, 8)
    runs = [run_matchers(int(n), args.users, args.binary, args.logs, args.limit) for n in args.matchers.split()]
    write_results(args.out, tps, runs, args.users, args.pgbench_seconds, 8)
    if any(run["twice"] or run["lost"] or run["untold"] for run in runs):
        sys.exit("an invariant failed")


if __name__ == "__main__":
    main()
