// A zip checkpoint's parts: data.pkl unpickled (never executed), byteorder
// and version records, and each storage as its stored record's byte range.
import { ModelFormatError } from '../types';
import { readRecord, readZipDirectory, recordOf } from './archive';
import { bufferSource } from './pickleInput';
import { unpickle } from './unpickle';
import { FORMAT } from './layout';
import type { CheckpointParts } from './parts';

/** data.pkl of the biggest real checkpoints is a few MB; the cap only keeps a hostile claim from allocating. */
const PICKLE_CAP = 1 << 30;

export async function readZipCheckpoint(file: string, fd: number, size: number): Promise<CheckpointParts> {
  const fail = (problem: string, at?: number) => new ModelFormatError(file, FORMAT, problem, at);
  const zip = await readZipDirectory(file, size);
  const { prefix } = zip;
  const pkl = `${prefix}/data.pkl`;
  if (!zip.entries.has(pkl)) {
    if (zip.entries.has(`${prefix}/constants.pkl`) || [...zip.entries.keys()].some((n) => n.startsWith(`${prefix}/code/`))) {
      throw fail('a TorchScript archive (torch.jit.save): it holds a whole compiled model, and only state dicts saved with torch.save are read');
    }
    const other = [...zip.entries.keys()].find((n) => n.endsWith('/data.pkl'));
    throw fail(`not a PyTorch checkpoint: the zip archive has no ${pkl}${other ? ` (it has ${other}, outside the archive's folder '${prefix}')` : ''}`);
  }
  const rec = recordOf(file, fd, zip, pkl);
  const bytes = readRecord(file, fd, rec, PICKLE_CAP);
  const { value } = unpickle(file, bufferSource(bytes), 0, rec.offset, pkl);

  const small = (name: string): string | undefined => (zip.entries.has(name) ? readRecord(file, fd, recordOf(file, fd, zip, name), 4096).toString('latin1').trim() : undefined);
  const order = small(`${prefix}/byteorder`);
  if (order !== undefined && order !== 'little' && order !== 'big') throw fail(`${prefix}/byteorder says '${order.slice(0, 40)}', not 'little' or 'big'`);
  const byteorder = order === 'big' ? 'big' : 'little';
  const version = small(`${prefix}/version`) ?? small(`${prefix}/.data/version`);
  const alignment = small(`${prefix}/.storage_alignment`);
  const facts: Array<[string, string]> = [
    ['Container', 'zip (torch.save, PyTorch 1.6 or later)'],
    ['Archive folder', prefix],
    ['Byte order', `${byteorder}${order === undefined ? ' (no byteorder record: little, as torch reads it)' : ''}`],
  ];
  if (version) facts.push(['Serialization version', version]);
  if (alignment) facts.push(['Storage alignment', `${alignment} bytes`]);
  const metadata: Record<string, string> = { byteorder };
  if (version) metadata.version = version;
  const warnings = byteorder === 'big'
    ? ['the tensor bytes are big-endian (byteorder record): they compare among themselves, but a rewrite to safetensors (little-endian) is refused']
    : [];
  return {
    root: value, base: rec.offset, where: pkl, byteorder, facts, metadata, warnings,
    locate(ref) {
      const name = `${prefix}/data/${ref.key}`;
      if (!zip.entries.has(name)) throw fail(`${pkl} names storage '${ref.key}', but the archive has no record ${name}`, rec.offset + ref.at);
      const r = recordOf(file, fd, zip, name);
      return { file, offset: r.offset, length: r.length, label: name };
    },
  };
}
