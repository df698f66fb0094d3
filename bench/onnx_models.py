"""The ONNX inference benchmark's models and inputs (bench/run --onnx).

usage: onnx_models.py DIR DIGITS_CSV

Writes into DIR (with /usr/bin/python3: numpy, torch, onnx):

  cnn.onnx            a small CNN with batch normalization and residual
                      blocks (SmallResNet below), exported from PyTorch as
                      docs/onnx.md says: eval mode, opset 13, no constant
                      folding, TrainingMode.PRESERVE (each BatchNormalization
                      its own node), the batch axis dynamic
  identity64.onnx     one Identity node, input [batch, 64]
  identity3x32x32.onnx  one Identity node, input [batch, 3, 32, 32]: what
                      ONNX Runtime's Node binding costs per run on the
                      inputs of the models above, with no model to speak of
  digits1.npy, digits256.npy   the first 1 and 256 rows of the digits
                      (first 64 columns, f32), the flagship's inputs
  cnn1.npy, cnn32.npy          1 and 32 random images [N, 3, 32, 32] (f32)

The flagship's .onnx comes from `keel export` (bench/run), not from here.
"""
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper
from torch import nn


class Block(nn.Module):
    """conv3x3 + BN + ReLU + conv3x3 + BN, plus the input, then ReLU."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + x)


class SmallResNet(nn.Module):
    """3x32x32 -> conv3x3(16) + BN + ReLU -> 2 residual blocks -> maxpool 2
    -> global average pool -> flatten -> linear 10."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.block1 = Block(16)
        self.block2 = Block(16)
        self.pool = nn.MaxPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)  # exported as GlobalAveragePool
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.stem(x)))
        x = self.block2(self.block1(x))
        x = self.gap(self.pool(x))
        return self.fc(torch.flatten(x, 1))


def cnn(path):
    torch.manual_seed(0)
    model = SmallResNet()
    # A few SGD steps on random data in training mode, so the batch
    # normalizations' running statistics and affine parameters are not
    # their initial 0/1.
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    for _ in range(20):
        x = torch.randn(32, 3, 32, 32) * 2 + 0.5
        label = torch.randint(0, 10, (32,))
        loss = nn.functional.cross_entropy(model(x), label)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    torch.onnx.export(model, torch.randn(1, 3, 32, 32), str(path), input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=13,
                      do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)


def identity(path, dims):
    shape = ["batch", *dims]
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"], name="identity")], "identity",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def main():
    out, csv = Path(sys.argv[1]), sys.argv[2]
    out.mkdir(parents=True, exist_ok=True)
    cnn(out / "cnn.onnx")
    identity(out / "identity64.onnx", [64])
    identity(out / "identity3x32x32.onnx", [3, 32, 32])
    rows = np.loadtxt(csv, delimiter=",", dtype=np.float32, max_rows=256)[:, :64]
    for n in (1, 256):
        np.save(out / f"digits{n}.npy", np.ascontiguousarray(rows[:n]))
    images = np.random.default_rng(3).standard_normal((32, 3, 32, 32), dtype=np.float32)
    for n in (1, 32):
        np.save(out / f"cnn{n}.npy", np.ascontiguousarray(images[:n]))


if __name__ == "__main__":
    main()
