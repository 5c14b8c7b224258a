// Shared CLI plumbing: usage text, argument errors, option parsing.
export class CliError extends Error {}

export const USAGE = `Usage: weight-sharing <command> [options]

Commands:
  scan PATH... [--json | --format text|json|sarif] [--min-bytes N] [--fail-over BYTES]
      Find tied and shareable weights in model files or folders.
  apply MODEL [-o OUT] [--kinds exact,transposed,...] [--min-bytes N] [--force] [--json]
      Write a copy of MODEL that stores each shareable weight once
      (ONNX, safetensors file or Hugging Face folder).
  restore SHARED -o FULL [--json]
      Write the full checkpoint back from a safetensors copy apply made,
      every dropped tensor rebuilt bit for bit.
  layers PATH... [--checkpoint CKPT] [--filter-threshold T] [--json]
      How alike the layers are: for tensors of one role in repeated blocks,
      the relative L2 distance and centred cosine of every pair, and near-
      identical Conv filters and embedding rows (lossy advice). --checkpoint:
      the checkpoint an ONNX export came from names its anonymous tensors.
  tie MODEL --layers 1,2,3 --to 0|mean [--roles REGEX] [--checkpoint CKPT] [-o OUT] [--force] [--json]
      Write the variant whose listed blocks share block 0's parameters (or
      their mean), each stored once. Lossy: measure it with check.
  check A [B] [--inputs DIR] [--tolerance T] [--json] [--batch N] [--sequence N] [--seed N]
        [--timeout SECONDS] [--max-memory BYTES] [--max-input BYTES]
      Run models with onnxruntime-web (WASM) and compare their outputs:
      A against B on the same inputs, or A alone against the expected
      outputs in DIR (default: a test_data_set_N folder beside A). Each run
      is stopped past --timeout (120 s) or --max-memory (4 GB); synthesised
      inputs over --max-input (1 GB) are refused before they are made.

Every command: --trust-links-into DIR lets files a model names be links into
DIR (a Hugging Face cache's blobs folder); otherwise a file that resolves
outside the model's folder is refused.

Exit codes: 0 ok, 1 threshold exceeded or check failed, 2 error.
`;

/**
 * Parses a non-negative byte count: a plain integer, or a number with a unit,
 * SI as the output prints them (`500k`, `1.5MB`, `2G`: powers of 1000) or
 * binary (`64KiB`, `1MiB`, `2GiB`: powers of 1024).
 */
export function parseBytes(option: string, value: string | undefined): number {
  if (value === undefined) throw new CliError(`${option} needs a value`);
  const m = /^(\d+(?:\.\d+)?)\s*(?:([kKmMgGtT])(i?)[bB]?|[bB])?$/.exec(value.trim());
  if (!m) throw new CliError(`${option}: '${value}' is not a byte count (e.g. 1024, 500kB, 1.5MB, 64KiB)`);
  const power = m[2] ? 'kmgt'.indexOf(m[2].toLowerCase()) + 1 : 0;
  const base = m[3] ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** power);
}
