export { initScheduler, startScheduler, SCHEDULER_DEFAULTS, type InitResult, type RunningScheduler } from './daemon.js';
