// The ONNX format module: what the registry knows of ONNX. Files have no
// magic number, but a ModelProto almost always starts with ir_version
// (field 1, varint) and never legitimately with anything but a field tag.
import * as path from 'node:path';
import type { FormatModule, ModelWriter } from '../format';
import { openOnnx } from './reader';
import { onnxRealiser, type OnnxReplacement } from './plan';
import { rewriteOnnx, type InsertedNode } from './rewrite';

/** What `write` reports in WriteResult.details for ONNX. */
export interface OnnxWriteDetails {
  /** The new external data file, when the model stores tensors outside it. */
  dataFile: string | null;
  inserted: InsertedNode[];
  rewiredInputs: number;
  gemmFlips: number;
}
import { writeOnnx } from './writer';

const writer: ModelWriter<OnnxReplacement> = {
  defaultOutput(model) {
    const base = path.basename(model.path).replace(/\.onnx$/i, '');
    return path.join(path.dirname(model.path), `${base}.shared.onnx`);
  },
  realiser: onnxRealiser,
  async write(model, decisions, output, options) {
    const rw = rewriteOnnx(model, decisions, output, options.replaceData);
    await writeOnnx(output, rw.model, {
      data: rw.data, inputs: model.files, signal: options.signal, onProgress: options.onProgress, overwrite: options.overwrite, onCommitted: options.onCommitted,
    });
    const dataFile = rw.data ? path.join(path.dirname(output), rw.data.location) : undefined;
    const notes: string[] = [];
    if (rw.inserted.length > 0) notes.push(`${rw.inserted.length} node${rw.inserted.length === 1 ? '' : 's'} inserted`);
    return {
      output,
      files: dataFile ? [output, dataFile] : [output],
      notes,
      details: { dataFile: dataFile ?? null, inserted: rw.inserted, rewiredInputs: rw.rewired, gemmFlips: rw.gemmFlips } satisfies OnnxWriteDetails,
    };
  },
};

export const onnxFormat: FormatModule = {
  format: 'onnx',
  label: 'ONNX',
  extensions: ['.onnx'],
  match: (h) => h.length >= 2 && h[0] === 0x08 && h[1]! >= 1 && h[1]! <= 0x7f,
  open: (file, options) => openOnnx(file, options),
  writer,
};
