// Corpus facts the check tests share: which ONNX models onnxruntime accepts
// (manifest entries without `ort_error`), where their test data sits.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CORPUS = join(__dirname, '../../fixtures/corpus');
export const BACKEND = join(__dirname, '../../fixtures/onnx-backend');

interface ManifestEntry {
  file: string;
  format: string;
  ort_error?: string;
  output_shapes?: number[][];
}

const manifest = JSON.parse(readFileSync(join(CORPUS, 'manifest.json'), 'utf8')) as ManifestEntry[];

export const onnxEntries = manifest.filter((e) => e.format === 'onnx');
export const acceptedModels = onnxEntries.filter((e) => !e.ort_error).map((e) => e.file);
export const rejectedModels = onnxEntries.filter((e) => e.ort_error).map((e) => ({ file: e.file, ortError: e.ort_error! }));

export function modelPath(file: string): string {
  return join(CORPUS, file);
}

export function testDataDir(file: string): string {
  const dir = join(CORPUS, file.replace(/\.onnx$/, '.test_data_set_0'));
  if (!existsSync(dir)) throw new Error(`no test data for ${file} at ${dir}`);
  return dir;
}

export function outputShapes(file: string): number[][] | undefined {
  return onnxEntries.find((e) => e.file === file)?.output_shapes;
}
