// Which checkpoint an exported model is compared with by default, so its
// tensors get their source parameters' names without asking: the
// `model.safetensors` (or sharded index) of the model's own folder, when the
// model is a graph export (ONNX) and the checkpoint is not the model itself.
import * as fs from 'node:fs';
import * as path from 'node:path';

const CANDIDATES = ['model.safetensors', 'model.safetensors.index.json'];

export function defaultCompanions(modelPath: string): string[] {
  if (path.extname(modelPath).toLowerCase() !== '.onnx') return [];
  const dir = path.dirname(modelPath);
  for (const name of CANDIDATES) {
    const f = path.join(dir, name);
    try {
      if (fs.statSync(f).isFile()) return [f];
    } catch { /* not there */ }
  }
  return [];
}
