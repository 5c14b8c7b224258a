import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupBy, pushTo } from '../../../extension/util/groupBy';

test('groupBy keeps groups in order of first appearance and items in input order', () => {
  const g = groupBy(['b1', 'a1', 'b2', 'c1', 'a2'], (s) => s[0]);
  assert.deepEqual([...g.entries()], [['b', ['b1', 'b2']], ['a', ['a1', 'a2']], ['c', ['c1']]]);
  assert.equal(groupBy([], (x: number) => x).size, 0);
});

test('pushTo creates the list on first use and appends after', () => {
  const m = new Map<string, number[]>();
  pushTo(m, 'x', 1);
  pushTo(m, 'x', 2);
  pushTo(m, 'y', 3);
  assert.deepEqual([...m.entries()], [['x', [1, 2]], ['y', [3]]]);
});
