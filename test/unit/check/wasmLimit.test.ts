// A model whose weights cannot fit in onnxruntime-web's 4 GiB of 32-bit
// WebAssembly memory is refused before anything is read or run, with the
// size measured (issue 11). The data file is sparse: 4 GiB on paper, no disk.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkModels, CheckUsageError } from '../../../extension/check/check';
import { DT, Msg, graph, node, tensorProto, valueInfo, writeModel } from '../model/onnx/onnxBuilder';

function external(name: string, dims: number[], location: string): Msg {
  return tensorProto(name, DT.FLOAT, dims)
    .msg(13, new Msg().string(1, 'location').string(2, location))
    .varint(14, 1);
}

test('check: weights of 4 GiB or more are refused up front, naming the size and the limit', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-wasm-limit-'));
  try {
    const elements = 2 ** 30 + 16; // float32: 4 GiB + 64 bytes
    const data = path.join(dir, 'big.onnx.data');
    fs.closeSync(fs.openSync(data, 'w'));
    fs.truncateSync(data, elements * 4);
    const file = writeModel(dir, 'big.onnx', graph({
      nodes: [node('Identity', ['w'], ['y'])],
      initializers: [external('w', [elements], 'big.onnx.data')],
      outputs: [valueInfo('y', DT.FLOAT, [elements])],
    }));
    const t0 = Date.now();
    await assert.rejects(checkModels(file, undefined), (e: Error) => {
      assert.ok(e instanceof CheckUsageError, String(e));
      assert.match(e.message, /big\.onnx: its weights take 4\.3 GB \(4294967360 bytes\), more than the 4 GiB of memory onnxruntime-web \(32-bit WebAssembly\) can hold/);
      return true;
    });
    assert.ok(Date.now() - t0 < 10_000, 'refused before any run');

    // Just under the limit is not refused for its size (it fails later, or runs, elsewhere).
    const small = writeModel(dir, 'small.onnx', graph({
      nodes: [node('Identity', ['w'], ['y'])],
      initializers: [tensorProto('w', DT.FLOAT, [2]).bytes(9, new Uint8Array(8))],
      outputs: [valueInfo('y', DT.FLOAT, [2])],
    }));
    await assert.rejects(checkModels(small, undefined), (e: Error) => !/4 GiB/.test(e.message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
