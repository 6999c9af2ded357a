export { createV1Transport, V1Transport, type V1TransportOptions } from './v1-transport';
export { normalizeV1Snapshot, parseV1Status, parseV1Circuit, V1_PATHS } from './normalize';
