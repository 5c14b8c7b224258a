// llama.cpp itself, through node-llama-cpp (ESM, imported on demand): loads
// a GGUF file, evaluates tokens and returns, for every position, the
// probability llama.cpp gives each vocabulary token next. node-llama-cpp
// exposes probabilities rather than raw logits; equal probabilities bit for
// bit mean equal logits through the same softmax. CPU, one thread (the
// default thread count crawls on two busy cores).
import type { Llama, Token } from 'node-llama-cpp' with { 'resolution-mode': 'import' };

export interface LlamaSession {
  llama: Llama;
  /** llama.cpp's log lines since the session began (what it said about each model it loaded). */
  log: string[];
}

let session: Promise<LlamaSession> | undefined;

/** One llama.cpp instance for the process, or the reason it cannot load here. */
export function llamaSession(): Promise<LlamaSession> {
  session ??= (async () => {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    const log: string[] = [];
    const llama = await getLlama({
      gpu: false, build: 'never', logLevel: LlamaLogLevel.debug,
      logger: (_level, message) => { log.push(message); },
    });
    return { llama, log };
  })();
  return session;
}

export interface Evaluation {
  /** Per evaluated position: the probability of each token (index = token id), as llama.cpp computed it. */
  probabilities: Float64Array[];
  /** The log lines llama.cpp printed while loading this file. */
  log: string[];
}

export async function evaluate(file: string, tokens: number[]): Promise<Evaluation> {
  const { llama, log } = await llamaSession();
  const from = log.length;
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0, useMmap: false });
  try {
    const context = await model.createContext({ contextSize: 64, threads: 1, batchSize: 64, sequences: 1 });
    try {
      const sequence = context.getSequence();
      const out = await sequence.controlledEvaluate(tokens.map((t) => [t as Token, { generateNext: { probabilities: true, options: { temperature: 0 } } }]));
      const probabilities = out.map((o, i) => {
        const map = o?.next.probabilities;
        if (!map) throw new Error(`${file}: no probabilities at position ${i}`);
        // Sized by the largest token id present: two runs whose maps hold different tokens give different rows.
        const row = new Float64Array(Math.max(-1, ...map.keys()) + 1);
        for (const [tok, p] of map) row[tok] = p;
        return row;
      });
      return { probabilities, log: log.slice(from) };
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}
