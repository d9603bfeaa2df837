/** The bridge package's API (built into dist/index.js by build.js; loaded through loader.js). */
export { runBridge, startBridge, BRIDGE_USAGE, type BridgeIo } from './main';
export { createBridge, type Bridge } from './server';
export { loadBridgeConfig, defaultConfig, BridgeConfigError, type BridgeConfig, type SourceConfig } from './config';
export { openStore } from './store';
export type { Store } from './store/types';
export { diffSnapshots, snapshotEntries, type SnapshotDiff } from './snapshot';
export { signPush } from './tokens';
export { createLogger, redactUrl } from './logging';
