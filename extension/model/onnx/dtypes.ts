// ONNX TensorProto.DataType numbers <-> the contract's DType names, and which
// typed field (with what element width) holds each type's data.
import type { DType } from '../types';

/** TensorProto.DataType value -> DType (types the contract cannot name are absent). */
export const ONNX_DTYPES: Record<number, DType> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64',
  8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64',
  14: 'complex64', 15: 'complex128', 16: 'bfloat16', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz',
  19: 'float8e5m2', 20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4', 23: 'float4e2m1',
};

/** Names ONNX itself uses in type strings such as `tensor(float)`. */
const ONNX_TYPE_NAMES: Record<number, string> = {
  1: 'float', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64',
  8: 'string', 9: 'bool', 10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64',
  14: 'complex64', 15: 'complex128', 16: 'bfloat16', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz',
  19: 'float8e5m2', 20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4', 23: 'float4e2m1',
  24: 'float8e8m0', 25: 'uint2', 26: 'int2',
};

export function onnxTypeName(dataType: number): string {
  return ONNX_TYPE_NAMES[dataType] ?? `type${dataType}`;
}

/** TensorProto field numbers of the typed data fields. */
export const FLOAT_DATA = 4;
export const INT32_DATA = 5;
export const STRING_DATA = 6;
export const INT64_DATA = 7;
export const DOUBLE_DATA = 10;
export const UINT64_DATA = 11;

export const TYPED_FIELD_NAMES: Record<number, string> = {
  [FLOAT_DATA]: 'float_data', [INT32_DATA]: 'int32_data', [STRING_DATA]: 'string_data',
  [INT64_DATA]: 'int64_data', [DOUBLE_DATA]: 'double_data', [UINT64_DATA]: 'uint64_data',
};

export interface TypedField {
  field: number;
  /** fixed-width fields (float_data, double_data) hold canonical little-endian bytes when packed. */
  encoding: 'fixed' | 'varint';
  /** Canonical bytes each stored value becomes. */
  width: number;
}

/**
 * The typed field ONNX stores a type in when raw_data is not used.
 * Sub-byte types keep one packed byte (two elements) per int32_data value;
 * float16/bfloat16/float8 keep their bit patterns in int32_data.
 */
export function typedFieldOf(dtype: DType): TypedField | undefined {
  switch (dtype) {
    case 'float32': case 'complex64': return { field: FLOAT_DATA, encoding: 'fixed', width: 4 };
    case 'float64': case 'complex128': return { field: DOUBLE_DATA, encoding: 'fixed', width: 8 };
    case 'int64': return { field: INT64_DATA, encoding: 'varint', width: 8 };
    case 'uint32': return { field: UINT64_DATA, encoding: 'varint', width: 4 };
    case 'uint64': return { field: UINT64_DATA, encoding: 'varint', width: 8 };
    case 'int32': return { field: INT32_DATA, encoding: 'varint', width: 4 };
    case 'int16': case 'uint16': case 'float16': case 'bfloat16':
      return { field: INT32_DATA, encoding: 'varint', width: 2 };
    case 'int8': case 'uint8': case 'bool':
    case 'float8e4m3fn': case 'float8e4m3fnuz': case 'float8e5m2': case 'float8e5m2fnuz':
    case 'int4': case 'uint4': case 'float4e2m1':
      return { field: INT32_DATA, encoding: 'varint', width: 1 };
    case 'string': return undefined;
  }
}
