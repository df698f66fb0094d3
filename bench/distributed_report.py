"""The distributed training benchmark: data-parallel Keel under Open MPI
against one Keel process and against PyTorch (one process, and DDP over
Gloo), on bench/graphs/large_train.yaml. Runs the configurations
interleaved, then prints its table and writes it into bench/README.md
between its own markers (the rest of the README is left as it is).

usage: distributed_report.py --keel KEEL --graph GRAPH --data DIR --results JSON --readme README
                             [--steps K] [--rounds R] [--load-before "L1 L5 L15"] [--mode TEXT]

GRAPH is large_train.yaml next to its data (DIR: x.npy, label.npy; bench/run
writes them). Every configuration runs the same model, global batch (256)
and number of steps (K, through `--set train.steps=K`), with one thread per
process:

  keel 1      keel run GRAPH --threads 1
  keel 2      mpirun -np 2 --bind-to none keel run GRAPH --threads 1
  torch 1     torch_ddp_train.py --procs 1 (plain PyTorch, no process group)
  torch 2     torch_ddp_train.py --procs 2 (DistributedDataParallel, Gloo)
  keel 1+1    two independent `keel run GRAPH --threads 1` at the same time:
              what this machine gives two single-threaded processes at
              once, the ceiling of any 2-rank run here

Each round runs every configuration once, in an order rotated by one per
round, so a burst of other load hits them alike; the figures are medians
over the rounds. Keel runs with -q --stats (the same in 1 and 2 processes):
--stats prints the allreduce line read below and times each node (two
clock reads per node and pass, nothing against steps of tens of ms).

Keel's steps/s: "steps" / "seconds" from run.json in the run's output
folder. That is the clock of the "trained N steps in S s" line that
bench/run reads for the single-process training rows (Trainer::run, from
the first step to the end of the last epoch's evaluation; process start,
plugin loading, MPI start and reading the data are outside it), unrounded
and written under -q too. For 2 ranks it is rank 0's clock; the ranks do
not meet before their first step, so a rank that starts later shows up as
rank 0 waiting in the first step's allreduce, against Keel. PyTorch's clock
(torch_ddp_train.py) is the same loop with the same per-epoch evaluation,
started after 5 untimed warm-up steps and a barrier: what it leaves out can
only favour PyTorch.

The allreduce share: "waited W s for allreduce (P% of T s of steps)" from
rank 0's --stats line: time blocked on gradient sums that backward did not
hide, over the steps' wall time (W / T, unrounded from the printed values).
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from readme_section import replace_section

START, END = "<!-- bench:distributed:start -->", "<!-- bench:distributed:end -->"
SCALING_TARGET = 1.8  # keel 2 ranks / keel 1 process
VS_DDP_TARGET = 3.0  # keel 2 ranks / PyTorch DDP 2 ranks
CONFIGS = ["keel1", "keel2", "torch1", "torch2", "keel1+1"]
STATS = re.compile(r"distributed: (\d+) ranks, (\d+) buckets, ([\d.]+) MB of gradients per step; "
                   r"waited ([\d.]+) s for allreduce \([\d.]+% of ([\d.]+) s of steps\)")
HERE = Path(__file__).resolve().parent


def keel_env():
    return dict(os.environ, OMP_NUM_THREADS="1")


def mpi_env():
    # Open MPI refuses root unless told; only its children get this.
    return dict(keel_env(), OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def torch_env():
    # As bench/run's torch_env: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (set
    # on these machines for old OpenBLAS bugs) slow a current one down.
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    return dict(env, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


class Runner:
    def __init__(self, args, work):
        self.args, self.work, self.count = args, Path(work), 0

    def keel_cmd(self, out):
        a = self.args
        return [a.keel, "run", a.graph, "-o", str(out), "--threads", "1", "-q", "--stats",
                "--set", f"train.steps={a.steps}", "--set", "train.report=false"]

    def fresh(self, name):
        self.count += 1
        return self.work / f"{name}-{self.count}"

    @staticmethod
    def check(proc, what):
        if proc.returncode != 0:
            sys.exit(f"bench: error: {what} exited with status {proc.returncode}; its output:\n"
                     + (proc.stdout or "")[-2000:] + (proc.stderr or "")[-2000:])

    @staticmethod
    def keel_rate(out):
        run = json.loads((out / "run.json").read_text())
        return run["steps"] / run["seconds"]

    def keel1(self):
        out = self.fresh("keel1")
        p = subprocess.run(self.keel_cmd(out), env=keel_env(), capture_output=True, text=True)
        self.check(p, "keel run")
        return {"steps_per_s": self.keel_rate(out)}

    def keel2(self):
        out = self.fresh("keel2")
        cmd = ["mpirun", "-np", "2", "--bind-to", "none"] + self.keel_cmd(out)
        p = subprocess.run(cmd, env=mpi_env(), capture_output=True, text=True)
        self.check(p, "mpirun -np 2 keel run")
        m = STATS.search(p.stdout)
        if not m:
            sys.exit("bench: error: no 'distributed:' line from mpirun -np 2 keel run --stats; its output:\n"
                     + p.stdout[-2000:])
        wait, steps = float(m[4]), float(m[5])
        return {"steps_per_s": self.keel_rate(out), "ranks": int(m[1]), "buckets": int(m[2]),
                "mb_per_step": float(m[3]), "wait_s": wait, "step_s": steps, "wait_share": wait / steps}

    def torch(self, procs):
        cmd = [sys.executable, str(HERE / "torch_ddp_train.py"), "--data", self.args.data,
               "--steps", str(self.args.steps), "--procs", str(procs), "--threads", "1"]
        p = subprocess.run(cmd, env=torch_env(), capture_output=True, text=True)
        self.check(p, f"torch_ddp_train.py --procs {procs}")
        return json.loads(p.stdout.strip().splitlines()[-1])

    def pair(self):
        outs = [self.fresh("keel1+1"), self.fresh("keel1+1")]
        procs = [subprocess.Popen(self.keel_cmd(o), env=keel_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for o in outs]
        for p in procs:
            stdout, stderr = p.communicate()
            self.check(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr), "keel run (two at once)")
        rates = [self.keel_rate(o) for o in outs]
        return {"steps_per_s": sum(rates), "each": rates}

    def run(self, name):
        return {"keel1": self.keel1, "keel2": self.keel2, "torch1": lambda: self.torch(1),
                "torch2": lambda: self.torch(2), "keel1+1": self.pair}[name]()


def measure(args):
    results = {c: [] for c in CONFIGS}
    with tempfile.TemporaryDirectory(prefix="keel-bench-distributed-") as work:
        runner = Runner(args, work)
        for r in range(args.rounds):
            order = CONFIGS[r % len(CONFIGS):] + CONFIGS[:r % len(CONFIGS)]
            print(f"bench: distributed training: round {r + 1} of {args.rounds}", file=sys.stderr)
            for name in order:
                results[name].append(runner.run(name))
    return results


def med(runs, key="steps_per_s"):
    return statistics.median(x[key] for x in runs)


def rate(runs):
    values = [x["steps_per_s"] for x in runs]
    spread = f" (rounds {min(values):.1f}-{max(values):.1f})" if len(values) > 1 else ""
    return f"{statistics.median(values):.1f} steps/s" + spread


def verdict(ok):
    return "met" if ok else "missed"


def section(results, meta):
    k1, k2, t1, t2, pair = (results[c] for c in CONFIGS)
    scaling, vs_ddp = med(k2) / med(k1), med(k2) / med(t2)
    ceiling = med(pair) / med(k1)
    head = ["measurement", "Keel", "PyTorch", "Keel / PyTorch", "target"]
    rows = [
        ["1 process x 1 thread: steps/s", rate(k1), rate(t1), f"{med(k1) / med(t1):.2f}x", "-"],
        ["2 ranks x 1 thread (Keel: `mpirun -np 2`; PyTorch: DDP, Gloo): steps/s", rate(k2), rate(t2),
         f"{vs_ddp:.2f}x", f">= {VS_DDP_TARGET:g}x: {verdict(vs_ddp >= VS_DDP_TARGET)}"],
        ["2 ranks / 1 process", f"{scaling:.2f}x", f"{med(t2) / med(t1):.2f}x", "-",
         f"Keel >= {SCALING_TARGET:g}x: {verdict(scaling >= SCALING_TARGET)}"],
        [f"waiting for gradient sums, 2 ranks: share of step time ({k2[0]['buckets']} buckets, "
         f"{k2[0]['mb_per_step']:.1f} MB of gradients per step)",
         f"{100 * med(k2, 'wait_share'):.1f}% (rounds {100 * min(x['wait_share'] for x in k2):.1f}-"
         f"{100 * max(x['wait_share'] for x in k2):.1f}%)", "-", "-", "-"],
        ["the machine's ceiling: two independent 1-process Keel runs at once, steps/s summed; "
         "/ 1 process alone", f"{rate(pair)}; {ceiling:.2f}x", "-", "-", "-"],
    ]
    table = "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] +
                      ["| " + " | ".join(r) + " |" for r in rows])
    line = (f"Run of {meta['date']}: {meta['cpu']}; {meta['mpi']}, `mpirun --bind-to none`; PyTorch "
            f"{meta['torch']}; `large_train.yaml`, global batch 256, {meta['steps']} steps per run, "
            f"1 thread per process; load average {meta['load_before']} before, {meta['load_after']} after; "
            f"medians of {meta['rounds']} interleaved rounds" + (f"; {meta['mode']}" if meta["mode"] else "") + ".")
    return "\n".join([START, line, "", table, END])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keel", required=True)
    ap.add_argument("--graph", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--results", required=True, help="where the raw measurements go (JSON)")
    ap.add_argument("--readme", required=True)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--load-before", default=" ".join(open("/proc/loadavg").read().split()[:3]))
    ap.add_argument("--mode", default="", help="a note for the run's line (a quick run says so)")
    args = ap.parse_args()

    results = measure(args)
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    mpi = subprocess.run(["mpirun", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    meta = {
        "date": datetime.date.today().isoformat(),
        "cpu": re.search(r"Model name:\s*(.*)", cpu)[1].strip() + ", "
               + re.search(r"^CPU\(s\):\s*(\d+)", cpu, re.M)[1] + " CPUs",
        "mpi": re.sub(r"^mpirun \((.*)\) ", r"\1 ", mpi.strip()),
        "torch": subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                                capture_output=True, text=True).stdout.strip(),
        "steps": args.steps, "rounds": args.rounds, "mode": args.mode,
        "load_before": args.load_before, "load_after": " ".join(open("/proc/loadavg").read().split()[:3]),
    }
    Path(args.results).write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
    replace_section(Path(args.readme), START, END, section(results, meta), "Distributed training")


if __name__ == "__main__":
    main()
