// A pickle reader that never executes anything: the opcodes of protocols
// 0-5 are interpreted as a stack machine that builds a plain value tree
// (dicts as Map, tuples, lists, strings, bytes, numbers, None, bools). What
// a pickle would import or call (GLOBAL, STACK_GLOBAL, REDUCE, NEWOBJ,
// BUILD, persistent ids) goes to the caller's hooks, which turn the few
// allowlisted callables into inert records or refuse them; INST, OBJ and
// the extension registry are refused at the opcode itself. The reader is a
// loop, never recursive, and bounds what a file can make it hold: stack
// items, mark depth, memo entries and objects made, each length checked
// against the bytes that remain. It reports the byte where the pickle
// stopped, which the legacy format needs (its pickles follow each other).
import { PickleCursor, PickleError, type PickleSource } from './pickleInput';

export { PickleError } from './pickleInput';

/** A Python tuple (lists are plain arrays). */
export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** A Python set or frozenset. */
export class PickleSet {
  constructor(readonly items: PickleValue[]) {}
}

/** Something a hook made: an inert global, a tensor record, a device... */
export interface PickleRecord {
  readonly kind: string;
}

export type PickleValue =
  | null | boolean | number | bigint | string | Uint8Array
  | PickleValue[] | PickleTuple | PickleSet | Map<PickleValue, PickleValue> | PickleRecord;

/** What the reader cannot do by itself: every way a pickle names or calls code. */
export interface PickleHooks {
  /** GLOBAL / STACK_GLOBAL: the inert value it stands for, or a thrown refusal. */
  global(module: string, name: string, at: number): PickleValue;
  /** REDUCE: `callable(*args)`. */
  reduce(callable: PickleValue, args: PickleTuple, at: number): PickleValue;
  /** NEWOBJ / NEWOBJ_EX: `cls.__new__(cls, *args)`. */
  newobj(cls: PickleValue, args: PickleTuple, at: number): PickleValue;
  /** BUILD: `inst.__setstate__(state)`; returns what stays on the stack. */
  build(inst: PickleValue, state: PickleValue, at: number): PickleValue;
  /** PERSID / BINPERSID: what the persistent id names (a storage). */
  persistentLoad(pid: PickleValue, at: number): PickleValue;
}

export interface PickleLimits {
  /** Items on all stacks together. */
  maxStack: number;
  /** MARKs open at once. */
  maxMarkDepth: number;
  maxMemo: number;
  /** Containers, strings and records made. */
  maxObjects: number;
  /** One string or bytes value. */
  maxString: number;
}

export const DEFAULT_LIMITS: PickleLimits = {
  maxStack: 4_000_000,
  maxMarkDepth: 1000,
  maxMemo: 8_000_000,
  maxObjects: 40_000_000,
  maxString: 256 << 20,
};

export interface PickleResult {
  value: PickleValue;
  /** The byte after STOP. */
  end: number;
  /** The highest protocol the PROTO opcode announced (0 when none). */
  protocol: number;
}

const MARK = Symbol('mark');
const utf8 = new TextDecoder('utf-8');

function tupleOf(items: PickleValue[]): PickleTuple {
  return new PickleTuple(items);
}

const ESCAPES: Readonly<Record<string, number>> = { n: 10, t: 9, r: 13, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, '0': 0 };

/** Python's repr-escaped STRING argument ('...' or "..."), as its bytes. */
function unquote(text: string, at: number): Uint8Array {
  const q = text[0];
  if (text.length < 2 || (q !== "'" && q !== '"') || text[text.length - 1] !== q) throw new PickleError('STRING argument is not quoted', at);
  const body = text.slice(1, -1);
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c !== 0x5c) { out.push(c & 0xff); continue; }
    const e = body[++i];
    if (e === 'x') { out.push(parseInt(body.slice(i + 1, i + 3), 16) & 0xff); i += 2; }
    else if (e !== undefined && Object.hasOwn(ESCAPES, e)) out.push(ESCAPES[e]!);
    else throw new PickleError(`STRING argument has an unknown escape \\${e ?? ''}`, at);
  }
  return Uint8Array.from(out);
}

/** raw-unicode-escape (UNICODE opcode): latin-1 with \uXXXX and \UXXXXXXXX escapes. */
function rawUnicode(text: string): string {
  return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, a: string | undefined, b: string | undefined) => String.fromCodePoint(parseInt(a ?? b!, 16)));
}

