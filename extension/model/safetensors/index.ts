// The safetensors format module.
import type { FormatModule } from '../format';
import { openSafetensors, isCheckpointFolder } from './reader';
import { restoreSafetensors, safetensorsWriter } from './writer';

export const safetensorsFormat: FormatModule = {
  format: 'safetensors',
  label: 'safetensors',
  extensions: ['.safetensors'],
  // u64 little-endian header length (under 2^48 in practice), then a JSON object;
  // a Hugging Face shard index by its name.
  match: (h, name) => (h.length >= 9 && h[6] === 0 && h[7] === 0 && (h[8] === 0x7b || h[8] === 0x20)) || name === 'model.safetensors.index.json',
  matchFolder: isCheckpointFolder,
  open: (target, options) => openSafetensors(target, options),
  writer: safetensorsWriter,
  restore: restoreSafetensors,
};
