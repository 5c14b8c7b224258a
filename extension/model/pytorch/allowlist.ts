// What a torch.save'd state dict may name, and what each name becomes. The
// set follows PyTorch's own weights_only unpickler
// (torch/_weights_only_unpickler.py): the tensor rebuild functions, the
// storage types, dtypes, torch.Size, torch.device, collections.OrderedDict /
// Counter, nn.Parameter, _codecs.encode (protocol 2 bytes) and a few
// builtins. None of them is ever called: each becomes an inert record that
// the state-dict reader understands. Every other global is refused at the
// opcode that names it, with one message saying which.
import type { DType } from '../types';
import { PickleError, PickleSet, PickleTuple, type PickleHooks, type PickleRecord, type PickleValue } from './pickle';

/** A storage class (torch.FloatStorage ...): the element type of the bytes it holds. */
export interface StorageType extends PickleRecord {
  kind: 'storageType';
  name: string;
  /** Undefined for quantized storages (their elements are not plain numbers). */
  dtype?: DType;
  elementSize: number;
}

export interface TorchDtype extends PickleRecord {
  kind: 'dtype';
  /** e.g. 'float32' (torch.float32). */
  name: string;
  dtype?: DType;
}

/** An allowlisted function or class, before it is (never) called. */
export interface TorchCallable extends PickleRecord {
  kind: 'callable';
  path: string;
}

/** A global that stands for a plain value (torch.strided, torch.per_tensor_affine). */
export interface TorchConstant extends PickleRecord {
  kind: 'constant';
  path: string;
}

/** A storage named by a persistent id: ('storage', type, key, location, numel[, view]). */
export interface StorageRef extends PickleRecord {
  kind: 'storage';
  type: StorageType;
  key: string;
  location: string;
  /** Elements of `type`. */
  numel: number;
  /** Legacy storage views: a slice of the root storage `key` (elements). */
  view?: { key: string; offset: number; numel: number };
  /** Byte of the persistent id in the pickle. */
  at: number;
}

/** A tensor as _rebuild_tensor(_v2/_v3) or _rebuild_parameter would make it. */
export interface TensorRecord extends PickleRecord {
  kind: 'tensor';
  storage: StorageRef;
  /** Element offset into the storage (elements of the tensor's dtype). */
  offset: number;
  size: number[];
  stride: number[];
  requiresGrad: boolean;
  /** _rebuild_tensor_v3's explicit dtype (its storage is untyped bytes). */
  dtype?: TorchDtype;
  parameter: boolean;
  at: number;
}

/** A tensor kind this reader does not lay out (quantized, sparse, meta, subclass wrappers). */
export interface OpaqueTensor extends PickleRecord {
  kind: 'opaqueTensor';
  callable: string;
  at: number;
}

export interface TorchDevice extends PickleRecord {
  kind: 'device';
  name: string;
}

export interface ComplexNumber extends PickleRecord {
  kind: 'complex';
  re: number;
  im: number;
}

const STORAGES: Record<string, [DType | undefined, number]> = {
  FloatStorage: ['float32', 4], DoubleStorage: ['float64', 8], HalfStorage: ['float16', 2], BFloat16Storage: ['bfloat16', 2],
  LongStorage: ['int64', 8], IntStorage: ['int32', 4], ShortStorage: ['int16', 2], CharStorage: ['int8', 1],
  ByteStorage: ['uint8', 1], BoolStorage: ['bool', 1], ComplexFloatStorage: ['complex64', 8], ComplexDoubleStorage: ['complex128', 16],
  UntypedStorage: ['uint8', 1], TypedStorage: ['uint8', 1],
  QInt8Storage: [undefined, 1], QUInt8Storage: [undefined, 1], QInt32Storage: [undefined, 4], QUInt4x2Storage: [undefined, 1], QUInt2x4Storage: [undefined, 1],
};

