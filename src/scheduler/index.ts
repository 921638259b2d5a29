export { initScheduler, startScheduler, SCHEDULER_DEFAULTS, BOOTSTRAP_TOKEN_FILE, type InitResult, type RunningScheduler } from './daemon.js';
