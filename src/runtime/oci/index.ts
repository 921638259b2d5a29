/**
 * Process-level adapters for the OCI runtime (runc, crun) and conmon, the per-container monitor:
 * create through conmon, then start/kill/delete/update/exec through the runtime; exit, OOM and log
 * helpers for the files conmon writes; the streaming backend (exec, attach, port-forward for
 * src/streaming/'s server) over conmon and runc.
 */
export {
  OciRuntime,
  execProcess,
  mergeEnv,
  type OciRuntimeOptions,
  type OciState,
  type OciStatus,
  type OciProcess,
  type OciUser,
  type ExecOptions,
  type ExecResult,
} from './oci-runtime.js';
export {
  Conmon,
  conmonArgs,
  parseSyncMessage,
  type ConmonOptions,
  type ConmonCreateOptions,
  type ConmonCreateResult,
  type SyncMessage,
} from './conmon.js';
export { readExitFile, waitForExit, readOomFlag, type WaitForExitOptions } from './exit-file.js';
export { reopenContainerLog, resizeTerminal, conmonAttachPath, conmonCtlPath, REOPEN_LOG_TIMEOUT_MS } from './conmon-ctl.js';
export { isProcessAlive, readPidFile } from './process-alive.js';
export { runtimeErrorMessage, classifyRuntimeError, runtimeError } from './runtime-errors.js';
export { ConmonStreamingBackend, type ConmonStreamingBackendOptions, type StreamingStore } from './conmon-backend.js';
