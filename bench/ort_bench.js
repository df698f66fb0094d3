// ONNX Runtime's side of the ONNX inference benchmark (bench/run --onnx).
//
//   node ort_bench.js time MODEL.onnx NAME=FILE.npy... [--rounds R]
//     prints {"us": median µs per run, "samples": [µs...], "calls": per sample}
//   node ort_bench.js outputs MODEL.onnx NAME=FILE.npy...
//     prints the outputs as JSON {name: {dims, data}} (for the agreement check)
//
// One session per process, 1 thread: intraOpNumThreads 1, interOpNumThreads
// 1, sequential execution, default graph optimizations (all). The time is
// that of `await session.run(feeds)`, the binding's public call, on feeds
// made once: as bench_util.hpp's compare(), 3 untimed warm-up runs, then
// runs for 5 ms to size the samples (compare() times one run; Node's first
// runs are too noisy for that), then R samples (default 3) of as many runs
// as last about 20 ms each; the median of the per-run times is printed.
// onnxruntime-node comes from peers/node_modules (NODE_PATH; scripts/setup);
// the .npy reader takes little-endian f32 C-order files.
const ort = require('onnxruntime-node');
const fs = require('fs');

function readNpy(f) {
  const b = fs.readFileSync(f);
  const hl = b.readUInt16LE(8);
  const h = b.slice(10, 10 + hl).toString();
  if (!h.includes("'descr': '<f4'") || h.includes("'fortran_order': True"))
    throw new Error(`${f}: not a little-endian f32 C-order .npy`);
  const shape = h.match(/'shape': \(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
  const data = new Float32Array(b.buffer.slice(b.byteOffset + 10 + hl, b.byteOffset + b.length));
  return new ort.Tensor('float32', data, shape);
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

const now = () => Number(process.hrtime.bigint()) / 1e9;

(async () => {
  const args = process.argv.slice(2);
  let rounds = 3;
  const r = args.indexOf('--rounds');
  if (r >= 0) { rounds = Number(args[r + 1]); args.splice(r, 2); }
  const [mode, model, ...pairs] = args;
  if (!['time', 'outputs'].includes(mode) || !model || !pairs.length || !(rounds >= 1))
    throw new Error('usage: node ort_bench.js time|outputs MODEL.onnx NAME=FILE.npy... [--rounds R]');
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
  });
  const feeds = {};
  for (const p of pairs) { const [k, f] = p.split('='); feeds[k] = readNpy(f); }

  if (mode === 'outputs') {
    const res = await session.run(feeds);
    const out = {};
    for (const k of Object.keys(res)) out[k] = {dims: res[k].dims, data: Array.from(res[k].data)};
    process.stdout.write(JSON.stringify(out));
    return;
  }
  for (let i = 0; i < 3; ++i) await session.run(feeds);  // warm-up
  // Sizing: runs for at least 5 ms (a single run of a few µs in Node is
  // too noisy to size from), which also warms the JIT and the allocator.
  let t0 = now(), n = 0;
  do { await session.run(feeds); ++n; } while (now() - t0 < 0.005);
  const calls = Math.max(1, Math.floor(0.02 / ((now() - t0) / n)));
  const samples = [];
  for (let k = 0; k < rounds; ++k) {
    t0 = now();
    for (let c = 0; c < calls; ++c) await session.run(feeds);
    samples.push((now() - t0) / calls * 1e6);
  }
  process.stdout.write(JSON.stringify({us: median(samples), samples, calls}) + '\n');
})().catch(e => { console.error(`ort_bench.js: ${e.message}`); process.exit(1); });
