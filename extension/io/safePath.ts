// Where a model may make us read: files a model names (ONNX external data,
// shards of a checkpoint index) must be regular files inside the model's own
// folder once every symlink is resolved. A link inside the folder that points
// elsewhere (at /etc/passwd, /dev/zero, another user's files) is refused
// before anything opens it, unless the user trusts where it points (Hugging
// Face caches keep a snapshot folder of links into a blobs folder: trusting
// that blobs folder, explicitly, is the documented way).
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface PathTrust {
  /** Folders (any depth) that links may point into besides the model's own folder. */
  trustedRoots?: readonly string[];
}

export type Placement = { ok: true; real: string; size: number } | { ok: false; problem: string };

function inside(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

function realOr(p: string): string {
  try { return fs.realpathSync(p); } catch { return path.resolve(p); }
}

/**
 * Checks `file` (a path under `root`, as the model names it) before it is
 * opened: it exists, resolves (links followed) inside `root` or a trusted
 * root, and is a regular file. Never opens it, so a FIFO cannot block.
 */
export function placeInside(file: string, root: string, trust: PathTrust = {}): Placement {
  const abs = path.resolve(file);
  if (!inside(abs, path.resolve(root))) return { ok: false, problem: `'${file}' is outside the model's folder` };
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    return { ok: false, problem: 'not found' };
  }
  const roots = [realOr(root), ...(trust.trustedRoots ?? []).map(realOr)];
  if (!roots.some((r) => inside(real, r))) {
    return { ok: false, problem: `is a link to ${real}, outside the model's folder (trust that folder explicitly to read it: --trust-links-into DIR, or the setting weightSharing.trustedLinkRoots)` };
  }
  const st = fs.statSync(real);
  if (!st.isFile()) return { ok: false, problem: `is not a regular file (${st.isFIFO() ? 'a pipe' : st.isDirectory() ? 'a folder' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'a special file'})` };
  return { ok: true, real, size: st.size };
}
