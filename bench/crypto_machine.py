"""Machine line of the encryption table: CPU, AES instructions, load.

usage: crypto_machine.py OUT.json LOAD_BEFORE ROUNDS_IN_PROCESS
"""
import datetime
import json
import re
import subprocess
import sys

cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
model = re.search(r"Model name:\s*(.*)", cpu)[1].strip()
count = re.search(r"^CPU\(s\):\s*(\d+)", cpu, re.M)[1]
flags = re.search(r"Flags:\s*(.*)", cpu)[1].split()
json.dump({"date": datetime.date.today().isoformat(),
           "cpu": f"{model}, {count} CPUs" + (", AES-NI" if "aes" in flags else "") + (", VAES" if "vaes" in flags else ""),
           "load_before": sys.argv[2], "load_after": " ".join(open("/proc/loadavg").read().split()[:3]),
           "rounds_inproc": int(sys.argv[3])}, open(sys.argv[1], "w"))