/** torch dtype globals (str(torch.float32) is 'torch.float32'), with their aliases. */
const DTYPES: Record<string, DType | undefined> = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64', float16: 'float16', half: 'float16', bfloat16: 'bfloat16',
  int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16', int8: 'int8', uint8: 'uint8', bool: 'bool',
  uint16: 'uint16', uint32: 'uint32', uint64: 'uint64', complex64: 'complex64', cfloat: 'complex64', complex128: 'complex128', cdouble: 'complex128',
  float8_e4m3fn: 'float8e4m3fn', float8_e4m3fnuz: 'float8e4m3fnuz', float8_e5m2: 'float8e5m2', float8_e5m2fnuz: 'float8e5m2fnuz', float8_e8m0fnu: 'float8e8m0',
  float4_e2m1fn_x2: undefined, complex32: undefined, chalf: undefined, qint8: undefined, quint8: undefined, qint32: undefined, quint4x2: undefined, quint2x4: undefined,
  bits1x8: undefined, bits2x4: undefined, bits4x2: undefined, bits8: undefined, bits16: undefined,
  uint1: undefined, uint2: undefined, uint3: undefined, uint4: undefined, uint5: undefined, uint6: undefined, uint7: undefined,
  int1: undefined, int2: undefined, int3: undefined, int4: undefined, int5: undefined, int6: undefined, int7: undefined,
};

/** Functions and classes that may be named, by their full path. */
const CALLABLES = new Set([
  'torch._utils._rebuild_tensor', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter', 'torch._utils._rebuild_parameter_with_state', 'torch._tensor._rebuild_from_type_v2',
  'torch.nn.parameter.Parameter', 'torch.Tensor', 'torch.Size', 'torch.device',
  'collections.OrderedDict', 'collections.Counter', '_codecs.encode', 'builtins.bytearray', 'builtins.set', 'builtins.frozenset', 'builtins.complex',
  'torch.serialization._get_layout',
]);

/** Allowlisted by weights_only but not laid out here: such tensors are listed as unreadable. */
const OPAQUE_TENSORS = new Set([
  'torch._utils._rebuild_qtensor', 'torch._utils._rebuild_sparse_tensor', 'torch._utils._rebuild_meta_tensor_no_storage',
  'torch._utils._rebuild_wrapper_subclass', 'torch._utils._rebuild_device_tensor_from_numpy', 'torch._utils._rebuild_device_tensor_from_cpu_tensor',
  'torch._utils._rebuild_nested_tensor', 'torch._utils._rebuild_sparse_csr_tensor',
]);

const CONSTANTS = new Set([
  'torch.strided', 'torch.sparse_coo', 'torch.sparse_csr', 'torch.sparse_csc', 'torch.sparse_bsr', 'torch.sparse_bsc', 'torch._mkldnn',
  'torch.per_tensor_affine', 'torch.per_tensor_symmetric', 'torch.per_channel_affine', 'torch.per_channel_symmetric', 'torch.per_channel_affine_float_qparams',
]);

/** Python 2 module names, as Python 3's unpickler maps them. */
const PY2_MODULES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg', commands: 'subprocess', exceptions: 'builtins' };

/** Globals that mean the file holds a whole model object rather than its state dict. */
export function namesModel(path: string): boolean {
  return path.startsWith('torch.nn.modules.') || path.startsWith('__torch__.') || path.startsWith('torch.jit.') || path === 'torch.nn.Module';
}

export const MODEL_NOTE = 'the file pickles a whole model object (an nn.Module), and only state dicts are read: save model.state_dict() instead';
const REFUSED = 'only state dicts of tensors are read; nothing was executed';

export interface TorchHookOptions {
  /** Whether the pickle also names nn.Module classes (checked only when a global is refused, for the message). */
  modelHint?: () => boolean;
  /** Sees every storage a persistent id names (the legacy format lays storages out by key afterwards). */
  onStorage?: (ref: StorageRef) => void;
}

const int = (v: PickleValue, what: string, at: number): number => {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new PickleError(`${what} is not an integer`, at);
};

