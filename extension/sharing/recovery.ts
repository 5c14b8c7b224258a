// Proof that a shared copy loses nothing: every tensor of the input is
// either stored in the output under its name with the same dtype, shape and
// bytes, or recorded there (a `record` tie) as an alias or a derivation of a
// stored tensor that reproduces its bytes exactly. Both files are read,
// through the scan's bounded buffers: nothing is taken from memory of the
// input.
import { FileSet } from '../io/fileSet';
import type { ModelFile, TensorRef } from '../model/types';
import { ByteSource, DEFAULT_CHUNK_BYTES } from './byteSource';
import { bytesEqual, castEqual, transposeEqual } from './compare';
import type { HalfType } from '../util/floatCast';

export async function verifyRecovery(input: ModelFile, output: ModelFile, signal?: AbortSignal): Promise<string[]> {
  const problems: string[] = [];
  const stored = new Map(output.tensors.map((t) => [t.name, t]));
  const recorded = new Map(output.ties.filter((t) => t.tiedBy === 'record' || t.tiedBy === 'omission').flatMap((tie) => tie.tied.map((x) => [x.tensor.name, { kept: tie.kept, ops: x.ops, as: x.tensor }] as const)));
  const files = new FileSet();
  try {
    const src = new ByteSource(files, DEFAULT_CHUNK_BYTES, signal);
    const same = (a: TensorRef, b: TensorRef) => a.dtype === b.dtype && a.shape.join(',') === b.shape.join(',');
    for (const t of input.tensors) {
      const out = stored.get(t.name);
      if (out) {
        if (!same(t, out) || !(await bytesEqual(src, t, out))) problems.push(`'${t.name}' is stored in the output but differs from the input`);
        continue;
      }
      const rec = recorded.get(t.name);
      if (!rec) { problems.push(`'${t.name}' is neither stored in the output nor recorded as a copy`); continue; }
      const { kept, ops } = rec;
      const transpose = ops.includes('transpose');
      const cast = ops.includes('cast') ? t.dtype as HalfType : undefined;
      let ok: boolean;
      if (transpose) ok = await transposeEqual(src, kept, t, cast);
      else if (cast) ok = kept.elementCount === t.elementCount && await castEqual(src, kept, t, cast);
      else ok = kept.dtype === t.dtype && kept.elementCount === t.elementCount && (ops.includes('reshape') || same(kept, t)) && await bytesEqual(src, kept, t);
      if (!ok || !same(t, rec.as)) problems.push(`'${t.name}' is recorded as ${ops.length ? ops.join(' + ') + ' of' : 'a copy of'} '${kept.name}', which does not reproduce it`);
    }
    const inputNames = new Set(input.tensors.map((t) => t.name));
    for (const t of output.tensors) if (!inputNames.has(t.name)) problems.push(`the output stores '${t.name}', which the input does not have`);
  } finally {
    files.close();
  }
  return problems;
}
