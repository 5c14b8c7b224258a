// Atomic file writes: every output is written to a temp file beside its
// target, fsynced, then renamed over the target, so a reader never sees a
// half-written model and a failure or cancellation leaves nothing behind.
// Content arrives as pieces: small buffers, byte ranges of existing files, or
// generated sources. Ranges and sources stream through one bounded, reused
// buffer: a 500 MB model is never held in memory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ByteRange } from '../model/types';

/** Bytes produced on demand, in order, into the writer's buffer (benchmarks, synthetic data). */
export interface PieceSource {
  readonly length: number;
  /** Fills `dst` with the bytes at [position, position + dst.length) of this source. */
  fill(position: number, dst: Uint8Array): void;
}

/** One run of output bytes. */
export type Piece = Uint8Array | ByteRange | PieceSource;

export function pieceLength(piece: Piece): number {
  return piece instanceof Uint8Array ? piece.length : piece.length;
}

export function isByteRange(piece: Piece): piece is ByteRange {
  return !(piece instanceof Uint8Array) && 'file' in piece;
}

/** A write refused or failed; `target` is the file that was to be written. */
export class AtomicWriteError extends Error {
  constructor(readonly target: string, readonly problem: string, options?: { cause?: unknown }) {
    super(`${target}: ${problem}`, options);
    this.name = 'AtomicWriteError';
  }
}

export interface OutputFile {
  target: string;
  pieces: Iterable<Piece>;
}

export interface AtomicWriteOptions {
  /**
   * Files the content is read from (the model and its external data). No
   * target may resolve to one of them: overwriting an input while streaming
   * from it would destroy it.
   */
  inputs?: string[];
  signal?: AbortSignal;
  /** Size of the one copy buffer, used as two halves (default 16 MiB). */
  bufferSize?: number;
  /** Called after each chunk with the bytes written so far and the total. */
  onProgress?: (written: number, total: number) => void;
  /** false: refuse targets that exist, before writing anything (default: replace them, atomically). */
  overwrite?: boolean;
  /**
   * Called once per file when it is in place, with its identity (device and
   * inode) as written: a later check can tell whether the path still holds
   * this file, not one another process wrote there since.
   */
  onCommitted?: (target: string, identity: string) => void;
}

/**
 * Where a write can fail: before each file's temp is opened, after its bytes
 * are written, before it is flushed, before an existing target is moved
 * aside, before each rename into place, and after the last one. Tests set
 * `faults.at` to throw at each point in turn (fault injection); unset in use.
 */
export type FaultPoint = 'open' | 'write' | 'sync' | 'aside' | 'rename' | 'committed';
export const faults: { at?: (point: FaultPoint, target: string) => void } = {};

/** Temp files being written by this process, so a signal handler can remove them (removeTempFilesSync). */
const pendingTemps = new Set<string>();

/**
 * Removes every temp file this process is still writing; for SIGINT/SIGTERM
 * handlers (the CLI's), which must not leave hidden partial files behind.
 */
export function removeTempFilesSync(): void {
  for (const t of pendingTemps) {
    try { fs.rmSync(t, { recursive: true, force: true }); } catch { /* best effort on the way out */ }
  }
  pendingTemps.clear();
}

/** Identity of a file: the same device and inode means the same file, whatever its path. */
export function fileIdentity(st: fs.Stats): string {
  return `${st.dev}:${st.ino}`;
}

export const DEFAULT_COPY_BUFFER = 16 * 1024 * 1024;

/** Writes one file atomically; see `atomicWriteFiles`. Returns the bytes written. */
export async function atomicWrite(target: string, pieces: Iterable<Piece>, options: AtomicWriteOptions = {}): Promise<number> {
  const [n] = await atomicWriteFiles([{ target, pieces }], options);
  return n ?? 0;
}

/**
 * Writes several files (a model and its external data file) each through a
 * temp file; only when all are complete and fsynced are they renamed into
 * place, in order (so list a data file before the model that refers to it).
 * All or nothing: on any failure or abort every temp file is removed, and
 * when a later rename fails the earlier ones are undone (the files they
 * replaced put back), so no target is left half-committed.
 * Returns the byte count written to each target.
 */
