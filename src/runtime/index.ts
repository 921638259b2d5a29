export * from './config.js';
export * from './daemon.js';
export { checkRuntimeAssets, missingRuntimeAssets } from './assets.js';
export { importImageArchive, importImageArchiveOffline, type ImportedImage } from './image-import.js';
export { pullImageStreaming, pullImageOffline, throttleProgress, type PullProgressMessage } from './image-pull.js';
export type { RuntimeContext } from './runtime-context.js';
