"""Whole-process file encryption on one 256 MiB file: `keel encrypt` /
`keel decrypt` (Keel container, key file, chunked AES-256-GCM) against
`age` (X25519 recipient, chunked ChaCha20-Poly1305), same file, same run,
interleaved rounds, median wall time per command and the children's CPU time
(user + system, which other work on the machine inflates less). Prints JSON.

usage: crypto_cli.py KEEL WORKDIR [--rounds N]
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SIZE = 256 << 20


def run(cmd):
    """Wall seconds of one run, and the child's CPU seconds (user + system),
    which other work on the machine inflates less than wall time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        t0 = time.perf_counter()
        pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - t0
    finally:
        os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed")
    return wall, usage.ru_utime + usage.ru_stime


def main():
    keel, work = sys.argv[1], Path(sys.argv[2])
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 5
    if not shutil.which("age") or not shutil.which("age-keygen"):
        sys.exit("bench: age is not installed (Debian package 'age')")
    work.mkdir(parents=True, exist_ok=True)
    plain = work / "plain.bin"
    if not plain.exists() or plain.stat().st_size != SIZE:
        with open(plain, "wb") as f:
            for _ in range(SIZE >> 20):
                f.write(os.urandom(1 << 20))
    key, identity = work / "keel.key", work / "age-identity.txt"
    if not key.exists():
        subprocess.run([keel, "keygen", str(key), "-q"], check=True)
    if not identity.exists():
        subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
    recipient = subprocess.run(["age-keygen", "-y", str(identity)], check=True, capture_output=True,
                               text=True).stdout.strip()
    age_version = subprocess.run(["age", "--version"], capture_output=True, text=True).stdout.strip()
    cmds = {
        "keel_encrypt": [keel, "encrypt", str(plain), str(work / "keel.enc"), "--key-file", str(key), "-q"],
        "age_encrypt": ["age", "-e", "-r", recipient, "-o", str(work / "age.enc"), str(plain)],
        "keel_decrypt": [keel, "decrypt", str(work / "keel.enc"), str(work / "keel.dec"), "--key-file", str(key), "-q"],
        "age_decrypt": ["age", "-d", "-i", str(identity), "-o", str(work / "age.dec"), str(work / "age.enc")],
    }
    # Warm-up (page cache, outputs present), and a check that both round-trip.
    for c in cmds.values():
        run(c)
    for out in ("keel.dec", "age.dec"):
        subprocess.run(["cmp", str(plain), str(work / out)], check=True)
    times = {k: [] for k in cmds}
    cpu = {k: [] for k in cmds}
    names = list(cmds)
    for r in range(rounds):
        for i in range(len(names)):
            name = names[(i + r) % len(names)]
            wall, used = run(cmds[name])
            times[name].append(wall)
            cpu[name].append(used)
    json.dump({"bytes": SIZE, "age": age_version, "rounds": rounds,
               "median_s": {k: statistics.median(v) for k, v in times.items()},
               "cpu_median_s": {k: statistics.median(v) for k, v in cpu.items()},
               "all_s": times}, sys.stdout)


if __name__ == "__main__":
    main()
