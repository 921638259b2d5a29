export { initScheduler, startScheduler, SCHEDULER_DEFAULTS, BOOTSTRAP_TOKEN_FILE, type InitResult, type RunningScheduler } from './daemon.js';
export { NODE_LIFECYCLE_DEFAULTS, type NodeLifecycleConfig } from './controllers/index.js';
export { MIN_SERVING_CERT_TTL_SECONDS } from './auth/index.js';