const ints = (v: PickleValue, what: string, at: number): number[] => {
  const items = v instanceof PickleTuple ? v.items : Array.isArray(v) ? v : undefined;
  if (!items) throw new PickleError(`${what} is not a tuple of integers`, at);
  if (items.length > 64) throw new PickleError(`${what} has ${items.length} dimensions (64 at most)`, at);
  return items.map((x) => int(x, what, at));
};

const str = (v: PickleValue, what: string, at: number): string => {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
  if (typeof v === 'number') return String(v);
  throw new PickleError(`${what} is not a string`, at);
};

const isRecord = <K extends string>(v: PickleValue, kind: K): v is PickleRecord & { kind: K } =>
  typeof v === 'object' && v !== null && !(v instanceof Map) && !Array.isArray(v) && !(v instanceof Uint8Array)
  && !(v instanceof PickleTuple) && !(v instanceof PickleSet) && (v as PickleRecord).kind === kind;

export function isTensor(v: PickleValue): v is TensorRecord {
  return isRecord(v, 'tensor');
}

export function isOpaqueTensor(v: PickleValue): v is OpaqueTensor {
  return isRecord(v, 'opaqueTensor');
}

function callablePath(v: PickleValue): string | undefined {
  return isRecord(v, 'callable') ? (v as TorchCallable).path : undefined;
}

function describe(v: PickleValue): string {
  if (v === null) return 'None';
  if (v instanceof Map) return 'a dict';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof PickleTuple) return 'a tuple';
  if (typeof v === 'object' && 'kind' in v) {
    const r = v as PickleRecord & { path?: string; name?: string };
    return r.path ?? (r.name ? `${r.kind} ${r.name}` : r.kind);
  }
  return typeof v;
}

function tensorFrom(args: readonly PickleValue[], at: number, withGrad: boolean, dtype?: PickleValue): TensorRecord {
  const storage = args[0];
  if (!isRecord(storage, 'storage')) throw new PickleError(`a tensor's storage is ${describe(storage ?? null)}, not a storage record`, at);
  const td = dtype === undefined ? undefined : isRecord(dtype, 'dtype') ? dtype as TorchDtype : undefined;
  if (dtype !== undefined && !td) throw new PickleError('_rebuild_tensor_v3: its dtype argument is not a torch dtype', at);
  const size = ints(args[2] ?? null, 'a tensor size', at);
  const stride = ints(args[3] ?? null, 'a tensor stride', at);
  if (size.length !== stride.length) throw new PickleError(`a tensor of ${size.length} dimensions has ${stride.length} strides`, at);
  if (size.some((d) => d < 0) || stride.some((d) => d < 0)) throw new PickleError('a tensor has a negative size or stride', at);
  return {
    kind: 'tensor', storage: storage as StorageRef, offset: int(args[1] ?? null, 'a storage offset', at), size, stride,
    requiresGrad: withGrad && args[4] === true, dtype: td, parameter: false, at,
  };
}

function asParameter(v: PickleValue, at: number): TensorRecord | OpaqueTensor {
  if (isTensor(v)) return { ...v, parameter: true };
  if (isOpaqueTensor(v)) return v;
  throw new PickleError(`a Parameter of ${describe(v)}, not of a tensor`, at);
}

