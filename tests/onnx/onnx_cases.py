"""Fixtures for the ONNX import tests (tests/onnx/import_test.cpp), made at
test time from independent sources:

  onnx_cases.py node OUT CASE...   ONNX's own node test cases (Debian's
      libonnx-testdata): OUT/CASE/model.onnx, input_K.npy, output_K.npy.
      A layer's weights arrive there as graph inputs; they are moved into
      initializers (as any exported model has them), since Keel's layers own
      their parameters.
  onnx_cases.py torch OUT NAME     a model exported by PyTorch at test time
      (mlp, seq, cnn, flagship): OUT/NAME.onnx, x.npy and PyTorch's y.npy.
  onnx_cases.py bad OUT            malformed models for the refusal tests.
  onnx_cases.py every OUT          parameters (OUT/every.safetensors, written
      here byte by byte in the safetensors layout) and an input (OUT/x.npy)
      for tests/onnx/graphs/every_op.yaml.

Run with /usr/bin/python3 (Debian's numpy, onnx, torch).
"""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

NODE_DATA = Path("/usr/share/libonnx-testdata/data/node")
# Inputs that are a layer's parameters, by op type.
# Reshape's target shape and Dropout's ratio are constants in exported
# models too (the importer needs them at import time).
WEIGHT_INPUTS = {"Conv": [1, 2], "ConvTranspose": [1, 2], "BatchNormalization": [1, 2, 3, 4], "Reshape": [1],
                 "Dropout": [1]}
# Cases stored with an opset below the importer's range, for ops whose
# definition has not changed since: they are read as opset 11.
SAME_SINCE = {"GlobalAveragePool": 1}


def node_case(out, case):
    src = NODE_DATA / case
    model = onnx.load(str(src / "model.onnx"))
    data = sorted(src.glob("test_data_set_*"))[0]
    inputs = [numpy_helper.to_array(onnx.load_tensor(str(p))) for p in sorted(data.glob("input_*.pb"))]
    outputs = [numpy_helper.to_array(onnx.load_tensor(str(p))) for p in sorted(data.glob("output_*.pb"))]
    g = model.graph
    if all(n.op_type in SAME_SINCE for n in g.node):
        for o in model.opset_import:
            if o.domain in ("", "ai.onnx") and o.version < 11:
                o.version = 11
    names = [i.name for i in g.input]
    weights = set()
    for node in g.node:
        for k in WEIGHT_INPUTS.get(node.op_type, []):
            if k < len(node.input) and node.input[k] in names:
                weights.add(node.input[k])
    keep = []
    for name, value in zip(names, inputs):
        if name in weights:
            g.initializer.append(numpy_helper.from_array(value, name))
        else:
            keep.append((name, value))
    for vi in [i for i in g.input if i.name in weights]:
        g.input.remove(vi)
    d = out / case
    d.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(d / "model.onnx"))
    for (name, value) in keep:
        np.save(d / f"input_{name}.npy", value)
    for vi, value in zip(g.output, outputs):
        np.save(d / f"output_{vi.name}.npy", value)


