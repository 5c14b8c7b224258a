// The PyTorch checkpoint format module: torch.save's zip archives and the
// legacy pickle stream, read without executing any pickle; rewritten as a
// deduplicated safetensors file.
import type { FormatModule } from '../format';
import { isPickle, isZip, openPytorch } from './reader';
import { pytorchWriter } from './writer';

export const pytorchFormat: FormatModule = {
  format: 'pytorch',
  label: 'PyTorch checkpoint',
  extensions: ['.pt', '.pth', '.bin', '.ckpt'],
  // A zip archive or a pickle stream, named as checkpoints are (a .zip or a
  // .pkl is not claimed by its magic alone).
  match: (h, name) => (isZip(h) || isPickle(h)) && /\.(pt|pth|bin|ckpt)$/i.test(name),
  open: (target, options) => openPytorch(target, options),
  writer: pytorchWriter,
};