/** What an allowlisted callable would return, as an inert value. */
function call(path: string, args: readonly PickleValue[], at: number): PickleValue {
  switch (path) {
    case 'torch._utils._rebuild_tensor': return tensorFrom(args, at, false);
    case 'torch._utils._rebuild_tensor_v2': return tensorFrom(args, at, true);
    case 'torch._utils._rebuild_tensor_v3': return tensorFrom(args, at, true, args[6] ?? null);
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state': {
      const p = asParameter(args[0] ?? null, at);
      if (!isTensor(p)) return p;
      const withGrad: TensorRecord = { ...p, requiresGrad: args[1] === true };
      return withGrad;
    }
    case 'torch.nn.parameter.Parameter': return asParameter(args[0] ?? null, at);
    case 'torch._tensor._rebuild_from_type_v2': {
      // (func, new_type, args, state): a Tensor or Parameter rebuilt by func; subclasses were refused by name.
      const inner = callablePath(args[0] ?? null);
      const newType = callablePath(args[1] ?? null);
      const innerArgs = args[2];
      if (inner === 'torch._tensor._rebuild_from_type_v2') throw new PickleError('_rebuild_from_type_v2 of itself', at);
      if (!inner || !(innerArgs instanceof PickleTuple)) throw new PickleError('_rebuild_from_type_v2 without a rebuild function and its arguments', at);
      if (newType !== 'torch.Tensor' && newType !== 'torch.nn.parameter.Parameter') throw new PickleError(`_rebuild_from_type_v2 of ${describe(args[1] ?? null)}, not a tensor type`, at);
      const t = call(inner, innerArgs.items, at);
      return newType === 'torch.nn.parameter.Parameter' ? asParameter(t, at) : t;
    }
    case 'collections.OrderedDict':
    case 'collections.Counter': {
      const m = new Map<PickleValue, PickleValue>();
      const init = args[0];
      if (init instanceof Map) for (const [k, v] of init) m.set(k, v);
      else if (Array.isArray(init)) for (const pair of init) {
        if (!(pair instanceof PickleTuple) || pair.items.length !== 2) throw new PickleError('OrderedDict of items that are not pairs', at);
        m.set(pair.items[0]!, pair.items[1]!);
      } else if (init !== undefined && init !== null) throw new PickleError(`OrderedDict of ${describe(init)}`, at);
      return m;
    }
    case 'torch.Size': return new PickleTuple(args.length === 0 ? [] : ints(args[0]!, 'torch.Size', at));
    case 'torch.device': return { kind: 'device', name: args.map((a) => str(a, 'a device', at)).join(':') } as TorchDevice;
    case '_codecs.encode': {
      // Protocol 2 writes bytes as _codecs.encode(text, 'latin1').
      const s = str(args[0] ?? null, '_codecs.encode text', at);
      const enc = args.length > 1 ? str(args[1]!, '_codecs.encode encoding', at).toLowerCase() : 'utf-8';
      if (enc === 'latin1' || enc === 'latin-1' || enc === 'iso-8859-1') return Uint8Array.from(Buffer.from(s, 'latin1'));
      if (enc === 'utf-8' || enc === 'utf8' || enc === 'ascii') return Uint8Array.from(Buffer.from(s, 'utf8'));
      throw new PickleError(`_codecs.encode with encoding '${enc}'`, at);
    }
    case 'builtins.bytearray': {
      const a = args[0];
      if (a === undefined) return new Uint8Array(0);
      if (a instanceof Uint8Array) return Uint8Array.from(a);
      if (typeof a === 'string') return Uint8Array.from(Buffer.from(a, 'latin1'));
      throw new PickleError(`bytearray of ${describe(a)}`, at);
    }
    case 'builtins.set':
    case 'builtins.frozenset': {
      const a = args[0];
      if (a === undefined) return new PickleSet([]);
      if (Array.isArray(a)) return new PickleSet(a.slice());
      if (a instanceof PickleTuple) return new PickleSet(a.items.slice());
      throw new PickleError(`set of ${describe(a)}`, at);
    }
    case 'builtins.complex': {
      const re = args[0] ?? 0;
      const im = args[1] ?? 0;
      if (typeof re !== 'number' || typeof im !== 'number') throw new PickleError('complex of something that is not two numbers', at);
      return { kind: 'complex', re, im } as ComplexNumber;
    }
    case 'torch.serialization._get_layout': return { kind: 'constant', path: `torch.${str(args[0] ?? null, 'a layout', at).replace(/^torch\./, '')}` } as TorchConstant;
    default:
      if (OPAQUE_TENSORS.has(path)) return { kind: 'opaqueTensor', callable: path, at } as OpaqueTensor;
      throw new PickleError(`refuses to call ${path}: only state dicts of tensors are read; nothing was executed`, at);
  }
}

