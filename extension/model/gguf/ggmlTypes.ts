// Every ggml tensor type a GGUF file can name, with its block geometry:
// `blockSize` values are stored in `bytesPerBlock` bytes. Plain types are
// blocks of one. The figures are ggml's own (enum ggml_type in
// ggml/include/ggml.h, type_traits in ggml/src/ggml.c, block structs in
// ggml/src/ggml-common.h) as of the llama.cpp bundled with node-llama-cpp
// 3.21.1; the test checks them against sizeof() of those structs.
// Ids absent here were removed from ggml (Q4_2, Q4_3, the Q4_0_4_4 family,
// the IQ4_NL_4_4 family) and are refused like unknown ones.
import type { DType } from '../types';

export interface GgmlType {
  id: number;
  /** ggml's type_name ('q4_K' is listed as 'q4_k' here: the DType spelling). */
  name: DType;
  blockSize: number;
  bytesPerBlock: number;
}

const T = (id: number, name: DType, blockSize: number, bytesPerBlock: number): GgmlType => ({ id, name, blockSize, bytesPerBlock });
const QK_K = 256;

export const GGML_TYPES: readonly GgmlType[] = [
  T(0, 'float32', 1, 4),
  T(1, 'float16', 1, 2),
  T(2, 'q4_0', 32, 18),
  T(3, 'q4_1', 32, 20),
  T(6, 'q5_0', 32, 22),
  T(7, 'q5_1', 32, 24),
  T(8, 'q8_0', 32, 34),
  T(9, 'q8_1', 32, 36),
  T(10, 'q2_k', QK_K, 84),
  T(11, 'q3_k', QK_K, 110),
  T(12, 'q4_k', QK_K, 144),
  T(13, 'q5_k', QK_K, 176),
  T(14, 'q6_k', QK_K, 210),
  T(15, 'q8_k', QK_K, 292),
  T(16, 'iq2_xxs', QK_K, 66),
  T(17, 'iq2_xs', QK_K, 74),
  T(18, 'iq3_xxs', QK_K, 98),
  T(19, 'iq1_s', QK_K, 50),
  T(20, 'iq4_nl', 32, 18),
  T(21, 'iq3_s', QK_K, 110),
  T(22, 'iq2_s', QK_K, 82),
  T(23, 'iq4_xs', QK_K, 136),
  T(24, 'int8', 1, 1),
  T(25, 'int16', 1, 2),
  T(26, 'int32', 1, 4),
  T(27, 'int64', 1, 8),
  T(28, 'float64', 1, 8),
  T(29, 'iq1_m', QK_K, 56),
  T(30, 'bfloat16', 1, 2),
  T(34, 'tq1_0', QK_K, 54),
  T(35, 'tq2_0', QK_K, 66),
  T(39, 'mxfp4', 32, 17),
  T(40, 'nvfp4', 64, 36),
  T(41, 'q1_0', 128, 18),
  T(42, 'q2_0', 64, 18),
];

const BY_ID = new Map(GGML_TYPES.map((t) => [t.id, t]));
const BY_NAME = new Map(GGML_TYPES.map((t) => [t.name, t]));

export function ggmlType(id: number): GgmlType | undefined {
  return BY_ID.get(id);
}

export function ggmlTypeOf(dtype: DType): GgmlType | undefined {
  return BY_NAME.get(dtype);
}

/** ggml's spelling of a type, for messages and facts ('Q8_0', 'F16', 'Q4_K'). */
export function ggmlLabel(t: GgmlType): string {
  const plain: Partial<Record<DType, string>> = {
    float32: 'F32', float16: 'F16', bfloat16: 'BF16', float64: 'F64', int8: 'I8', int16: 'I16', int32: 'I32', int64: 'I64',
  };
  return plain[t.name] ?? t.name.toUpperCase();
}
