"""The signature verification tables: printed, and written into
bench/README.md between their own markers (the rest of the README is left
as it is).

usage: trust_report.py TRUST_JSON README LOAD_BEFORE MODE
TRUST_JSON is what bench_trust printed; LOAD_BEFORE the load average when
the run started; MODE a note for the run's line ("" for a full run).
"""
import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

from readme_section import replace_section

START, END = "<!-- bench:trust:start -->", "<!-- bench:trust:end -->"


def ms(seconds):
    v = seconds * 1000
    return f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms" if v < 100 else f"{v:.0f} ms"


def size(n):
    return f"{n / 1e6:.2f} MB" if n < 1e7 else f"{n / 1e6:.0f} MB ({n / 2**20:.0f} MiB)"


def cpu_line():
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = re.search(r"Model name:\s*(.*)", cpu)[1].strip()
    count = re.search(r"^CPU\(s\):\s*(\d+)", cpu, re.M)[1]
    return f"{model}, {count} CPUs"


def main():
    r = json.loads(Path(sys.argv[1]).read_text())
    readme, load_before, mode = Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    head = ["file", "size", "verify, in process (warm)", "verify, fresh process (page faults)",
            "first load, fresh process (page faults) / read", "verify / load (or read)"]
    t = lambda m: ms(m["s"])
    tf = lambda m: f"{ms(m['s'])} ({m['faults']:.0f})"
    rows = []
    for p in r["plugins"]:
        rows.append([f"plugin `{p['name']}`", size(p["bytes"]), t(p["verify_warm"]), tf(p["verify_fresh"]),
                     tf(p["load_fresh"]), f"{p['verify_fresh']['s'] / p['load_fresh']['s']:.2f}"])
    a, plugins = r["all"], r["plugins"]
    rows.append([f"all {a['count']} plugins, one fresh process (as `keel run` loads them)",
                 size(sum(p["bytes"] for p in plugins)),
                 f"{ms(sum(p['verify_warm']['s'] for p in plugins))} (sum)", tf(a["verify"]), tf(a["load"]),
                 f"{a['verify']['s'] / a['load']['s']:.2f}"])
    k = a["checked_load"]
    rows.append([f"all {a['count']} plugins under `--require-signed`: each copied into a sealed memory file, "
                 "verified there and loaded from it, one fresh process; last column: against the plain load",
                 size(sum(p["bytes"] for p in plugins)), "-", "-", tf(k),
                 f"{k['s'] / a['load']['s']:.2f}"])
    c = r["checkpoint"]
    rows.append([f"checkpoint, safetensors, {c['tensors']} f32 tensors [1024, 1024]", size(c["bytes"]),
                 tf(c["verify"]), "-", f"{tf(c['read'])}, `read_safetensors`",
                 f"{c['verify']['s'] / c['read']['s']:.2f}"])
    rows.append(["the two Ed25519 checks alone (file digest, trusted comment): the part that does not grow "
                 "with the file", "-", ms(r["ed25519_pair_s"]), "-", "-", "-"])
    b = r["bandwidth"]
    mib = b["bytes"] >> 20
    file_mbps = c["bytes"] / c["verify"]["s"] / 1e6
    bw_head = ["throughput", "MB/s", "/ memory read"]
    bw_rows = [
        [f"memory read (every 64-bit word of a {mib} MiB buffer XOR-folded)", f"{b['read_gbps'] * 1e3:.0f}",
         "1"],
        [f"memcpy of the {mib} MiB buffer (bytes copied)", f"{b['memcpy_gbps'] * 1e3:.0f}",
         f"{b['memcpy_gbps'] / b['read_gbps']:.3f}"],
        [f"BLAKE2b-512 of the {mib} MiB buffer, trust module (`hash_bytes`, Crypto++)",
         f"{b['hash_gbps'] * 1e3:.0f}", f"{b['hash_gbps'] / b['read_gbps']:.3f}"],
        [f"BLAKE2b-512 of the {mib} MiB buffer, OpenSSL `EVP_blake2b512` (peer)",
         f"{b['openssl_hash_gbps'] * 1e3:.0f}", f"{b['openssl_hash_gbps'] / b['read_gbps']:.3f}"],
        [f"verification of the {c['bytes'] >> 20} MiB checkpoint (`verify_file`: pread from the page cache, "
         "hash, Ed25519)", f"{file_mbps:.0f}", f"{file_mbps / 1e3 / b['read_gbps']:.3f}"],
    ]
    table = lambda h, rs: "\n".join(["| " + " | ".join(h) + " |", "|" + "---|" * len(h)] +
                                    ["| " + " | ".join(x) + " |" for x in rs])
    load_after = " ".join(open("/proc/loadavg").read().split()[:3])
    section = "\n".join([
        START,
        f"Run of {datetime.date.today().isoformat()}: {cpu_line()}; load average {load_before} before, "
        f"{load_after} after; medians of {r['rounds']} interleaved rounds" + (f"; {mode}" if mode else "") + ".",
        "",
        table(head, rows),
        "",
        table(bw_head, bw_rows),
        END,
    ])
    replace_section(readme, START, END, section, "Latest signature verification results")


if __name__ == "__main__":
    main()
