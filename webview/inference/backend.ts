// Which execution provider the check runs on: WebGPU when the webview has a
// WebGPU adapter, else WASM, which is always there. Desktop VS Code on Linux
// often blocks WebGPU (Electron's GPU blocklist), and Chromium without a GPU
// offers only a software adapter (SwiftShader): the panel shows which ran.

export type BackendName = 'webgpu' | 'wasm';
export type BackendChoice = 'auto' | BackendName;

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  /** A software or otherwise limited adapter (SwiftShader is one). */
  isFallbackAdapter: boolean;
}

export interface GpuProbe {
  available: boolean;
  adapter?: AdapterInfo;
  /** Why WebGPU is not available, in words. */
  reason?: string;
}

// The DOM typings of this TypeScript have no WebGPU; declare the little we read.
interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}

let probe: Promise<GpuProbe> | undefined;

/** Asks for a WebGPU adapter once per page. */
export function probeWebGpu(): Promise<GpuProbe> {
  probe ??= (async (): Promise<GpuProbe> => {
    const gpu = (navigator as Navigator & { gpu?: GpuLike }).gpu;
    if (!gpu) return { available: false, reason: 'navigator.gpu is absent (WebGPU disabled or unsupported here)' };
    try {
      const adapter = await gpu.requestAdapter();
      if (!adapter) return { available: false, reason: 'no WebGPU adapter (blocked GPU, or no software fallback)' };
      const info = adapter.info ?? {};
      return {
        available: true,
        adapter: {
          vendor: info.vendor ?? '',
          architecture: info.architecture ?? '',
          description: info.description ?? '',
          isFallbackAdapter: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter),
        },
      };
    } catch (err) {
      return { available: false, reason: `requestAdapter failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  })();
  return probe;
}

/** The backend a choice resolves to on this page. */
export async function resolveBackend(choice: BackendChoice): Promise<{ backend: BackendName; gpu: GpuProbe }> {
  const gpu = await probeWebGpu();
  if (choice === 'wasm') return { backend: 'wasm', gpu };
  if (choice === 'webgpu') {
    if (!gpu.available) throw new Error(`WebGPU was asked for, but ${gpu.reason ?? 'it is unavailable'}`);
    return { backend: 'webgpu', gpu };
  }
  // A software adapter (SwiftShader) runs WebGPU on the CPU, far slower than
  // WASM (measured: 362 ms a run against 2 ms on a 1 MB BERT): Auto takes WASM
  // and says so; choosing WebGPU still runs there.
  return { backend: gpu.available && !gpu.adapter?.isFallbackAdapter ? 'webgpu' : 'wasm', gpu };
}

export function adapterLabel(a: AdapterInfo): string {
  const name = [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'unnamed adapter';
  return a.isFallbackAdapter ? `${name} (software fallback adapter)` : name;
}

export function backendLabel(b: BackendName): string {
  return b === 'webgpu' ? 'WebGPU' : 'WASM';
}