export async function atomicWriteFiles(outputs: OutputFile[], options: AtomicWriteOptions = {}): Promise<number[]> {
  const targets = outputs.map((o) => path.resolve(o.target));
  await refuseInputs(targets, options.inputs ?? []);
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t)) throw new AtomicWriteError(t, 'the same output file is listed twice');
    seen.add(t);
  }

  for (const t of targets) {
    let st: fs.Stats | undefined;
    try { st = fs.lstatSync(t); } catch { continue; }
    // Only a file is ever replaced: a folder or a link at the target stays as it is.
    if (!st.isFile()) throw new AtomicWriteError(t, `${st.isDirectory() ? 'is a folder' : st.isSymbolicLink() ? 'is a link' : 'is not a regular file'}: choose another output name`);
    if (options.overwrite === false) throw new AtomicWriteError(t, 'already exists: choose another output, or allow replacing it (the CLI\'s --force)');
  }
  const pieceLists = outputs.map((o) => [...o.pieces]);
  const total = pieceLists.reduce((s, ps) => s + ps.reduce((a, p) => a + pieceLength(p), 0), 0);
  const buffer = Buffer.allocUnsafe(Math.max(64 * 1024, options.bufferSize ?? DEFAULT_COPY_BUFFER));
  const temps: string[] = [];
  const ids: string[] = [];
  const written: number[] = [];
  const progress = { done: 0, total, report: options.onProgress };
  try {
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      const temp = tempNameFor(target);
      pendingTemps.add(temp);
      faults.at?.('open', target);
      const handle = await openTemp(target, temp);
      temps.push(temp);
      try {
        written.push(await writePieces(target, handle, pieceLists[i]!, buffer, options.signal, progress));
        faults.at?.('write', target);
        faults.at?.('sync', target);
        await handle.sync().catch((err: unknown) => { throw new AtomicWriteError(target, `could not flush to disk: ${describe(err)}`, { cause: err }); });
        ids.push(fileIdentity(await handle.stat()));
      } finally {
        await handle.close();
      }
    }
    checkAbort(targets[targets.length - 1] ?? '', options.signal);
    await commit(targets, temps);
    for (let i = 0; i < targets.length; i++) options.onCommitted?.(targets[i]!, ids[i]!);
    faults.at?.('committed', targets[targets.length - 1] ?? '');
    await syncFolders(targets);
    return written;
  } catch (err) {
    await Promise.all(temps.filter((t) => t !== '').map((t) => fs.promises.rm(t, { force: true })));
    for (const t of temps) pendingTemps.delete(t);
    if (err instanceof AtomicWriteError) throw err;
    // A piece source failed: still name the file and say nothing was left.
    const target = targets[Math.max(0, temps.length - 1)] ?? '';
    throw new AtomicWriteError(target, `write abandoned, nothing was left behind: ${describe(err)}`, { cause: err });
  }
}

/**
 * Writes a new folder atomically: its files go into a hidden temp folder
 * beside `target`, which is renamed to `target` only when every file is
 * complete and fsynced. `files` name their targets relative to the folder.
 * An existing `target` is refused (never merged into or replaced).
 */
