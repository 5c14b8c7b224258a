// Converts between our TensorValue and onnxruntime-web's Tensor, and cleans
// onnxruntime's error messages. Browser-safe (no fs, no Node APIs): the Node
// runner (runner.ts) and the webview's inference panel both use it, so a
// tensor crosses into and out of the runtime the same way in both.
import type * as Ort from 'onnxruntime-web';
import { allocateTensorArray, type TensorArray, type TensorValue } from './tensorProto';

/** The onnxruntime-web module (Node build or the browser's ort.webgpu.min.mjs: same API). */
export type OrtModule = typeof Ort;

/** onnxruntime's messages carry native source paths and error-code noise; keep the meaningful tail. */
export function cleanReason(message: string): string {
  let m = message.replace(/^Can't create a session\.\s*/, '').replace(/\s+/g, ' ').trim();
  m = m.replace(/ERROR_CODE: \d+, ERROR_MESSAGE: /, '');
  // Drop "/path/to/file.cc:74 onnxruntime::Class::Method(...) " prefixes from native asserts.
  m = m.replace(/^\/\S+\.cc:\d+ .*?\) (?=\[ONNXRuntimeError\])/, '');
  return m;
}

export function toOrtTensor(ort: OrtModule, t: TensorValue): Ort.Tensor {
  if (Array.isArray(t.data)) return new ort.Tensor('string', t.data, t.dims);
  switch (t.dtype) {
    case 'bool': return new ort.Tensor('bool', t.data as Uint8Array, t.dims);
    case 'float16': return new ort.Tensor('float16', t.data as Uint16Array, t.dims);
    case 'float32': return new ort.Tensor('float32', t.data as Float32Array, t.dims);
    case 'float64': return new ort.Tensor('float64', t.data as Float64Array, t.dims);
    case 'int8': return new ort.Tensor('int8', t.data as Int8Array, t.dims);
    case 'uint8': return new ort.Tensor('uint8', t.data as Uint8Array, t.dims);
    case 'int16': return new ort.Tensor('int16', t.data as Int16Array, t.dims);
    case 'uint16': return new ort.Tensor('uint16', t.data as Uint16Array, t.dims);
    case 'int32': return new ort.Tensor('int32', t.data as Int32Array, t.dims);
    case 'uint32': return new ort.Tensor('uint32', t.data as Uint32Array, t.dims);
    case 'int64': return new ort.Tensor('int64', t.data as BigInt64Array, t.dims);
    case 'uint64': return new ort.Tensor('uint64', t.data as BigUint64Array, t.dims);
    default: throw new Error(`input '${t.name}': onnxruntime-web cannot take ${t.dtype} tensors`);
  }
}

export function fromOrtTensor(name: string, t: Ort.Tensor): TensorValue {
  const dims = [...t.dims];
  if (t.type === 'string') return { name, dtype: 'string', dims, data: [...(t.data as string[])] };
  const dtype = t.type === 'bool' ? 'bool' : (t.type as TensorValue['dtype']);
  const src = t.data as TensorArray;
  // Copy out of the runtime's buffer so the value survives session release.
  const data = allocateTensorArray(dtype, src.length);
  (data as unknown as { set(a: ArrayLike<number | bigint>): void }).set(src);
  return { name, dtype, dims, data };
}
