// Which fields of an AttributeProto count, decided once for the reader and
// the rewriter alike: a hostile file can repeat a singular field or declare
// one type and carry another's value, and if the two sides disagreed on
// which subgraph is which, a rewrite would edit the wrong one.
import { int32Value, type WireFile, type WireField } from './wire';

// AttributeProto fields and AttributeType values share numbering in a few places; keep both explicit.
export const A_NAME = 1, A_F = 2, A_I = 3, A_S = 4, A_T = 5, A_G = 6, A_FLOATS = 7, A_INTS = 8, A_STRINGS = 9,
  A_TENSORS = 10, A_GRAPHS = 11, A_TYPE = 20, A_REF = 21, A_SPARSE = 22, A_SPARSES = 23, A_TP = 14, A_TPS = 15;
export const AT_FLOAT = 1, AT_INT = 2, AT_STRING = 3, AT_TENSOR = 4, AT_GRAPH = 5, AT_FLOATS = 6, AT_INTS = 7,
  AT_STRINGS = 8, AT_TENSORS = 9, AT_GRAPHS = 10, AT_SPARSE = 11, AT_SPARSES = 12, AT_TP = 13, AT_TPS = 14;

const SINGULAR = new Set([A_F, A_I, A_S, A_T, A_G, A_SPARSE, A_TP, A_REF]);
const REPEATED = new Set([A_FLOATS, A_INTS, A_STRINGS, A_TENSORS, A_GRAPHS, A_SPARSES, A_TPS]);

export interface AttributeLayout {
  /** The last `name` field (protobuf: the last one wins). */
  name?: WireField;
  /** The declared type, or the one its value fields imply when none is declared. */
  type: number;
  /** The last occurrence of each singular value field. */
  one: Partial<Record<number, WireField>>;
  /** Every occurrence of each repeated value field, in order. */
  many: Partial<Record<number, WireField[]>>;
}

export function attributeLayout(src: WireFile, fields: Iterable<WireField>, what: string): AttributeLayout {
  let name: WireField | undefined;
  let type = 0;
  const one: AttributeLayout['one'] = {};
  const many: AttributeLayout['many'] = {};
  for (const g of fields) {
    if (g.field === A_NAME) name = g;
    else if (g.field === A_TYPE) type = int32Value(src, g, `${what} type`);
    else if (SINGULAR.has(g.field)) one[g.field] = g;
    else if (REPEATED.has(g.field)) (many[g.field] ??= []).push(g);
  }
  return { name, type: type === 0 ? inferType(one, many) : type, one, many };
}

/** The fields read as subgraphs, in the order the reader lists them on the node. */
export function subgraphFields(a: AttributeLayout): WireField[] {
  if (a.type === AT_GRAPH) return a.one[A_G] ? [a.one[A_G]] : [];
  if (a.type === AT_GRAPHS) return a.many[A_GRAPHS] ?? [];
  return [];
}

function inferType(one: AttributeLayout['one'], many: AttributeLayout['many']): number {
  if (one[A_F]) return AT_FLOAT;
  if (one[A_I]) return AT_INT;
  if (one[A_S]) return AT_STRING;
  if (one[A_T]) return AT_TENSOR;
  if (one[A_G]) return AT_GRAPH;
  if (one[A_SPARSE]) return AT_SPARSE;
  if (one[A_TP]) return AT_TP;
  if (many[A_FLOATS]) return AT_FLOATS;
  if (many[A_INTS]) return AT_INTS;
  if (many[A_STRINGS]) return AT_STRINGS;
  if (many[A_TENSORS]) return AT_TENSORS;
  if (many[A_GRAPHS]) return AT_GRAPHS;
  if (many[A_SPARSES]) return AT_SPARSES;
  if (many[A_TPS]) return AT_TPS;
  return 0;
}
