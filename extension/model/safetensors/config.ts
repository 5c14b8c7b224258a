// What a Hugging Face `config.json` says about tied embeddings, so the scan
// can report the output embedding a loader re-creates instead of reading it
// (save_pretrained drops `lm_head.weight` when the config ties it).
//
// transformers: `tie_word_embeddings` (PretrainedConfig, default true) ties
// the output embedding to the input one when the model has an LM head; some
// architectures change the default (Llama, Mistral, Qwen2, GPT-NeoX, Phi,
// OLMo: false). Multimodal configs keep it under `text_config`.
import * as fs from 'node:fs';
import { getOwn } from '../../util/ownKeys';

/** Model types whose config class defaults `tie_word_embeddings` to false. */
const UNTIED_BY_DEFAULT = new Set([
  'llama', 'mistral', 'mixtral', 'qwen2', 'qwen2_moe', 'qwen3', 'qwen3_moe', 'phi', 'phi3', 'gpt_neox', 'olmo', 'olmo2',
]);

/** Architectures with an output embedding (an LM head). */
const LM_HEAD = /(LMHeadModel|ForCausalLM|ForMaskedLM|ForConditionalGeneration|ForSeq2SeqLM|WithLMHead)$/;

/** Where a model type keeps its output embedding, when not `lm_head.weight`. */
const OUTPUT_NAMES: Record<string, string> = {
  bert: 'cls.predictions.decoder.weight',
  roberta: 'lm_head.decoder.weight',
  'xlm-roberta': 'lm_head.decoder.weight',
  camembert: 'lm_head.decoder.weight',
  distilbert: 'vocab_projector.weight',
  gpt_neox: 'embed_out.weight',
};

/** Input embeddings, by the last parts of their names. */
const INPUT_SUFFIXES = ['embed_tokens.weight', 'wte.weight', 'word_embeddings.weight', 'embed_in.weight', 'tok_embeddings.weight', 'shared.weight'];

const CONFIG_CAP = 16 << 20;

export interface HfConfig {
  modelType?: string;
  architectures: string[];
  /** The value in the file, or undefined when it does not say. */
  tieWordEmbeddings?: boolean;
}

/** Reads config.json; undefined (with the reason in `warnings`) when it is missing a usable object. */
export function readHfConfig(file: string, warnings: string[]): HfConfig | undefined {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return undefined;
    if (st.size > CONFIG_CAP) {
      warnings.push(`${file}: config.json is ${st.size} bytes, over ${CONFIG_CAP}: not read`);
      return undefined;
    }
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    warnings.push(`${file}: config.json is not valid JSON (${(e as Error).message}): ties a loader makes are not reported`);
    return undefined;
  }
  if (!isObject(json)) return undefined;
  const text_config = isObject(json.text_config) ? json.text_config : undefined;
  const tie = typeof json.tie_word_embeddings === 'boolean' ? json.tie_word_embeddings
    : typeof text_config?.tie_word_embeddings === 'boolean' ? text_config.tie_word_embeddings : undefined;
  return {
    modelType: typeof json.model_type === 'string' ? json.model_type : undefined,
    architectures: Array.isArray(json.architectures) ? json.architectures.filter((a): a is string => typeof a === 'string') : [],
    tieWordEmbeddings: tie,
  };
}

/** Whether the loader ties the embeddings, and why (for the Model tab). */
export function tiesEmbeddings(config: HfConfig): { tied: boolean; why: string } {
  if (config.tieWordEmbeddings !== undefined) return { tied: config.tieWordEmbeddings, why: 'config.json' };
  const untied = config.modelType !== undefined && UNTIED_BY_DEFAULT.has(config.modelType);
  return { tied: !untied, why: `default for ${config.modelType ?? 'an unnamed model type'}` };
}

/**
 * The (input, output) embedding names a loader ties when the output one is
 * not stored; undefined when the config does not tie them, the model has no
 * LM head, or the names are not where the architecture keeps them.
 */
export function configTie(config: HfConfig, stored: ReadonlySet<string>): { input: string; output: string } | undefined {
  if (!tiesEmbeddings(config).tied || !config.architectures.some((a) => LM_HEAD.test(a))) return undefined;
  const output = getOwn(OUTPUT_NAMES, config.modelType ?? '') ?? 'lm_head.weight';
  if (stored.has(output)) return undefined;
  for (const suffix of INPUT_SUFFIXES) {
    const input = [...stored].find((n) => n === suffix || n.endsWith(`.${suffix}`));
    if (input) return { input, output };
  }
  return undefined;
}

/** Output embedding names: the tensor a loader can re-create, so the one to drop when both are stored. */
export function isOutputEmbedding(name: string): boolean {
  return name === 'lm_head.weight' || Object.values(OUTPUT_NAMES).includes(name);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
