"""Training with one core busy: keel's default thread setting against --threads 1.

A user's machine is rarely idle. With another process spinning on one core,
an op split over two OpenMP threads waits at its join for whichever thread
the scheduler preempted, so the default settings (all cores) must not lose
to `--threads 1` there (target: at most 10% slower). Started by bench/run,
which appends the rows this prints (JSON, bench/README.md "Adding a
benchmark") to the table.

usage: under_load.py KEEL ROUNDS FLAGSHIP_GRAPH LARGE_GRAPH OUT_DIR
"""
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys


def spin(stop):
    while not stop.is_set():
        for _ in range(100000):
            pass


def rate(keel, graph, out, extra):
    """steps/s from keel run's last line, "trained N steps in S s (R steps/s)"."""
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)  # the default is what is measured
    done = subprocess.run([keel, "run", graph, "-o", out, *extra], env=env, capture_output=True, text=True,
                          check=True)
    m = re.search(r"trained (\d+) steps in ([\d.]+) s", done.stdout)
    if not m:
        sys.exit("under_load: unexpected output from keel run: " + done.stdout[-300:])
    return int(m[1]) / float(m[2])


def main():
    keel, rounds, flagship, large, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    stop = multiprocessing.Event()
    busy = multiprocessing.Process(target=spin, args=(stop,), daemon=True)
    busy.start()
    rows = []
    try:
        for name, graph in (("flagship", flagship), ("large model", large)):
            default, one = [], []
            for i in range(rounds):
                # Alternate which goes first, so drifts in load hit both alike.
                pair = [("default", []), ("one", ["--threads", "1"])]
                for kind, extra in pair if i % 2 == 0 else reversed(pair):
                    r = rate(keel, graph, os.path.join(out, "under-load"), extra)
                    (default if kind == "default" else one).append(r)
            d, o = statistics.median(default), statistics.median(one)
            slower = o / d  # time per step, default over --threads 1
            rows.append({
                "benchmark": f"training with one core busy, {name}: default threads vs --threads 1",
                "keel": f"{d:.1f} steps/s (default)",
                "reference": f"{o:.1f} steps/s (--threads 1)",
                "ratio": f"{slower:.3f}",
                "target": "<= 1.10: " + ("met" if slower <= 1.10 else "missed"),
            })
    finally:
        stop.set()
        busy.join(timeout=5)
    json.dump(rows, sys.stdout)


if __name__ == "__main__":
    main()
