"""The large training benchmark's model data-parallel in PyTorch: the peer of
`mpirun -np N keel run bench/graphs/large_train.yaml --threads 1`.

The model, data, loss and optimizer are torch_train.py's "large" (4 residual
blocks x + ReLU(BatchNorm1d(Linear(512,512) x)) on [256, 512] global
batches, then Linear(512,10); cross entropy; SGD lr 0.05 momentum 0.9
weight decay 1e-4, gradient norm clipped to 5). With --procs N > 1, N
processes on this host, one thread each, under DistributedDataParallel with
the Gloo backend (MASTER_ADDR 127.0.0.1, a free port): each global batch is
split as Keel splits it, rank r taking the r-th contiguous share of its rows
(256 rows on 2 ranks: 128 each), and DDP averages the gradients, which for
equal shares is the global batch's gradient. Batch normalization uses each
rank's own share (DDP's default, Keel's too without `sync`). With --procs 1,
the plain model in one process, no process group: the reference.

The clock: --warmup steps first (on their own shuffle, not timed), then a
barrier, then exactly --steps steps (Keel's count) timed, doing the work
`keel run`'s training loop does: after every epoch (25 global batches of
the 6400 rows) and after the last, partial one, the train split's accuracy
in inference mode, each rank evaluating its contiguous share of the rows
and the correct counts summed across ranks (as Keel's ranks do). Keel gets
no warm-up outside its clock, so the warm-up can only favour PyTorch. The
time reported is the slowest rank's. Prints one JSON line (rank 0).
"""
import argparse
import datetime
import json
import os
import socket
import sys
import time
from pathlib import Path


def share(n, ranks, rank):
    """Rows [lo, hi) of n that `rank` of `ranks` takes: contiguous, in rank
    order, the first n % ranks ranks one row more (Keel's split)."""
    base, extra = divmod(n, ranks)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (rank < extra)


def worker(rank, args, port):
    import torch
    import torch.distributed as dist
    from torch import nn

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from torch_train import Large, large_data

    torch.set_num_threads(args.threads)
    n = args.procs
    if n > 1:
        os.environ["MASTER_ADDR"] = "127.0.0.1"
        os.environ["MASTER_PORT"] = str(port)
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
        # A bounded wait: Gloo's default is 30 minutes.
        dist.init_process_group("gloo", rank=rank, world_size=n, timeout=datetime.timedelta(seconds=300))
    torch.manual_seed(7)  # the same initial parameters on every rank (DDP broadcasts rank 0's anyway)
    (x, y), _, batch = large_data(args.data)
    model = Large()
    net = nn.parallel.DistributedDataParallel(model) if n > 1 else model
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()

    def step(rows):
        lo, hi = share(len(rows), n, rank)
        idx = rows[lo:hi]
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(net(x[idx]), y[idx])
        loss.backward()  # DDP: the gradients averaged across ranks, in buckets during backward
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)  # identical gradients on every rank
        opt.step()
        return loss

    def evaluate():
        # The train split's accuracy: this rank's share of the rows, counts summed.
        net.eval()
        with torch.no_grad():
            lo, hi = share(len(x), n, rank)
            correct = (net(x[lo:hi]).argmax(1) == y[lo:hi]).sum().to(torch.float64).reshape(1)
            if n > 1:
                dist.all_reduce(correct)
        net.train()
        return correct.item() / len(x)

    # Warm-up, outside the clock.
    gen = torch.Generator().manual_seed(11)
    perm = torch.randperm(len(x), generator=gen)
    for w in range(args.warmup):
        lo = (w * batch) % (len(x) - batch + 1)
        step(perm[lo : lo + batch])
    if n > 1:
        dist.barrier()

    gen = torch.Generator().manual_seed(7)  # the same order on every rank
    done, loss, accuracy = 0, None, None
    t0 = time.perf_counter()
    while done < args.steps:
        net.train()
        perm = torch.randperm(len(x), generator=gen)
        for lo in range(0, len(x), batch):
            if done == args.steps:
                break
            loss = step(perm[lo : lo + batch])
            done += 1
        accuracy = evaluate()
    seconds = time.perf_counter() - t0
    slowest = torch.tensor([seconds], dtype=torch.float64)
    if n > 1:
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    if rank == 0:
        secs = slowest.item()
        print(json.dumps({"procs": n, "threads": args.threads, "steps": args.steps, "warmup": args.warmup,
                          "seconds": secs, "steps_per_s": args.steps / secs, "last_batch_loss": loss.item(),
                          "train_accuracy": accuracy, "backend": "gloo DDP" if n > 1 else "none"}), flush=True)
    if n > 1:
        # Gloo's teardown can leave one rank spinning once rank 0 (the store's
        # server) has gone; every result is out, so leave without it.
        sys.stdout.flush()
        os._exit(0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="the folder of x.npy and label.npy (bench/run writes them)")
    ap.add_argument("--steps", type=int, required=True, help="timed steps (global batches)")
    ap.add_argument("--procs", type=int, default=2, help="processes (ranks); 1: plain PyTorch, no DDP")
    ap.add_argument("--threads", type=int, default=1, help="threads per process")
    ap.add_argument("--warmup", type=int, default=5, help="steps before the clock starts")
    args = ap.parse_args()
    if args.procs < 1 or args.steps < 1 or args.warmup < 0:
        ap.error("--procs and --steps must be at least 1, --warmup at least 0")
    # One thread per process, for PyTorch's pool and OpenBLAS's alike: read
    # when the libraries load, so set before torch is imported here or in a
    # spawned child (which imports it before it runs worker).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    if args.procs == 1:
        worker(0, args, 0)
        return
    import torch.multiprocessing as mp

    # Spawned (not forked) children: each starts its own interpreter and
    # thread pools, as separate ranks would.
    mp.spawn(worker, args=(args, free_port()), nprocs=args.procs, join=True)


if __name__ == "__main__":
    main()
