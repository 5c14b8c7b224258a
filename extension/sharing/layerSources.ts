// Names for an export's anonymous tensors from the checkpoint it came from:
// scanning both, provenance says which parameter each initializer is (the
// same bytes, or transposed or cast), so `val_12` can join the family of
// `transformer.h.0.attn.c_attn.weight`.
import type { ModelFile, TensorRef } from '../model/types';
import { scanModels } from './scan';

export async function sourceNamesOf(model: ModelFile, checkpoint: ModelFile, signal?: AbortSignal): Promise<Map<TensorRef, string>> {
  if (!model.graph || checkpoint.graph) throw new Error(`${checkpoint.path}: names come from a checkpoint (safetensors) for a graph model (ONNX)`);
  // Every size: a small anonymous bias names its block as well as a large weight does.
  const report = await scanModels([model, checkpoint], { minBytes: 0, signal });
  const names = new Map<TensorRef, string>();
  for (const l of report.provenance) if (l.path === model.path && !names.has(l.tensor)) names.set(l.tensor, l.source.name);
  return names;
}
