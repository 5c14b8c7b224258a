// A ModelProto of many one-element float initializers, encoded by hand: fast
// enough for millions (the protobufjs builder is not), and independent of
// the project's writer. For the record-size test and the manyTensors bench.
import { varint } from '../../../fuzz/mutators';

/** ModelProto { ir_version 8, opset 17, graph { name 'g', initializers t0…t(n-1), float [1], raw_data value(i) } }. */
export function manyScalars(n: number, value: (i: number) => number): Buffer {
  const parts: Buffer[] = [];
  const raw = Buffer.alloc(4);
  for (let i = 0; i < n; i++) {
    const name = Buffer.from(`t${i}`);
    raw.writeFloatLE(value(i), 0);
    // dims 1, data_type FLOAT, name, raw_data
    const t = Buffer.from([0x08, 1, 0x10, 1, 0x42, ...varint(name.length), ...name, 0x4a, 4, ...raw]);
    parts.push(Buffer.from([0x2a, ...varint(t.length)]), t);
  }
  const graph = Buffer.concat([Buffer.from([0x12, 1, 0x67]), ...parts]);
  return Buffer.concat([Buffer.from([0x08, 8, 0x42, 2, 0x10, 17, 0x3a, ...varint(graph.length)]), graph]);
}
