/**
 * ExecSync output caps. The CRI (api.proto, ExecSyncResponse, after CVE-2022-1708 and
 * CVE-2022-31030) says the runtime caps the reply's output at 16 MiB, discards the rest, and the
 * command carries on without error. The kubelet's and crictl's CRI clients refuse messages above
 * 16 MiB, and so does our server, so the cap applies to the whole reply: stdout, stderr and the
 * protobuf framing together fit in one 16 MiB message. containerd caps each stream at 16 MiB (a
 * reply with both full would still be refused by the client); corelet keeps the reply deliverable.
 */

/** gRPC message size limit of the CRI server and of kubelet/crictl clients. */
export const EXEC_SYNC_MESSAGE_LIMIT = 16 * 1024 * 1024;
/** Room for the protobuf framing of ExecSyncResponse: two tags with 4-byte lengths, exit_code (≤ 11). */
const FRAMING_BYTES = 32;
/** Bytes of stdout + stderr one ExecSync reply carries at most. */
export const EXEC_SYNC_OUTPUT_BUDGET = EXEC_SYNC_MESSAGE_LIMIT - FRAMING_BYTES;

/**
 * The output an ExecSync reply carries: both streams whole when they fit the budget; otherwise
 * each keeps its head, stderr at least half of the budget when it has that much (the error text a
 * probe shows) and stdout the rest.
 */
export function capExecSyncOutput(stdout: Buffer, stderr: Buffer, budget = EXEC_SYNC_OUTPUT_BUDGET): { stdout: Buffer; stderr: Buffer; truncated: boolean } {
  if (stdout.length + stderr.length <= budget) return { stdout, stderr, truncated: false };
  const stderrKeep = Math.min(stderr.length, Math.max(Math.floor(budget / 2), budget - stdout.length));
  const stdoutKeep = Math.min(stdout.length, budget - stderrKeep);
  return { stdout: stdout.subarray(0, stdoutKeep), stderr: stderr.subarray(0, stderrKeep), truncated: true };
}
