// Turns onnxruntime's rejection messages into a hint when the cause is known.
// Browser-safe: the webview shows the same hints as the CLI.
import type { OpsetImport } from '../model/types';
import { getOwn } from '../util/ownKeys';

/** Anything that names its opsets: an operator graph, or the webview's payload. */
export interface OpsetSource {
  opsets: readonly OpsetImport[];
}

/**
 * Attributes whose availability depends on the opset: where exporters most
 * often write an attribute the declared opset does not have (or no longer
 * has). `added`: first opset with it; `removed`: first opset without it.
 */
const ATTRIBUTE_OPSETS: Record<string, Record<string, { added?: number; removed?: number }>> = {
  Split: { num_outputs: { added: 18 }, split: { removed: 13 } },
  Resize: { antialias: { added: 18 }, axes: { added: 18 }, keep_aspect_ratio_policy: { added: 18 } },
  Squeeze: { axes: { removed: 13 } },
  Unsqueeze: { axes: { removed: 13 } },
  ReduceSum: { axes: { removed: 13 } },
  ReduceMean: { axes: { removed: 18 } },
  ReduceMax: { axes: { removed: 18 } },
  ReduceMin: { axes: { removed: 18 } },
  ReduceProd: { axes: { removed: 18 } },
  ReduceL1: { axes: { removed: 18 } },
  ReduceL2: { axes: { removed: 18 } },
  ReduceLogSum: { axes: { removed: 18 } },
  ReduceLogSumExp: { axes: { removed: 18 } },
  ReduceSumSquare: { axes: { removed: 18 } },
  LayerNormalization: { stash_type: { added: 17 } },
  Gelu: { approximate: { added: 20 } },
  Pad: { pads: { removed: 11 }, value: { removed: 11 } },
  Clip: { min: { removed: 11 }, max: { removed: 11 } },
};

function defaultOpset(model?: OpsetSource): number | undefined {
  return model?.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version;
}

/** A hint for an onnxruntime error message, or undefined when the cause is not one we know. */
export function hintForRuntimeError(reason: string, model?: OpsetSource): string | undefined {
  const opset = defaultOpset(model);
  const atOpset = opset === undefined ? "at the model's declared opset" : `at opset ${opset} (the model's declared opset)`;
  const attr = /Unrecognized attribute: (\S+) for operator (\S+)/.exec(reason);
  if (attr) {
    const [, name, op] = attr;
    const ops = getOwn(ATTRIBUTE_OPSETS, op);
    const known = ops && getOwn(ops, name);
    let when = '';
    if (known?.added !== undefined) when = ` it exists from opset ${known.added} on;`;
    else if (known?.removed !== undefined) when = ` it was removed in opset ${known.removed};`;
    const fix = known?.added !== undefined
      ? `re-export with opset ${known.added} or later, or write the attribute as the declared opset expects`
      : 're-export with an opset that matches the attributes the exporter writes';
    return `${op} has no attribute '${name}' ${atOpset};${when} the exporter wrote an attribute the declared opset does not have: ${fix}`;
  }
  const noKernel = /Could not find an implementation for (\S+)\((\d+)\) node/.exec(reason);
  if (noKernel) return `onnxruntime-web has no kernel for ${noKernel[1]} version ${noKernel[2]} on the WASM backend (an operator or type it does not support)`;
  const unregistered = /(?:Fatal error: )?(\S+?):(\w+)\((-?\d+)\) is not a registered function\/op/.exec(reason);
  if (unregistered) return `operator ${unregistered[2]} of domain '${unregistered[1]}' is not available in onnxruntime-web (training or custom domains are not part of the web build)`;
  // onnxruntime checks fed shapes against the declared ones (InferenceSession::ValidateInputs).
  const dims = /invalid dimensions for input: (.+?) for the following indices\s+((?:index: \d+ Got: \d+ Expected: \d+\s*)+)/.exec(reason);
  if (dims) {
    const wrong = [...dims[2]!.matchAll(/index: (\d+) Got: (\d+) Expected: (\d+)/g)].map((m) => `dimension ${m[1]} must be ${m[3]} (got ${m[2]})`);
    return `input '${dims[1]}': ${wrong.join(', ')}; the model declares that size, so give that input data of that shape`;
  }
  const rank = /Invalid rank for input: (.+?) Got: (\d+) Expected: (\d+)/.exec(reason);
  if (rank) return `input '${rank[1]}' must have ${rank[3]} dimensions (got ${rank[2]}); give that input data of the declared rank`;
  if (/Failed to load external data file/.test(reason)) return "the model keeps weights in an external data file that was not found beside it";
  if (/Opset \d+ is under development|is not supported.*opset|Unsupported model IR version/i.test(reason)) {
    return 'the model uses an opset or IR version newer than this onnxruntime-web supports';
  }
  return undefined;
}
