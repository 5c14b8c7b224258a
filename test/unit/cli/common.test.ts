import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliError, parseBytes } from '../../../extension/cli/common';

test('parseBytes: plain counts, SI units as the output prints them, binary units', () => {
  assert.equal(parseBytes('--min-bytes', '1024'), 1024);
  assert.equal(parseBytes('--min-bytes', '0'), 0);
  assert.equal(parseBytes('--fail-over', '500kB'), 500_000);
  assert.equal(parseBytes('--fail-over', '500k'), 500_000);
  assert.equal(parseBytes('--fail-over', '1.5MB'), 1_500_000);
  assert.equal(parseBytes('--fail-over', '2G'), 2e9);
  assert.equal(parseBytes('--fail-over', '64KiB'), 65_536);
  assert.equal(parseBytes('--fail-over', '1MiB'), 1_048_576);
  assert.equal(parseBytes('--fail-over', '10B'), 10);
});

test('parseBytes: anything else is a usage error naming the option', () => {
  for (const bad of ['', 'x', '-1', '1.5.2', '10 apples', '1e6']) {
    assert.throws(() => parseBytes('--fail-over', bad), (e: unknown) => e instanceof CliError && /--fail-over/.test((e as Error).message), bad);
  }
  assert.throws(() => parseBytes('--min-bytes', undefined), /--min-bytes needs a value/);
});
