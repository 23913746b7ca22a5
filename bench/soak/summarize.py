#!/usr/bin/env python3
"""Turns the soak's samples into the Markdown table of bench/RESULTS.md.

Usage: summarize.py SAMPLES.csv [ROW_EVERY_S]   (default 300: one row every five minutes)

Per process: a row every ROW_EVERY_S seconds, then the least-squares slope of RSS and of open
descriptors over the second half of the run (after warm-up), per hour. Flat means no leak.
"""
import csv
import sys
from collections import defaultdict


def slope_per_hour(points):
    n = len(points)
    if n < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    cov = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return cov / var * 3600 if var else 0.0


def main():
    every = float(sys.argv[2]) if len(sys.argv) > 2 else 300
    rows = defaultdict(list)
    with open(sys.argv[1]) as file:
        for row in csv.DictReader(file):
            rows[row["process"]].append(row)
    for name, samples in rows.items():
        print(f"\n**{name}**\n")
        print("| elapsed | RSS (MiB) | fds | sockets | passes in 10 s | mean pass (ms) | rows stored |")
        print("|---|---|---|---|---|---|---|")
        next_row = 0.0
        for sample in samples:
            elapsed = float(sample["elapsed_s"])
            if elapsed + 0.5 >= next_row or sample is samples[-1]:
                print(f"| {elapsed / 60:.0f} min | {sample['rss_mib']} | {sample['fds']} | {sample['sockets']} "
                      f"| {sample['passes']} | {sample['mean_pass_ms']} | {sample.get('rows', '')} |")
                next_row += every
        second_half = samples[len(samples) // 2:]
        rss = [(float(s["elapsed_s"]), float(s["rss_mib"])) for s in second_half]
        fds = [(float(s["elapsed_s"]), float(s["fds"])) for s in second_half]
        all_rss = [float(s["rss_mib"]) for s in samples]
        print(f"\n{len(samples)} samples; RSS min {min(all_rss):.1f}, max {max(all_rss):.1f} MiB; "
              f"second half: RSS {slope_per_hour(rss):+.1f} MiB/h, descriptors {slope_per_hour(fds):+.1f}/h")


if __name__ == "__main__":
    main()
