"""Checks a PNG that `keel run` wrote for an `images:` entry against the
output's .npy, with the grid rebuilt here from the rules docs/graph-format.md
states (NumPy for the numbers, PIL to decode the file; no Keel code).
Usage: check_png_grid.py PNG NPY HEIGHT WIDTH LOW HIGH SCALE COLUMNS
(HEIGHT and WIDTH 0: from an [N, H, W] or [N, 1, H, W] shape; COLUMNS 0:
the default). Prints "ok", or what differs and exits 1."""
import math
import sys

import numpy as np
from PIL import Image

png, npy = sys.argv[1], sys.argv[2]
height, width = int(sys.argv[3]), int(sys.argv[4])
low, high = float(sys.argv[5]), float(sys.argv[6])
scale, columns = int(sys.argv[7]), int(sys.argv[8])

values = np.load(npy).astype(np.float64)
n = values.shape[0]
if height == 0:
    height, width = values.shape[-2], values.shape[-1]
values = values.reshape(n, height, width)

t = np.clip((values - low) / (high - low), 0.0, 1.0)
gray = np.floor(255.0 * t + 0.5)
gray[np.isnan(values)] = 0
gray = gray.astype(np.uint8)

cols = min(columns, n) if columns > 0 else math.isqrt(n - 1) + 1
rows = -(-n // cols)
cell_h, cell_w = height * scale, width * scale
want = np.full((rows * (cell_h + 1) - 1, cols * (cell_w + 1) - 1), 128, dtype=np.uint8)
for i in range(n):
    top, left = (i // cols) * (cell_h + 1), (i % cols) * (cell_w + 1)
    want[top:top + cell_h, left:left + cell_w] = np.repeat(np.repeat(gray[i], scale, axis=0), scale, axis=1)

image = Image.open(png)
if image.mode != "L":
    sys.exit(f"mode {image.mode}, not L (8-bit grayscale)")
got = np.asarray(image)
if got.shape != want.shape:
    sys.exit(f"size {got.shape[1]} x {got.shape[0]}, want {want.shape[1]} x {want.shape[0]}")
bad = np.argwhere(got != want)
if len(bad):
    y, x = bad[0]
    sys.exit(f"{len(bad)} pixels differ; first at ({y}, {x}): {got[y, x]}, want {want[y, x]}")
print("ok")
