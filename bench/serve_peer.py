"""The serving benchmark's Python peer: what a user would otherwise write to
serve the flagship over HTTP. The standard library's threading HTTP server
(`http.server.ThreadingHTTPServer`, one thread per connection, keep-alive
HTTP/1.1) and the same model in PyTorch eager mode (torch_train.Flagship in
eval mode: batch normalization with the running statistics), its weights
read from a Keel checkpoint. It speaks `keel serve`'s API:

  POST /v1/models/digits/infer   {"inputs": {"pixels": [[64 numbers], ...]}}
    -> 200 {"model": "digits", "outputs": {"head": [[10 numbers], ...], "probs": [[10 numbers], ...]},
            "guards": []}

(head: the logits; probs: their softmax, the two outputs of
graphs/digits_infer.yaml, as keel serve answers.)
  GET /healthz -> 200 ok

usage:
  serve_peer.py serve CKPT --listen HOST:PORT [--threads N]
      prints "listening on HOST:PORT" once it accepts connections;
      SIGTERM ends it with status 0
  serve_peer.py forward CKPT [--threads N] [--rounds R]
      prints JSON: the median time of the model's forward pass alone
      (torch.inference_mode) on 1 and on 16 rows, in microseconds

Keel's checkpoint names are the graph's NODE.PARAM (fc1.weight, bn1.gamma,
bn1.running_mean, ...); batch normalization's gamma and beta are torch's
weight and bias. Linear weights are [units, in] in both.
"""
import argparse
import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "generative"))
import keel_ckpt  # noqa: E402
from torch_train import Flagship  # noqa: E402

MODEL = "digits"
INFER_PATH = f"/v1/models/{MODEL}/infer"
BN_PARAMS = {"gamma": "weight", "beta": "bias", "running_mean": "running_mean", "running_var": "running_var"}


def torch_key(keel_name):
    """fc1.weight -> fc1.weight, bn1.gamma -> bn1.weight, bn1.running_var -> bn1.running_var."""
    node, param = keel_name.split(".", 1)
    return f"{node}.{BN_PARAMS.get(param, param) if node.startswith('bn') else param}"


def load_flagship(ckpt):
    tensors = keel_ckpt.read(ckpt)
    if tensors is None:
        sys.exit(f"serve_peer: {ckpt}: not a plain safetensors checkpoint")
    # The residual node's projection and gain are empty when unused (an
    # identity skip with gain 1, which is what Flagship computes): anything
    # else would make this peer a different model.
    used = {n: a for n, a in tensors.items() if n.startswith("res.")}
    if any(a.size for a in used.values()):
        sys.exit(f"serve_peer: {ckpt}: the residual node has a projection or a gain; Flagship has neither")
    model = Flagship()
    state = model.state_dict()
    # Guards' statistics (input_range.mean, ...) and optimizer state have
    # no place in the model and are not read.
    mapped = {torch_key(n): a for n, a in tensors.items() if torch_key(n) in state}
    for key, array in mapped.items():
        if tuple(state[key].shape) != array.shape:
            sys.exit(f"serve_peer: {ckpt}: {key} is {list(array.shape)}, the model has {list(state[key].shape)}")
        state[key] = torch.from_numpy(array.copy())
    missing = [k for k in state if k not in mapped and not k.endswith("num_batches_tracked")]
    if missing:
        sys.exit(f"serve_peer: {ckpt}: no tensor for {', '.join(missing)}")
    model.load_state_dict(state)
    return model.eval()


def make_handler(model):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as keel serve
        # Headers and body are two writes: without TCP_NODELAY, Nagle's
        # algorithm and the client's delayed ACK would stall each response
        # by up to 40 ms, which measures the kernel, not the server.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def reply(self, status, body, content_type="application/json"):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/healthz":
                self.reply(200, "ok", "text/plain")
            else:
                self.reply(404, json.dumps({"error": f"no such path: {self.path}"}))

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path != INFER_PATH:
                self.reply(404, json.dumps({"error": f"no such path: {self.path}"}))
                return
            try:
                pixels = torch.tensor(json.loads(body)["inputs"]["pixels"], dtype=torch.float32)
                if pixels.dim() != 2 or pixels.shape[1] != 64:
                    raise ValueError(f"pixels must be [rows, 64], got {list(pixels.shape)}")
            except (ValueError, KeyError, TypeError) as e:
                self.reply(400, json.dumps({"error": str(e)}))
                return
            with torch.inference_mode():
                head = model(pixels)
                probs = torch.softmax(head, dim=1)
            outputs = {"head": head.tolist(), "probs": probs.tolist()}
            self.reply(200, json.dumps({"model": MODEL, "outputs": outputs, "guards": []}))

    return Handler


def serve(args):
    model = load_flagship(args.ckpt)
    host, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), make_handler(model))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on {host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def forward(args):
    model = load_flagship(args.ckpt)
    rng = np.random.default_rng(1)
    out = {}
    for rows in (1, 16):
        x = torch.from_numpy(rng.integers(0, 17, (rows, 64)).astype(np.float32))
        with torch.inference_mode():
            for _ in range(50):
                model(x)
            times = []
            for _ in range(args.rounds):
                calls = 200
                t0 = time.perf_counter()
                for _ in range(calls):
                    model(x)
                times.append((time.perf_counter() - t0) / calls)
        out[f"rows{rows}_us"] = float(np.median(times)) * 1e6
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    s.add_argument("ckpt")
    s.add_argument("--listen", required=True, help="HOST:PORT (port 0: any free port)")
    s.add_argument("--threads", type=int, default=2)
    f = sub.add_parser("forward")
    f.add_argument("ckpt")
    f.add_argument("--threads", type=int, default=2)
    f.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    serve(args) if args.command == "serve" else forward(args)


if __name__ == "__main__":
    main()
