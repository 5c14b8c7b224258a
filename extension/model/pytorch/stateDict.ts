// The named tensors of an unpickled checkpoint: a state dict (nested dicts
// flattened with dots, as state_dict() names them), or the state dict inside
// a training checkpoint's wrapper ({'state_dict': ...}, {'model': ...}).
// The walk is a loop with a depth limit and a visit budget: a pickle can
// nest values a million deep or share one list under itself many times
// over, and neither may crash or stall the reader.
import { PickleError, PickleSet, PickleTuple, type PickleValue } from './pickle';
import { isOpaqueTensor, isTensor, type OpaqueTensor, type TensorRecord } from './allowlist';

export interface NamedTensor {
  name: string;
  record: TensorRecord | OpaqueTensor;
}

export interface StateDictTensors {
  tensors: NamedTensor[];
  /** The top-level key whose value was read as the state dict, when the file wraps one. */
  wrapper?: string;
  warnings: string[];
}

/** Keys training scripts keep the model's state dict under. */
const WRAPPER_KEYS = ['state_dict', 'model_state_dict', 'model', 'module', 'net'];
export const MAX_DEPTH = 64;
const MAX_VISITS = 20_000_000;

function children(v: PickleValue): Array<[string | undefined, PickleValue]> | undefined {
  if (v instanceof Map) return [...v].map(([k, x]) => [typeof k === 'string' ? k : typeof k === 'number' || typeof k === 'bigint' ? String(k) : undefined, x]);
  if (Array.isArray(v)) return v.map((x, i) => [String(i), x]);
  if (v instanceof PickleTuple) return v.items.map((x, i) => [String(i), x]);
  if (v instanceof PickleSet) return [];
  return undefined;
}

const isTensorLike = (v: PickleValue): v is TensorRecord | OpaqueTensor => isTensor(v) || isOpaqueTensor(v);

function holdsTensors(v: PickleValue): boolean {
  return v instanceof Map && [...v.values()].some((x) => isTensorLike(x) || (x instanceof Map && x.size > 0));
}

/** Every tensor under `root`, named by its path of keys. */
function walk(root: PickleValue, at: number): { tensors: NamedTensor[]; ignored: string[]; unnamed: number; shared: string[] } {
  const tensors: NamedTensor[] = [];
  const ignored: string[] = [];
  let unnamed = 0;
  let visits = 0;
  const seen = new Set<object>();
  const shared: string[] = [];
  const todo: Array<{ v: PickleValue; name: string; depth: number }> = [{ v: root, name: '', depth: 0 }];
  while (todo.length > 0) {
    const { v, name, depth } = todo.pop()!;
    if (++visits > MAX_VISITS) throw new PickleError(`the checkpoint's values are reached more than ${MAX_VISITS} times (shared many times over): refused`, at);
    if (isTensorLike(v)) { tensors.push({ name: name || 'tensor', record: v }); continue; }
    const kids = children(v);
    if (!kids) { if (name && ignored.length < 5) ignored.push(name); continue; }
    // A container reached again (shared, or holding itself) is read once: no cycle or DAG can multiply the walk.
    if (seen.has(v as object)) { if (shared.length < 5) shared.push(name || '(root)'); continue; }
    seen.add(v as object);
    if (depth >= MAX_DEPTH) throw new PickleError(`values nested deeper than ${MAX_DEPTH} levels (or a value that holds itself): refused, a state dict is flat`, at);
    for (let i = kids.length - 1; i >= 0; i--) {
      const [key, x] = kids[i]!;
      if (key === undefined) { unnamed++; continue; }
      todo.push({ v: x, name: name ? `${name}.${key}` : key, depth: depth + 1 });
    }
  }
  return { tensors, ignored, unnamed, shared };
}

/** The tensors of a checkpoint's root object; `at` is the pickle's offset, for messages. */
export function stateDictTensors(root: PickleValue, at: number): StateDictTensors {
  const warnings: string[] = [];
  let target = root;
  let wrapper: string | undefined;
  if (root instanceof Map && ![...root.values()].some(isTensorLike)) {
    const key = WRAPPER_KEYS.find((k) => holdsTensors(root.get(k) ?? null));
    if (key !== undefined) {
      wrapper = key;
      target = root.get(key)!;
      const others = [...root.keys()].filter((k) => k !== key).map(String);
      if (others.length) warnings.push(`the state dict was read from the top-level key '${key}'; the other top-level entries (${others.slice(0, 6).join(', ')}${others.length > 6 ? ', ...' : ''}) are not model weights and were not read`);
    }
  }
  const { tensors, ignored, unnamed, shared } = walk(target, at);
  if (tensors.length === 0) throw new PickleError(`no tensors: the pickle holds ${root instanceof Map ? 'a dict' : 'a value'} without any, not a state dict`, at);
  if (ignored.length) warnings.push(`values that are not tensors were skipped (e.g. ${ignored.map((n) => `'${n}'`).join(', ')})`);
  if (shared.length) warnings.push(`containers reached a second time were read once: ${shared.map((n) => `'${n}'`).join(', ')}`);
  if (unnamed) warnings.push(`${unnamed} value${unnamed === 1 ? '' : 's'} under keys that are not strings or numbers were skipped`);
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) throw new PickleError(`two tensors are both named '${t.name}'`, at);
    seen.add(t.name);
  }
  return { tensors, wrapper, warnings };
}
