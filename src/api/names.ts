/**
 * Name formats the Kubernetes API server enforces (k8s.io/apimachinery/pkg/util/validation). Each
 * check returns undefined when valid, else the reason, phrased like the API server's.
 */
import { isIP } from 'node:net';

const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const HTTP_HEADER_NAME_RE = /^[-A-Za-z0-9!#$%&'*+.^_`|~]+$/;

const UID_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * Object uids (metadata.uid, ownerReferences uid): the API server makes them UUIDs; the node uses a
 * pod's uid as a folder name, so anything but letters, digits, '-', '_' and '.' (starting and ending
 * with a letter or digit, at most 128 characters) is refused: no '/', no '..', no NUL.
 */
export function checkUid(s: string): string | undefined {
  if (s.length > 128) return 'must be no more than 128 characters';
  if (!UID_RE.test(s)) return "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (a UUID)";
  return undefined;
}

/** RFC 1123 label: container, volume, namespace names. */
export function checkDnsLabel(s: string): string | undefined {
  if (s.length > 63) return 'must be no more than 63 characters';
  if (!LABEL_RE.test(s)) {
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
  }
  return undefined;
}

/** RFC 1123 subdomain: pod and node names. */
export function checkDnsSubdomain(s: string): string | undefined {
  if (s.length > 253) return 'must be no more than 253 characters';
  if (!SUBDOMAIN_RE.test(s)) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

/** Label and annotation keys, resource names: an optional DNS subdomain prefix and "/", then a name. */
export function checkQualifiedName(s: string): string | undefined {
  const parts = s.split('/');
  let name = s;
  if (parts.length === 2) {
    if (parts[0] === '') return 'prefix part must be non-empty';
    const prefixProblem = checkDnsSubdomain(parts[0]);
    if (prefixProblem) return `prefix part ${prefixProblem}`;
    name = parts[1];
  } else if (parts.length > 2) {
    return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS subdomain prefix and '/'";
  }
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME_RE.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

/** Label values (may be empty). */
export function checkLabelValue(s: string): string | undefined {
  if (s.length > 63) return 'must be no more than 63 characters';
  if (s !== '' && !QUALIFIED_NAME_RE.test(s)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

/** IANA service name: container port names, named probe ports. */
export function checkPortName(s: string): string | undefined {
  if (s.length > 15) return 'must be no more than 15 characters';
  if (!/^[-a-z0-9]+$/.test(s)) return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
  if (!/[a-z]/.test(s)) return 'must contain at least one letter (a-z)';
  if (s.includes('--')) return 'must not contain consecutive hyphens';
  if (s.startsWith('-') || s.endsWith('-')) return 'must not begin or end with a hyphen';
  return undefined;
}

/**
 * Environment variable names, as the API server checks them since relaxed validation became the
 * default (Kubernetes 1.32): any printable ASCII except '='.
 */
export function checkEnvVarName(s: string): string | undefined {
  if (s === '') return 'must be non-empty';
  if (!/^[\x20-\x3c\x3e-\x7e]+$/.test(s)) return "must consist of printable ASCII characters except '='";
  return undefined;
}

/** HTTP header field names (RFC 7230 tokens). */
export function checkHttpHeaderName(s: string): string | undefined {
  return HTTP_HEADER_NAME_RE.test(s) ? undefined : 'must be a valid HTTP header name';
}

/** An IPv4 or IPv6 address. */
export function checkIp(s: string): string | undefined {
  return isIP(s) === 0 ? 'must be a valid IP address' : undefined;
}
