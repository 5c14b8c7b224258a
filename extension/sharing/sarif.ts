// The scan as SARIF 2.1.0, for code-scanning dashboards in CI: one rule per
// kind of copy, one result per group Apply can carry out (the saving in its
// message), each member a location: the model file as the artifact (with
// the tensor record's byte range where the format gives it) and the tensor
// as a logical location. The group's id is its fingerprint, so a dashboard
// tracks one finding across runs.
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Sarif from 'sarif';
import type { TensorRef } from '../model/types';
import { formatBytes } from './bytes';
import { describeGroup } from './groupText';
import { APPLICABLE_KINDS, type SharingKind } from './kinds';
import type { ScanReport } from './types';

const RULE_TEXT: Record<Exclude<SharingKind, 'tied'>, { name: string; short: string; full: string }> = {
  exact: { name: 'ExactCopy', short: 'A weight is stored more than once', full: 'Two or more tensors hold the same bytes with the same dtype and shape; storing one and pointing every reader at it changes no output.' },
  transposed: { name: 'TransposedCopy', short: 'A weight is stored again transposed', full: 'A 2-D tensor is the transpose of another; keeping one and rebuilding the other (a Transpose node, or a Gemm flag) changes no output.' },
  cast: { name: 'CastCopy', short: 'A weight is stored again in another float type', full: 'A tensor is another converted to a narrower float type, exactly; keeping the wider one and inserting a Cast changes no output.' },
  reshaped: { name: 'ReshapedCopy', short: 'A weight is stored again under another shape', full: 'The same bytes are stored under two shapes; keeping one and inserting a Reshape changes no output.' },
  quantized: { name: 'QuantizedCopy', short: 'A quantized weight is stored more than once', full: 'Two (weight, scale, zero point) triplets are byte-identical; one triplet can serve both readers.' },
};

const RULE_KINDS = APPLICABLE_KINDS.filter((k): k is Exclude<SharingKind, 'tied'> => k !== 'tied');

export interface SarifOptions {
  /** The tool's version (the CLI's). */
  version: string;
  /** Paths inside this folder are written relative to it (the SRCROOT base); default: the working directory. */
  root?: string;
}

export function toSarif(report: ScanReport, options: SarifOptions): Sarif.Log {
  const root = path.resolve(options.root ?? process.cwd());
  const artifactIndex = new Map<string, number>();
  const artifacts: Sarif.Artifact[] = [];
  const artifactOf = (file: string): Sarif.ArtifactLocation => {
    const abs = path.resolve(file);
    let index = artifactIndex.get(abs);
    const location = uriOf(abs, root);
    if (index === undefined) {
      index = artifacts.length;
      artifactIndex.set(abs, index);
      const model = report.models.find((m) => path.resolve(m.path) === abs);
      artifacts.push({ location, ...(model ? { length: model.fileSize } : {}), mimeType: 'application/octet-stream' });
    }
    return { ...location, index };
  };

  const results: Sarif.Result[] = report.groups.filter((g) => g.applicable).map((g) => {
    const ruleIndex = RULE_KINDS.indexOf(g.kind as Exclude<SharingKind, 'tied'>);
    return {
      ruleId: ruleId(g.kind),
      ruleIndex,
      level: 'warning',
      message: { text: `${describeGroup(g)} (saves ${formatBytes(g.bytesSaved)}, ${g.bytesSaved} bytes)` },
      locations: g.members.map((m, i) => ({
        id: i,
        physicalLocation: { artifactLocation: artifactOf(m.path), ...region(m.tensor) },
        logicalLocations: [{ name: m.tensor.name, fullyQualifiedName: m.tensor.id, kind: 'member' }],
        message: { text: i === 0 ? 'kept' : 'stored again' },
      })),
      partialFingerprints: { 'weightSharingGroup/v1': g.id },
      properties: { kind: g.kind, bytesSaved: g.bytesSaved, groupId: g.id },
    };
  });

  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: {
        driver: {
          name: 'weight-sharing',
          fullName: 'Weight Sharing Inspector',
          version: options.version,
          rules: RULE_KINDS.map((k) => ({
            id: ruleId(k),
            name: RULE_TEXT[k].name,
            shortDescription: { text: RULE_TEXT[k].short },
            fullDescription: { text: RULE_TEXT[k].full },
            help: { text: 'Run `weight-sharing apply MODEL` to write a copy that stores each weight once (the input is never changed).' },
            defaultConfiguration: { level: 'warning' },
          })),
        },
      },
      originalUriBaseIds: { SRCROOT: { uri: pathToFileURL(root + path.sep).href } },
      artifacts,
      results,
      properties: { bytesSaved: report.bytesSaved, minBytes: report.minBytes, hiddenGroups: report.hiddenGroups },
    }],
  };
}

function ruleId(kind: SharingKind): string {
  return `weight-sharing/${kind}`;
}

/** Relative to SRCROOT when inside it (what dashboards map to the repository), else an absolute file URI. */
function uriOf(abs: string, root: string): Sarif.ArtifactLocation {
  const rel = path.relative(root, abs);
  if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) return { uri: rel.split(path.sep).map(encodeURIComponent).join('/'), uriBaseId: 'SRCROOT' };
  return { uri: pathToFileURL(abs).href };
}

/** The tensor's record in the file, as a byte region, where the format says where it is. */
function region(t: TensorRef): { region?: Sarif.Region } {
  return t.recordOffset === undefined ? {} : { region: { byteOffset: t.recordOffset } };
}