/** Two's complement little-endian bytes as an integer (LONG1 / LONG4). */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(bytes.length * 8);
  return narrow(v);
}

function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function parseIntLine(text: string, at: number): number | bigint | boolean {
  if (text === '00') return false;
  if (text === '01') return true;
  const t = text.endsWith('L') ? text.slice(0, -1) : text;
  if (!/^[+-]?\d+$/.test(t) || t.length > 4096) throw new PickleError(`integer argument '${text.slice(0, 40)}' is not a decimal number`, at);
  return narrow(BigInt(t));
}

/** Reads one pickle from `start` to its STOP opcode. */
export function readPickle(source: PickleSource, hooks: PickleHooks, start = 0, limits: PickleLimits = DEFAULT_LIMITS): PickleResult {
  const c = new PickleCursor(source, start);
  let stack: Array<PickleValue | typeof MARK> = [];
  const marks: Array<Array<PickleValue | typeof MARK>> = [];
  let below = 0; // items held by the stacks under the open marks
  // Pickles memoize with indices 0, 1, 2...: an array; a Map holds any index that would leave a hole.
  const memo: PickleValue[] = [];
  const sparseMemo = new Map<number, PickleValue>();
  let objects = 0;
  let protocol = 0;
  let at = start;

  const made = <T>(v: T): T => {
    if (++objects > limits.maxObjects) throw new PickleError(`more than ${limits.maxObjects} objects: refused as too large for a state dict`, at);
    return v;
  };
  const push = (v: PickleValue) => {
    if (stack.length + below >= limits.maxStack) throw new PickleError(`more than ${limits.maxStack} items on the pickle stack`, at);
    stack.push(v);
  };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined) throw new PickleError('stack underflow: the pickle is corrupt', at);
    if (v === MARK) throw new PickleError('a MARK where a value was expected: the pickle is corrupt', at);
    return v;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined) throw new PickleError('stack underflow: the pickle is corrupt', at);
    if (v === MARK) throw new PickleError('a MARK where a value was expected: the pickle is corrupt', at);
    return v;
  };
  const popMark = (): PickleValue[] => {
    const items = stack as PickleValue[];
    const prev = marks.pop();
    if (prev === undefined) throw new PickleError('no MARK to pop to: the pickle is corrupt', at);
    below -= prev.length;
    stack = prev;
    return items;
  };
  const string = (n: number, what: string): Uint8Array => {
    if (n <= c.remaining && n > limits.maxString) throw new PickleError(`${what} of ${n} bytes is over the ${limits.maxString}-byte limit`, at);
    return c.take(n, what);
  };
  const text = (n: number, what: string): string => made(utf8.decode(string(n, what)));
  const bytes = (n: number, what: string): Uint8Array => made(Uint8Array.from(string(n, what)));
  const get = (i: number) => {
    const v = i < memo.length ? memo[i] : sparseMemo.get(i);
    if (v === undefined) throw new PickleError(`memo entry ${i} was never stored: the pickle is corrupt`, at);
    push(v);
  };
  /** The decimal memo index of protocol 0's PUT and GET (a line of text). */
  const textMemoIndex = (op: 'PUT' | 'GET'): number => {
    const t = c.line(op);
    if (!/^\d{1,10}$/.test(t)) throw new PickleError(`${op} argument '${t.slice(0, 40)}' is not a memo index`, at);
    return Number(t);
  };
  const put = (i: number) => {
    if (i < memo.length) { memo[i] = top(); return; }
    if (memo.length + sparseMemo.size >= limits.maxMemo) throw new PickleError(`more than ${limits.maxMemo} memo entries`, at);
    if (i === memo.length && !sparseMemo.has(i)) memo.push(top());
    else sparseMemo.set(i, top());
  };
  const dictOf = (items: PickleValue[]) => {
    if (items.length % 2 !== 0) throw new PickleError('an odd number of items for a dict', at);
    const m = made(new Map<PickleValue, PickleValue>());
    for (let i = 0; i < items.length; i += 2) m.set(items[i]!, items[i + 1]!);
    return m;
  };
  const setItems = (target: PickleValue, items: PickleValue[]) => {
    if (!(target instanceof Map)) throw new PickleError('SETITEM(S) on something that is not a dict', at);
    if (items.length % 2 !== 0) throw new PickleError('an odd number of items for SETITEMS', at);
    for (let i = 0; i < items.length; i += 2) target.set(items[i]!, items[i + 1]!);
  };
  const appendTo = (target: PickleValue, items: PickleValue[]) => {
    if (!Array.isArray(target)) throw new PickleError('APPEND(S) on something that is not a list', at);
    for (const v of items) target.push(v);
  };
  const addTo = (target: PickleValue, items: PickleValue[]) => {
    if (!(target instanceof PickleSet)) throw new PickleError('ADDITEMS on something that is not a set', at);
    for (const v of items) target.items.push(v);
  };
  const asTuple = (v: PickleValue, what: string): PickleTuple => {
    if (v instanceof PickleTuple) return v;
    throw new PickleError(`${what} arguments are not a tuple`, at);
  };

  for (;;) {
    at = c.pos;
    if (c.remaining <= 0) throw new PickleError('the pickle ends before its STOP opcode', at);
    const op = c.u8('opcode');
    switch (op) {
      case 0x80: { // PROTO
        protocol = c.u8('PROTO');
        if (protocol > 5) throw new PickleError(`pickle protocol ${protocol} is not known (0-5 are)`, at);
        break;
      }
      case 0x95: c.u64('FRAME'); break; // FRAME: a length prefix only, the opcodes follow as usual
      case 0x2e: { // STOP
        const value = pop();
        if (marks.length > 0) throw new PickleError('STOP with a MARK still open: the pickle is corrupt', at);
        return { value, end: c.pos, protocol };
      }
      // Marks and the stack
      case 0x28: // MARK
        if (marks.length >= limits.maxMarkDepth) throw new PickleError(`nested deeper than ${limits.maxMarkDepth} levels: refused`, at);
        below += stack.length;
        marks.push(stack);
        stack = [];
        break;
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      // Constants and numbers
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4b: push(c.u8('BININT1')); break;
      case 0x4d: push(c.u16('BININT2')); break;
      case 0x4a: push(c.i32('BININT')); break;
      case 0x8a: push(decodeLong(c.take(c.u8('LONG1'), 'LONG1'))); break;
      case 0x8b: { // LONG4
        const n = c.i32('LONG4');
        if (n < 0) throw new PickleError('LONG4 has a negative length', at);
        if (n > 1 << 16) throw new PickleError(`LONG4 of ${n} bytes is over the 65536-byte limit`, at);
        push(decodeLong(c.take(n, 'LONG4')));
        break;
      }
      case 0x49: push(parseIntLine(c.line('INT'), at)); break; // INT
      case 0x4c: push(parseIntLine(c.line('LONG'), at) as number | bigint); break; // LONG
      case 0x47: { // BINFLOAT: big-endian double
        const b = c.take(8, 'BINFLOAT');
        push(new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false));
        break;
      }
      case 0x46: { // FLOAT
        // Python writes repr(float): digits, or inf / -inf / nan.
        const t = c.line('FLOAT').trim();
        const special: Record<string, number> = { inf: Infinity, '+inf': Infinity, '-inf': -Infinity, nan: NaN, '-nan': NaN, '+nan': NaN };
        const v = Object.hasOwn(special, t.toLowerCase()) ? special[t.toLowerCase()]! : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : undefined;
        if (v === undefined) throw new PickleError(`FLOAT argument '${t.slice(0, 40)}' is not a number`, at);
        push(v);
        break;
      }
      // Strings and bytes
      case 0x58: push(text(c.u32('BINUNICODE'), 'BINUNICODE')); break;
      case 0x8c: push(text(c.u8('SHORT_BINUNICODE'), 'SHORT_BINUNICODE')); break;
      case 0x8d: push(text(c.u64('BINUNICODE8'), 'BINUNICODE8')); break;
      case 0x56: push(made(rawUnicode(c.line('UNICODE', limits.maxString)))); break;
      // Python 2 str: torch.load decodes them as UTF-8 text.
      case 0x55: push(text(c.u8('SHORT_BINSTRING'), 'SHORT_BINSTRING')); break;
      case 0x54: { // BINSTRING
        const n = c.i32('BINSTRING');
        if (n < 0) throw new PickleError('BINSTRING has a negative length', at);
        push(text(n, 'BINSTRING'));
        break;
      }
      case 0x53: push(made(utf8.decode(unquote(c.line('STRING', limits.maxString), at)))); break;
      case 0x43: push(bytes(c.u8('SHORT_BINBYTES'), 'SHORT_BINBYTES')); break;
      case 0x42: push(bytes(c.u32('BINBYTES'), 'BINBYTES')); break;
      case 0x8e: push(bytes(c.u64('BINBYTES8'), 'BINBYTES8')); break;
      case 0x96: push(bytes(c.u64('BYTEARRAY8'), 'BYTEARRAY8')); break;
      case 0x97: case 0x98: // NEXT_BUFFER, READONLY_BUFFER
        throw new PickleError('out-of-band buffers (pickle protocol 5 NEXT_BUFFER) are not part of a checkpoint', at);
      // Containers
      case 0x29: push(made(tupleOf([]))); break; // EMPTY_TUPLE
      case 0x74: push(made(tupleOf(popMark()))); break; // TUPLE
      case 0x85: push(made(tupleOf([pop()]))); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); push(made(tupleOf([a, b]))); break; } // TUPLE2
      case 0x87: { const z = pop(); const y = pop(); const x = pop(); push(made(tupleOf([x, y, z]))); break; } // TUPLE3
      case 0x5d: push(made([] as PickleValue[])); break; // EMPTY_LIST
      case 0x6c: push(made(popMark())); break; // LIST
      case 0x61: { const v = pop(); appendTo(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendTo(top(), items); break; } // APPENDS
      case 0x7d: push(made(new Map<PickleValue, PickleValue>())); break; // EMPTY_DICT
      case 0x64: push(dictOf(popMark())); break; // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x8f: push(made(new PickleSet([]))); break; // EMPTY_SET
      case 0x90: { const items = popMark(); addTo(top(), items); break; } // ADDITEMS
      case 0x91: push(made(new PickleSet(popMark()))); break; // FROZENSET
      // Memo
      case 0x70: put(textMemoIndex('PUT')); break;
      case 0x71: put(c.u8('BINPUT')); break;
      case 0x72: put(c.u32('LONG_BINPUT')); break;
      case 0x94: put(memo.length + sparseMemo.size); break; // MEMOIZE
      case 0x67: get(textMemoIndex('GET')); break;
      case 0x68: get(c.u8('BINGET')); break;
      case 0x6a: get(c.u32('LONG_BINGET')); break;
      // What names or calls code: only through the hooks.
      case 0x63: { // GLOBAL
        const module = c.line('GLOBAL module', 4096);
        const name = c.line('GLOBAL name', 4096);
        push(hooks.global(module, name, at));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new PickleError('STACK_GLOBAL of something that is not two strings', at);
        push(hooks.global(module, name, at));
        break;
      }
      case 0x52: { // REDUCE
        const args = asTuple(pop(), 'REDUCE');
        const fn = pop();
        push(made(hooks.reduce(fn, args, at)));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = asTuple(pop(), 'NEWOBJ');
        const cls = pop();
        push(made(hooks.newobj(cls, args, at)));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = asTuple(pop(), 'NEWOBJ_EX');
        const cls = pop();
        if (!(kwargs instanceof Map) || kwargs.size > 0) throw new PickleError('NEWOBJ_EX with keyword arguments is not part of a state dict', at);
        push(made(hooks.newobj(cls, args, at)));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const inst = pop();
        push(hooks.build(inst, state, at));
        break;
      }
      case 0x50: push(hooks.persistentLoad(made(c.line('PERSID')), at)); break; // PERSID
      case 0x51: push(hooks.persistentLoad(pop(), at)); break; // BINPERSID
      case 0x69: { // INST: imports and calls a class named inline
        const module = c.line('INST module', 4096);
        const name = c.line('INST name', 4096);
        throw new PickleError(`refuses INST ${module}.${name}: the pickle would create an object of that class; only state dicts of tensors are read; nothing was executed`, at);
      }
      case 0x6f: // OBJ
        throw new PickleError('refuses OBJ: the pickle would call a class to create an object; only state dicts of tensors are read; nothing was executed', at);
      case 0x82: case 0x83: case 0x84: // EXT1, EXT2, EXT4
        throw new PickleError("refuses EXT: the pickle names a class through Python's extension registry; only state dicts of tensors are read; nothing was executed", at);
      default:
        throw new PickleError(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}: the file is corrupt or not a pickle`, at);
    }
  }
}
