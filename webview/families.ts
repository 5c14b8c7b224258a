// Operator families: the colour key of the graph. Kept coarse on purpose so
// the legend stays short and group colours (saturated) stand out against
// family colours (muted).

export type Family =
  | 'matmul' | 'normalization' | 'activation' | 'elementwise'
  | 'shape' | 'control' | 'quantization' | 'other';

export const FAMILIES: ReadonlyArray<{ family: Family; label: string; hue: number }> = [
  { family: 'matmul', label: 'MatMul / Gemm / Conv', hue: 212 },
  { family: 'normalization', label: 'Normalization', hue: 160 },
  { family: 'activation', label: 'Activation', hue: 28 },
  { family: 'elementwise', label: 'Elementwise / reduce', hue: 265 },
  { family: 'shape', label: 'Shape / gather', hue: 195 },
  { family: 'control', label: 'Control flow', hue: 330 },
  { family: 'quantization', label: 'Quantization', hue: 95 },
  { family: 'other', label: 'Other', hue: 45 },
];

const BY_OP = new Map<string, Family>();
function add(family: Family, ops: string): void {
  for (const op of ops.split(/\s+/)) if (op) BY_OP.set(op, family);
}
add('matmul', `MatMul Gemm Conv ConvTranspose ConvInteger MatMulInteger QLinearMatMul QLinearConv Einsum
  FusedMatMul MatMulNBits DynamicQuantizeMatMul Attention MultiHeadAttention GroupQueryAttention QAttention`);
add('normalization', `BatchNormalization LayerNormalization InstanceNormalization GroupNormalization LpNormalization
  MeanVarianceNormalization LRN SimplifiedLayerNormalization SkipLayerNormalization SkipSimplifiedLayerNormalization
  RMSNormalization EmbedLayerNormalization`);
add('activation', `Relu Gelu FastGelu BiasGelu QuickGelu Sigmoid HardSigmoid Tanh Softmax LogSoftmax LeakyRelu Elu Selu
  Celu HardSwish Softplus Softsign Mish PRelu ThresholdedRelu Erf Swish`);
add('elementwise', `Add Sub Mul Div Pow Sqrt Exp Log Abs Neg Reciprocal Max Min Mean Sum Equal Less LessOrEqual Greater
  GreaterOrEqual And Or Xor Not Where Clip Floor Ceil Round Sign Mod IsNaN IsInf Sin Cos BitShift
  ReduceMean ReduceSum ReduceMax ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceSumSquare
  ArgMax ArgMin CumSum TopK MaxPool AveragePool GlobalAveragePool GlobalMaxPool LpPool Dropout`);
add('shape', `Reshape Transpose Flatten Squeeze Unsqueeze Concat Split Slice Gather GatherElements GatherND Shape Expand
  Tile Pad Cast CastLike Identity Size ConstantOfShape Range ScatterND ScatterElements Scatter Resize Upsample DepthToSpace
  SpaceToDepth Trilu OneHot NonZero Compress ReverseSequence`);
add('control', `If Loop Scan SequenceAt SequenceConstruct SequenceEmpty SequenceInsert SequenceLength SplitToSequence
  ConcatFromSequence`);
add('quantization', `QuantizeLinear DequantizeLinear DynamicQuantizeLinear`);

export function familyOf(opType: string): Family {
  return BY_OP.get(opType) ?? 'other';
}
