// Which architectures' llama.cpp loaders re-create `output.weight` from
// `token_embd.weight` when a file does not store it. Taken from llama.cpp
// (the copy bundled with node-llama-cpp 3.21.1): src/models/<arch>.cpp,
// where load_arch_tensors creates the output tensor with TENSOR_NOT_REQUIRED
// and, `if (output == NULL)`, creates it again from LLM_TENSOR_TOKEN_EMBD with
// TENSOR_DUPLICATED; the class-to-architecture map is llama-model.cpp's
// switch, the names are llama-arch.cpp's LLM_ARCH_NAMES. Architectures not
// listed either always store the output tensor or always share it in code.
export const OUTPUT_FALLS_BACK_TO_TOKEN_EMBD: ReadonlySet<string> = new Set([
  'afmoe', 'arcee', 'arctic', 'bailingmoe3', 'bloom', 'chameleon', 'chatglm', 'cogvlm', 'cohere2moe', 'deci', 'dream',
  'ernie4_5', 'exaone', 'exaone4', 'falcon-h1', 'gemma-embedding', 'gemma3', 'gemma3n', 'gemma4', 'glm4', 'glm4moe', 'gpt2',
  'granite', 'granite_swa', 'granitehybrid', 'granitemoe', 'graniteswitch', 'grok', 'grovemoe', 'hunyuan-moe', 'hunyuan_vl',
  'hy_v3', 'jamba', 'lfm2', 'lfm2moe', 'llada', 'llama', 'llama4', 'maincoder', 'mamba', 'mamba2', 'minicpm', 'minicpm3',
  'minimax-01', 'mistral3', 'nanbeige', 'nemotron_h', 'olmo', 'pangu-embedded', 'phi3', 'plamo2', 'plamo3', 'qwen2',
  'qwen2vl', 'qwen3', 'qwen35', 'qwen35moe', 'qwen3moe', 'qwen3next', 'qwen3vl', 'qwen3vlmoe', 'qwen4exp', 'refact', 'rnd1',
  'seed_oss', 'smallthinker', 'smollm3', 'starcoder2', 't5', 't5encoder',
]);

export const TOKEN_EMBD = 'token_embd.weight';
export const OUTPUT = 'output.weight';

/** llama_ftype (include/llama.h): what general.file_type says the file mostly holds. */
export const FILE_TYPES: Readonly<Record<number, string>> = {
  0: 'all F32', 1: 'mostly F16', 2: 'mostly Q4_0', 3: 'mostly Q4_1', 7: 'mostly Q8_0', 8: 'mostly Q5_0', 9: 'mostly Q5_1',
  10: 'mostly Q2_K', 11: 'mostly Q3_K - Small', 12: 'mostly Q3_K - Medium', 13: 'mostly Q3_K - Large', 14: 'mostly Q4_K - Small',
  15: 'mostly Q4_K - Medium', 16: 'mostly Q5_K - Small', 17: 'mostly Q5_K - Medium', 18: 'mostly Q6_K', 19: 'mostly IQ2_XXS',
  20: 'mostly IQ2_XS', 21: 'mostly Q2_K - Small', 22: 'mostly IQ3_XS', 23: 'mostly IQ3_XXS', 24: 'mostly IQ1_S', 25: 'mostly IQ4_NL',
  26: 'mostly IQ3_S', 27: 'mostly IQ3_M', 28: 'mostly IQ2_S', 29: 'mostly IQ2_M', 30: 'mostly IQ4_XS', 31: 'mostly IQ1_M',
  32: 'mostly BF16', 36: 'mostly TQ1_0', 37: 'mostly TQ2_0', 38: 'MXFP4 MoE', 39: 'mostly NVFP4', 40: 'mostly Q1_0', 41: 'mostly Q2_0',
};
