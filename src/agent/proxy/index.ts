export * from './model.js';
export * from './compile.js';
export * from './conntrack.js';
export * from './nft.js';
export * from './nft-runner.js';
