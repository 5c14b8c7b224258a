// What the Layers tab draws: the families of the layers analysis as plain
// data (names and ids instead of tensor records), so it crosses the worker
// thread and the webview's message channel as it is.
import type { LayerFamilyInfo, LayersPayload } from '../protocol';
import type { LayerFamily } from '../sharing/layers';

export function layerFamilyInfo(f: LayerFamily): LayerFamilyInfo {
  return {
    role: f.role,
    stack: f.stack,
    layers: f.layers,
    // An anonymous export tensor shows the checkpoint parameter it is, as the graph's labels do.
    members: f.members.map((m, i) => (f.sources && f.sources[i] !== m.name ? `${m.name} = ${f.sources[i]}` : m.name)),
    tensorIds: f.members.map((m) => m.id),
    dtype: f.dtype,
    shape: f.shape,
    bytes: f.members[0]?.byteLength ?? 0,
    relL2: f.relL2,
    centredCosine: f.centredCosine,
  };
}

export function buildLayersPayload(families: LayerFamily[], millis: number): LayersPayload {
  return { families: families.map(layerFamilyInfo), millis };
}