/** The hooks that read a torch.save'd pickle without executing it. */
export function torchHooks(options: TorchHookOptions = {}): PickleHooks {
  const refuse = (path: string, at: number): never => {
    const model = namesModel(path) || options.modelHint?.() === true;
    throw new PickleError(`refuses global ${path}: ${model ? `${MODEL_NOTE}; nothing was executed` : REFUSED}`, at);
  };
  return {
    global(rawModule, name, at) {
      const module = PY2_MODULES[rawModule] ?? rawModule;
      const path = `${module}.${name}`;
      if (/[\0\n]/.test(path)) refuse(JSON.stringify(path), at);
      if ((module === 'torch' || module === 'torch.cuda') && Object.hasOwn(STORAGES, name)) {
        const [dtype, elementSize] = STORAGES[name]!;
        return { kind: 'storageType', name, dtype, elementSize } as StorageType;
      }
      if (module === 'torch.storage' && (name === 'UntypedStorage' || name === 'TypedStorage')) return { kind: 'storageType', name, dtype: 'uint8', elementSize: 1 } as StorageType;
      if (module === 'torch' && Object.hasOwn(DTYPES, name)) return { kind: 'dtype', name, dtype: DTYPES[name] } as TorchDtype;
      if (module === 'torch.nn.parameter' && name === 'Parameter') return { kind: 'callable', path } as TorchCallable;
      if (CALLABLES.has(path) || OPAQUE_TENSORS.has(path)) return { kind: 'callable', path } as TorchCallable;
      if (CONSTANTS.has(path)) return { kind: 'constant', path } as TorchConstant;
      return refuse(path, at);
    },
    reduce(fn, args, at) {
      const path = callablePath(fn);
      if (!path) throw new PickleError(`refuses to call ${describe(fn)}: only allowlisted torch functions are read; nothing was executed`, at);
      return call(path, args.items, at);
    },
    newobj(cls, args, at) {
      const path = callablePath(cls);
      switch (path) {
        case 'collections.OrderedDict': case 'collections.Counter': return new Map();
        case 'builtins.set': case 'builtins.frozenset': return new PickleSet([]);
        case 'torch.nn.parameter.Parameter': return call(path, args.items, at);
        default: throw new PickleError(`refuses to create an object of ${describe(cls)}: only state dicts of tensors are read; nothing was executed`, at);
      }
    },
    build(inst, state, at) {
      // OrderedDict state (state_dict's _metadata) and Parameter / tensor state (Python attributes) carry no weights.
      if (inst instanceof Map || isTensor(inst) || isOpaqueTensor(inst)) {
        void state;
        return inst;
      }
      throw new PickleError(`refuses BUILD of ${describe(inst)}: only dicts and tensors may have state; nothing was executed`, at);
    },
    persistentLoad(pid, at) {
      if (!(pid instanceof PickleTuple) || pid.items.length === 0) throw new PickleError(`a persistent id that is not a storage tuple (${describe(pid)})`, at);
      const [tag, type, key, location, numel, view] = pid.items;
      const t = str(tag!, 'a persistent id tag', at);
      if (t === 'module') throw new PickleError(`refuses a pickled module source: ${MODEL_NOTE}; nothing was executed`, at);
      if (t !== 'storage') throw new PickleError(`persistent id '${t}': only storages may be named`, at);
      if (pid.items.length < 5) throw new PickleError(`a storage persistent id of ${pid.items.length} items, not 5 or 6`, at);
      if (!isRecord(type!, 'storageType')) throw new PickleError(`a storage of type ${describe(type!)}`, at);
      const ref: StorageRef = { kind: 'storage', type: type as StorageType, key: str(key!, 'a storage key', at), location: str(location!, 'a storage location', at), numel: int(numel!, 'a storage size', at), at };
      if (ref.numel < 0) throw new PickleError('a storage of negative size', at);
      if (view instanceof PickleTuple && view.items.length === 3) {
        ref.view = { key: str(view.items[0]!, 'a storage view key', at), offset: int(view.items[1]!, 'a storage view offset', at), numel: int(view.items[2]!, 'a storage view size', at) };
      } else if (view !== undefined && view !== null) throw new PickleError('a storage view that is not (key, offset, size)', at);
      options.onStorage?.(ref);
      return ref;
    },
  };
}
