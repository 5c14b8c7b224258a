// Unique tensors get a class object only where a relation detector could
// pair them (issue 13, defect 6: 2,000,000 one-element float32 initializers
// held 2,000,000 classes of one that no detector could use).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DT, floatRaw, graph, tensorProto, writeModel, type Msg } from '../model/onnx/onnxBuilder';
import { openModel } from '../../../extension/model/registry';
import { FileSet } from '../../../extension/io/fileSet';
import { ByteSource, DEFAULT_CHUNK_BYTES } from '../../../extension/sharing/byteSource';
import { findByteClasses } from '../../../extension/sharing/byteClasses';
import { entriesOf } from '../../../extension/sharing/entries';
import { relatableIn } from '../../../extension/sharing/relatable';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relatable-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const scalars = (n: number): Msg[] => Array.from({ length: n }, (_, i) => tensorProto(`s${i}`, DT.FLOAT, [1]).bytes(9, floatRaw([i])));

async function classesOf(name: string, inits: Msg[]): Promise<{ shapeClasses: number; names: string[] }> {
  const m = await openModel(writeModel(dir, name, graph({ initializers: inits })));
  const entries = entriesOf([m]);
  const files = new FileSet();
  try {
    const c = await findByteClasses(entries, new ByteSource(files, DEFAULT_CHUNK_BYTES), undefined, relatableIn(entries));
    return { shapeClasses: c.shapeClasses.length, names: c.shapeClasses.map((sc) => sc.members[0]!.tensor.name) };
  } finally {
    files.close();
  }
}

test('float32 scalars with no half-precision or block-quantized tensor beside them get no classes of one; byte-equal ones keep theirs', async () => {
  const r = await classesOf('scalars.onnx', [...scalars(1000), tensorProto('again', DT.FLOAT, [1]).bytes(9, floatRaw([7]))]);
  assert.deepEqual(r.names, ['s7']);
});

test('a float16 tensor makes every float32 one a cast candidate', async () => {
  const r = await classesOf('with-half.onnx', [...scalars(100), tensorProto('h', DT.FLOAT16, [1]).bytes(9, Buffer.from([0x00, 0x3c]))]);
  assert.equal(r.shapeClasses, 101);
});

test('a 2-D matrix large enough to transpose is a candidate among scalars', async () => {
  const matrix = tensorProto('m', DT.FLOAT, [16, 32]).bytes(9, floatRaw(Array.from({ length: 512 }, (_, i) => i)));
  const r = await classesOf('with-matrix.onnx', [...scalars(100), matrix]);
  assert.deepEqual(r.names, ['m']);
});
