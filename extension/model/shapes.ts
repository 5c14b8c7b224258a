// One frozen array per distinct shape, shared by every tensor of that shape:
// a model of millions of small tensors (most of them [], [1] or [n]) keeps a
// few arrays instead of one per tensor.
export class ShapeTable {
  private readonly shapes = new Map<string, readonly number[]>();

  of(dims: readonly number[]): readonly number[] {
    const key = dims.join(',');
    let shape = this.shapes.get(key);
    if (!shape) {
      shape = Object.freeze(dims.slice());
      this.shapes.set(key, shape);
    }
    return shape;
  }
}
