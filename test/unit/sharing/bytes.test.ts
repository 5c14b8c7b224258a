import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes } from '../../../extension/sharing/bytes';

test('formatBytes: exact bytes below 1 kB, SI units above, three significant digits', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1000), '1.0 kB');
  assert.equal(formatBytes(256000), '256 kB');
  assert.equal(formatBytes(23_400_000), '23.4 MB');
  assert.equal(formatBytes(999_960), '1.0 MB');
  assert.equal(formatBytes(1.5e9), '1.5 GB');
  assert.equal(formatBytes(3e9 + 1), '3.0 GB');
  assert.equal(formatBytes(-2048), '-2.0 kB');
});