export async function atomicWriteFolder(target: string, files: OutputFile[], options: AtomicWriteOptions = {}): Promise<number[]> {
  const dir = path.resolve(target);
  await refuseInputs([dir], options.inputs ?? []);
  if (fs.existsSync(dir)) throw new AtomicWriteError(dir, 'already exists: choose another output folder, or remove it first');
  for (const f of files) {
    if (f.target !== path.basename(f.target) || f.target === '' || f.target === '.' || f.target === '..') {
      throw new AtomicWriteError(dir, `internal: '${f.target}' is not a file name inside the folder`);
    }
  }
  const parent = path.dirname(dir);
  // mkdir, not mkdtemp: the folder gets the permissions a new folder gets (mkdtemp's are 0700).
  const temp = tempNameFor(dir);
  try {
    await fs.promises.mkdir(temp);
    pendingTemps.add(temp);
  } catch (err) {
    throw new AtomicWriteError(dir, `cannot write in ${parent}: ${describe(err)}`, { cause: err });
  }
  try {
    const written = await atomicWriteFiles(files.map((f) => ({ target: path.join(temp, f.target), pieces: f.pieces })), { ...options, onCommitted: undefined });
    checkAbort(dir, options.signal);
    // The folder keeps its inode through the rename: its identity as written.
    const identity = fileIdentity(await fs.promises.stat(temp));
    try {
      await fs.promises.rename(temp, dir);
    } catch (err) {
      throw new AtomicWriteError(dir, `could not move the finished folder into place: ${describe(err)}`, { cause: err });
    }
    pendingTemps.delete(temp);
    options.onCommitted?.(dir, identity);
    await syncFolders([dir]);
    return written;
  } catch (err) {
    await fs.promises.rm(temp, { recursive: true, force: true });
    pendingTemps.delete(temp);
    if (err instanceof AtomicWriteError && err.target.startsWith(temp)) {
      // Name the file as the user will know it, not by its temp folder.
      throw new AtomicWriteError(path.join(dir, path.relative(temp, err.target)), err.problem, { cause: err });
    }
    throw err;
  }
}

/**
 * Renames every temp file over its target, in order. A target that exists is
 * first moved aside, so that if a later rename fails the earlier ones can be
 * undone and the moved-aside files put back. `temps[i]` becomes '' once its
 * file is committed.
 */
async function commit(targets: string[], temps: string[]): Promise<void> {
  const asides: Array<string | undefined> = [];
  let done = 0;
  try {
    for (; done < targets.length; done++) {
      const target = targets[done]!;
      let aside: string | undefined;
      if (fs.existsSync(target)) {
        aside = tempNameFor(target, 'old');
        try {
          faults.at?.('aside', target);
          await fs.promises.rename(target, aside);
        } catch (err) {
          throw new AtomicWriteError(target, `could not replace the existing file: ${describe(err)}`, { cause: err });
        }
        pendingTemps.add(aside);
      }
      asides.push(aside);
      try {
        faults.at?.('rename', target);
        await fs.promises.rename(temps[done]!, target);
      } catch (err) {
        throw new AtomicWriteError(target, `could not move the finished file into place: ${describe(err)}; nothing was changed`, { cause: err });
      }
      pendingTemps.delete(temps[done]!);
      temps[done] = '';
    }
  } catch (err) {
    // Undo, newest first: each committed target goes back to what it was.
    for (let i = Math.min(done, targets.length - 1); i >= 0; i--) {
      const target = targets[i]!;
      const aside = asides[i];
      if (i < done) await fs.promises.rm(target, { force: true }).catch(() => undefined);
      if (aside) await fs.promises.rename(aside, target).catch(() => undefined);
      if (aside) pendingTemps.delete(aside);
    }
    throw err;
  }
  for (const aside of asides) {
    if (aside) { await fs.promises.rm(aside, { force: true }); pendingTemps.delete(aside); }
  }
}

async function refuseInputs(targets: string[], inputs: string[]): Promise<void> {
  const inputReal = new Map<string, string>();
  const inputIds = new Map<string, string>();
  for (const input of inputs) {
    inputReal.set(await realOrResolved(input), input);
    const id = await fileId(input);
    if (id) inputIds.set(id, input);
  }
  for (const target of targets) {
    // Same real path (symlinks resolved) or same inode (hard links).
    const id = await fileId(target);
    const input = inputReal.get(await realOrResolved(target)) ?? (id ? inputIds.get(id) : undefined);
    if (input !== undefined) {
      throw new AtomicWriteError(target, `refusing to write over the input file ${input}: choose another output path`);
    }
  }
}