def torch_case(out, name):
    import torch
    from torch import nn

    torch.manual_seed(3)

    class Block(nn.Module):  # the brief's residual block: x + conv3x3(relu(conv1x1(x)))
        def __init__(self, c):
            super().__init__()
            self.a = nn.Conv2d(c, c, 1)
            self.b = nn.Conv2d(c, c, 3, padding=1)

        def forward(self, x):
            return x + self.b(torch.relu(self.a(x)))

    class Cnn(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 8, 3, padding=1, bias=False)  # as before a batchnorm
            self.bn = nn.BatchNorm2d(8)
            self.block = Block(8)
            self.pool = nn.MaxPool2d(2)
            self.head = nn.Linear(8 * 4 * 4, 10)

        def forward(self, x):
            h = self.block(torch.relu(self.bn(self.conv(x))))
            return self.head(torch.flatten(self.pool(h), 1))

    class Flagship(nn.Module):  # graphs/digits_train.yaml's layers
        def __init__(self):
            super().__init__()
            self.fc1, self.bn1 = nn.Linear(64, 128), nn.BatchNorm1d(128)
            self.fc2, self.bn2 = nn.Linear(128, 128), nn.BatchNorm1d(128)
            self.head = nn.Linear(128, 10)

        def forward(self, pixels):
            a1 = torch.relu(self.bn1(self.fc1(pixels * 0.0625)))
            a2 = torch.relu(self.bn2(self.fc2(a1)))
            return torch.softmax(self.head(a2 + a1), dim=1)

    if name == "seq":  # nn.Linear on rank-3 input: PyTorch writes MatMul then Add
        model, x = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 3)), torch.randn(7, 5, 20)
    elif name == "mlp":
        model, x = nn.Sequential(nn.Linear(20, 32), nn.Tanh(), nn.Linear(32, 16), nn.Sigmoid(), nn.Linear(16, 3)), \
            torch.randn(7, 20)
    elif name == "cnn":
        model, x = Cnn(), torch.randn(6, 1, 8, 8)
    else:
        model, x = Flagship(), torch.rand(9, 64) * 16
    if name in ("cnn", "flagship"):
        # Trained weights: a few SGD steps on random targets, so that the
        # batchnorm statistics and weights are not their initial values.
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        for _ in range(20):
            xb = torch.randn(32, *x.shape[1:]) if name == "cnn" else torch.rand(32, 64) * 16
            loss = nn.functional.cross_entropy(model(xb), torch.randint(0, 10, (32,)))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        y = model(x)
    out.mkdir(parents=True, exist_ok=True)
    # As docs/onnx.md advises: PRESERVE and no constant folding keep each
    # BatchNormalization node (otherwise PyTorch merges it into the
    # convolution before it).
    torch.onnx.export(model, x, str(out / f"{name}.onnx"), input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=13,
                      do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    np.save(out / "x.npy", x.numpy())
    np.save(out / "y.npy", y.numpy())


def raw_tensor(name, dims, data):
    # What a hostile file holds: dims and data that need not agree
    # (helper.make_tensor checks them).
    t = TensorProto()
    t.name, t.data_type, t.raw_data = name, TensorProto.FLOAT, data
    t.dims.extend(dims)
    return t


def bad_cases(out):
    out.mkdir(parents=True, exist_ok=True)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])

    def model(nodes, inits=(), inputs=(x,), outputs=(y,), opset=13):
        g = helper.make_graph(list(nodes), "bad", list(inputs), list(outputs), initializer=list(inits))
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])

    good = model([helper.make_node("Relu", ["x"], ["y"], name="act")])
    (out / "good.onnx").write_bytes(good.SerializeToString())
    data = good.SerializeToString()
    (out / "truncated.onnx").write_bytes(data[: len(data) // 2])
    (out / "not_onnx.onnx").write_bytes(b"keel: 1\nname: not a model\n")
    unsupported = model([helper.make_node("Abs", ["x"], ["a"], name="abs_node"),
                         helper.make_node("Relu", ["a"], ["r"], name="fine"),
                         helper.make_node("Cos", ["r"], ["y"], name="cos_node")])
    (out / "unsupported.onnx").write_bytes(unsupported.SerializeToString())
    cyclic = model([helper.make_node("Relu", ["b"], ["a"], name="first"),
                    helper.make_node("Relu", ["a"], ["b"], name="second"),
                    helper.make_node("Relu", ["b"], ["y"], name="third")])
    (out / "cyclic.onnx").write_bytes(cyclic.SerializeToString())
    missing = model([helper.make_node("Add", ["x", "bias"], ["y"], name="add_bias")])
    (out / "missing_initializer.onnx").write_bytes(missing.SerializeToString())
    # A 2^40 x 2^40 initializer with 16 bytes of data.
    huge = raw_tensor("w", [1 << 40, 1 << 40], b"\0" * 16)
    (out / "huge_dims.onnx").write_bytes(
        model([helper.make_node("Add", ["x", "w"], ["y"], name="add_w")], [huge]).SerializeToString())
    short = raw_tensor("w", [4, 4], b"\0" * 12)
    (out / "short_data.onnx").write_bytes(
        model([helper.make_node("Add", ["x", "w"], ["y"], name="add_w")], [short]).SerializeToString())
    ext = raw_tensor("w", [4], b"")
    ext.data_location = TensorProto.EXTERNAL
    entry = ext.external_data.add()
    entry.key, entry.value = "location", "../../../etc/passwd"
    (out / "external_data.onnx").write_bytes(
        model([helper.make_node("Add", ["x", "w"], ["y"], name="add_w")], [ext]).SerializeToString())
    (out / "old_opset.onnx").write_bytes(
        model([helper.make_node("Relu", ["x"], ["y"], name="act")], opset=9).SerializeToString())
    xi = helper.make_tensor_value_info("x", TensorProto.INT64, ["batch", 4])
    (out / "int_input.onnx").write_bytes(
        model([helper.make_node("Relu", ["x"], ["y"], name="act")], inputs=(xi,)).SerializeToString())
    grouped_w = helper.make_tensor("w", TensorProto.FLOAT, [4, 1, 3, 3], vals=np.zeros(36, np.float32))
    xc = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4, 8, 8])
    yc = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4, 8, 8])
    (out / "grouped_conv.onnx").write_bytes(model(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="depthwise", group=4, pads=[1, 1, 1, 1])],
        [grouped_w], inputs=(xc,), outputs=(yc,)).SerializeToString())


def every_case(out):
    import json
    import struct

    rng = np.random.default_rng(5)
    shapes = {"c.weight": [3, 2, 3, 3], "c.bias": [3], "bn.gamma": [3], "bn.beta": [3], "bn.running_mean": [3],
              "bn.running_var": [3], "rb.conv1_weight": [3, 3, 1, 1], "rb.conv1_bias": [3],
              "rb.conv2_weight": [3, 3, 3, 3], "rb.conv2_bias": [3], "ca.weight": [3, 3, 3, 3], "ca.bias": [3], "up.weight": [3, 2, 2, 2], "up.bias": [2],
              "l.weight": [4, 18], "l.bias": [4], "k.value": [4]}
    header, blob = {}, b""
    for name, shape in shapes.items():
        positive = name in ("bn.running_var", "k.value")  # variances; a divisor
        v = rng.uniform(1, 2, shape) if positive else rng.uniform(-1, 1, shape)
        data = v.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    out.mkdir(parents=True, exist_ok=True)
    (out / "every.safetensors").write_bytes(struct.pack("<Q", len(text)) + text + blob)
    np.save(out / "x.npy", rng.uniform(-1, 1, (2, 2, 6, 6)).astype(np.float32))


if __name__ == "__main__":
    kind, out = sys.argv[1], Path(sys.argv[2])
    if kind == "node":
        for case in sys.argv[3:]:
            node_case(out, case)
    elif kind == "torch":
        torch_case(out, sys.argv[3])
    elif kind == "bad":
        bad_cases(out)
    elif kind == "every":
        every_case(out)
    else:
        sys.exit(f"unknown kind {kind}")
