"""The encryption table: printed, and written into bench/README.md between
its own markers (the rest of the README is left as it is).

usage: crypto_report.py RESULTS_DIR README
RESULTS_DIR holds crypto.json (bench_crypto), crypto_cli.json
(crypto_cli.py) and crypto_machine.json.
"""
import json
import sys
from pathlib import Path

from readme_section import replace_section

START, END = "<!-- bench:crypto:start -->", "<!-- bench:crypto:end -->"


def verdict(ok):
    return "met" if ok else "missed"


def main():
    results, readme = Path(sys.argv[1]), Path(sys.argv[2])
    load = lambda name: json.loads((results / name).read_text())
    inproc, cli, machine = load("crypto.json"), load("crypto_cli.json"), load("crypto_machine.json")
    mib = inproc["bytes"] >> 20
    rows = []
    for d in ("encrypt", "decrypt"):
        r = inproc[d]
        rows.append([f"{d}, op chunk path, 1 thread", f"{r['op_1']:.2f} GB/s", f"{r['cryptopp']:.2f} GB/s",
                     f"{r['openssl']:.2f} GB/s", f"{r['op_1'] / r['cryptopp']:.3f} of Crypto++",
                     f">= 0.90 of Crypto++: {verdict(r['op_1'] / r['cryptopp'] >= 0.9)}"])
        rows.append([f"{d}, op chunk path, {inproc['threads']} threads", f"{r['op_all']:.2f} GB/s", "-", "-",
                     f"{r['op_all'] / r['op_1']:.2f}x 1 thread",
                     f">= 1.7x 1 thread: {verdict(r['op_all'] / r['op_1'] >= 1.7)}"])
    m = cli["median_s"]
    cpu = cli.get("cpu_median_s", {})  # older results have wall times only
    for d in ("encrypt", "decrypt"):
        k, a = m[f"keel_{d}"], m[f"age_{d}"]
        target = f">= 2x age: {verdict(a / k >= 2)}" if d == "encrypt" else "(none)"
        kc, ac = cpu.get(f"keel_{d}"), cpu.get(f"age_{d}")
        k_text = f"{k * 1000:.0f} ms" + (f" (CPU {kc * 1000:.0f} ms)" if kc is not None else "")
        a_text = f"age: {a * 1000:.0f} ms" + (f" (CPU {ac * 1000:.0f} ms)" if ac is not None else "")
        rows.append([f"`keel {d}` vs `age` (X25519), whole process, {mib} MiB file", k_text, a_text, "-",
                     f"{a / k:.2f}x faster than age", target])
    head = ["benchmark", "keel", "raw Crypto++ (1 call, 1 thread) / age", "OpenSSL EVP (1 call, 1 thread)",
            "ratio", "target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    section = "\n".join([
        START,
        f"Run of {machine['date']}: {machine['cpu']}; age {cli['age']}; {mib} MiB buffer and file, 1 MiB chunks; "
        f"load average {machine['load_before']} before, {machine['load_after']} after; "
        f"in-process: medians of {machine['rounds_inproc']} interleaved rounds, whole process: medians of "
        f"{cli['rounds']} interleaved rounds.",
        "",
        "\n".join(lines),
        END,
    ])
    replace_section(readme, START, END, section, "Latest encryption results")


if __name__ == "__main__":
    main()
