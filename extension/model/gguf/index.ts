// The GGUF format module (llama.cpp's model files).
import type { FormatModule } from '../format';
import { openGguf } from './reader';
import { ggufWriter, restoreGguf } from './writer';

export const ggufFormat: FormatModule = {
  format: 'gguf',
  label: 'GGUF',
  extensions: ['.gguf'],
  match: (h) => h.length >= 4 && h[0] === 0x47 && h[1] === 0x47 && h[2] === 0x55 && h[3] === 0x46, // 'GGUF'
  open: (target, options) => openGguf(target, options),
  writer: ggufWriter,
  restore: restoreGguf,
};