async function fileId(file: string): Promise<string | undefined> {
  try {
    const st = await fs.promises.stat(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** The real path of a file, or of its folder joined with its name when the file does not exist yet. */
async function realOrResolved(file: string): Promise<string> {
  const abs = path.resolve(file);
  try {
    return await fs.promises.realpath(abs);
  } catch {
    try {
      return path.join(await fs.promises.realpath(path.dirname(abs)), path.basename(abs));
    } catch {
      return abs;
    }
  }
}

/** Longest file name (bytes) most filesystems take. */
const NAME_MAX = 255;

function tempNameFor(target: string, kind = 'tmp'): string {
  // Beside the target so the rename stays on one filesystem; hidden, and
  // unique per process and call so concurrent writes never collide. A long
  // target name is shortened so the temp name still fits NAME_MAX.
  const tail = `.${process.pid}.${randomBytes(6).toString('hex')}.${kind}`;
  let base = path.basename(target);
  while (Buffer.byteLength(`.${base}${tail}`) > NAME_MAX) base = base.slice(0, -1);
  return path.join(path.dirname(target), `.${base}${tail}`);
}

async function openTemp(target: string, temp: string): Promise<fs.promises.FileHandle> {
  const folder = path.dirname(target);
  try {
    const st = await fs.promises.stat(folder);
    if (!st.isDirectory()) throw new AtomicWriteError(target, `cannot write here: ${folder} is not a folder`);
  } catch (err) {
    if (err instanceof AtomicWriteError) throw err;
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new AtomicWriteError(target, missing ? `cannot write here: the folder ${folder} does not exist` : `cannot write in ${folder}: ${describe(err)}`, { cause: err });
  }
  try {
    return await fs.promises.open(temp, 'wx', 0o644);
  } catch (err) {
    throw new AtomicWriteError(target, `cannot write in ${folder}: ${describe(err)}`, { cause: err });
  }
}

interface Progress { done: number; total: number; report: ((written: number, total: number) => void) | undefined }

/** The source window small ranges are read through, and what counts as small. */
const READ_AHEAD_BYTES = 64 * 1024;
const SMALL_RANGE_BYTES = 4 * 1024;

/** Reads `length` bytes at `position` into `buf` from `at`, or fewer where the file ends; how many it read. */
async function readUpTo(handle: fs.promises.FileHandle, buf: Uint8Array, at: number, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(buf, at + got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

async function writePieces(
  target: string, handle: fs.promises.FileHandle, pieces: Piece[], buffer: Buffer,
  signal: AbortSignal | undefined, progress: Progress,
): Promise<number> {
  // Two halves of the one buffer: the next chunk is read (or generated)
  // into one while the other is being written, so reads and writes overlap.
  const half = Math.floor(buffer.length / 2);
  const halves = [buffer.subarray(0, half), buffer.subarray(half, 2 * half)] as const;
  let turn = 0;
  let position = 0;
  let inflight: Promise<void> = Promise.resolve();
  let sourceFd: { file: string; handle: fs.promises.FileHandle } | undefined;

  const writeAt = async (bytes: Uint8Array, at: number): Promise<void> => {
    let off = 0;
    while (off < bytes.length) {
      let n: number;
      try {
        ({ bytesWritten: n } = await handle.write(bytes, off, bytes.length - off, at + off));
      } catch (err) {
        throw new AtomicWriteError(target, `write failed at byte ${at + off}: ${describe(err)}`, { cause: err });
      }
      off += n;
    }
    progress.done += bytes.length;
    progress.report?.(progress.done, progress.total);
  };
  /** Queues a write after the one in flight; the caller must not touch `bytes` until the next queue() returns. */
  const queue = async (bytes: Uint8Array): Promise<void> => {
    await inflight;
    inflight = writeAt(bytes, position);
    inflight.catch(() => undefined); // surfaced by the next await
    position += bytes.length;
  };
  const nextHalf = (): Buffer => halves[turn++ % 2]!;
  // Small pieces (a TensorProto header, a name) are gathered into the
  // current half and written together: one write per half, not per piece.
  let cur = nextHalf();
  let used = 0;
  const flushCur = async (): Promise<void> => {
    if (used === 0) return;
    await queue(cur.subarray(0, used));
    cur = nextHalf();
    used = 0;
  };

  const sourceEnded = (piece: ByteRange, at: number) =>
    new AtomicWriteError(target, `source ${piece.file} ended at byte ${at}, before the ${piece.length} bytes at ${piece.offset} it should hold`);

  const append = async (bytes: Uint8Array): Promise<void> => {
    for (let done = 0; done < bytes.length;) {
      if (used === cur.length) await flushCur();
      const n = Math.min(cur.length - used, bytes.length - done);
      cur.set(bytes.subarray(done, done + n), used);
      used += n;
      done += n;
    }
  };
  // Small ranges (a rewrite keeps each untouched field of a node as a range
  // of its own) are served from one read-ahead window of the source: a read
  // each cost a 100,000-node model 8 s of waiting on the thread pool.
  const ahead = { file: '', start: 0, length: 0, bytes: Buffer.allocUnsafe(READ_AHEAD_BYTES) };

  try {
    for (const piece of pieces) {
      checkAbort(target, signal);
      if (piece instanceof Uint8Array) {
        await append(piece);
      } else if (isByteRange(piece)) {
        if (sourceFd?.file !== piece.file) {
          await sourceFd?.handle.close();
          sourceFd = undefined;
          try {
            sourceFd = { file: piece.file, handle: await fs.promises.open(piece.file, 'r') };
          } catch (err) {
            throw new AtomicWriteError(target, `cannot read source ${piece.file}: ${describe(err)}`, { cause: err });
          }
        }
        const src = sourceFd;
        if (piece.length <= SMALL_RANGE_BYTES) {
          if (ahead.file !== piece.file || piece.offset < ahead.start || piece.offset + piece.length > ahead.start + ahead.length) {
            const got = await readUpTo(src.handle, ahead.bytes, 0, ahead.bytes.length, piece.offset);
            if (got < piece.length) throw sourceEnded(piece, piece.offset + got);
            Object.assign(ahead, { file: piece.file, start: piece.offset, length: got });
          }
          await append(ahead.bytes.subarray(piece.offset - ahead.start, piece.offset - ahead.start + piece.length));
          continue;
        }
        for (let done = 0; done < piece.length;) {
          checkAbort(target, signal);
          if (used === cur.length) await flushCur();
          const want = Math.min(cur.length - used, piece.length - done);
          const got = await readUpTo(src.handle, cur, used, want, piece.offset + done);
          if (got < want) throw sourceEnded(piece, piece.offset + done + got);
          used += want;
          done += want;
        }
      } else {
        // Generated bytes are asked for in whole halves (their sources need aligned chunks).
        await flushCur();
        for (let done = 0; done < piece.length;) {
          checkAbort(target, signal);
          const want = Math.min(cur.length, piece.length - done);
          piece.fill(done, cur.subarray(0, want));
          used = want;
          await flushCur();
          done += want;
        }
      }
    }
    await flushCur();
    await inflight;
  } finally {
    // Never close the file under a write still in flight.
    await inflight.catch(() => undefined);
    await sourceFd?.handle.close();
  }
  return position;
}

function checkAbort(target: string, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AtomicWriteError(target, 'cancelled; nothing was written');
}

async function syncFolders(targets: string[]): Promise<void> {
  // Makes the renames themselves durable. Best effort: some filesystems
  // refuse fsync on a directory, and the data is already safe.
  for (const folder of new Set(targets.map((t) => path.dirname(t)))) {
    try {
      const h = await fs.promises.open(folder, 'r');
      try { await h.sync(); } finally { await h.close(); }
    } catch { /* see above */ }
  }
}

function describe(err: unknown): string {
  if (err instanceof AtomicWriteError) return err.problem;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string') {
    const why: Record<string, string> = {
      ENOSPC: 'the disk is full',
      EFBIG: 'the file is larger than this system allows',
      EDQUOT: 'the disk quota is exhausted',
      EACCES: 'permission denied',
      EPERM: 'permission denied',
      EROFS: 'the filesystem is read-only',
      ENOENT: 'no such file or folder',
      ENOTDIR: 'a part of the path is not a folder',
      EIO: 'an input/output error occurred',
    };
    return `${why[e.code] ?? e.message} (${e.code})`;
  }
  return err instanceof Error ? err.message : String(err);
}
