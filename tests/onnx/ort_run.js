// ONNX Runtime as the tests' peer: node ort_run.js MODEL.onnx NAME=FILE.npy...
// runs the model (1 thread) and prints its outputs as JSON {name: {dims, data}}.
// onnxruntime-node comes from peers/node_modules (scripts/setup); the .npy
// reader takes the little-endian f32 C-order files keel writes.
const ort = require('onnxruntime-node');
const fs = require('fs');
function readNpy(f) {
  const b = fs.readFileSync(f); const hl = b.readUInt16LE(8); const h = b.slice(10, 10 + hl).toString();
  const shape = h.match(/'shape': \(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
  const data = new Float32Array(b.buffer.slice(b.byteOffset + 10 + hl, b.byteOffset + b.length));
  return new ort.Tensor('float32', data, shape);
}
(async () => {
  const [model, ...pairs] = process.argv.slice(2);
  const s = await ort.InferenceSession.create(model, {intraOpNumThreads: 1});
  const feeds = {};
  for (const p of pairs) { const [k, f] = p.split('='); feeds[k] = readNpy(f); }
  const r = await s.run(feeds);
  const out = {};
  for (const k of Object.keys(r)) out[k] = {dims: r[k].dims, data: Array.from(r[k].data)};
  process.stdout.write(JSON.stringify(out));
})().catch(e => { console.error(e.message); process.exit(1); });
