/**
 * sha256WithRSAEncryption signatures made by Node's native RSA (OpenSSL) for the certificates and
 * requests node-forge encodes: forge's own RSA is JavaScript big-number arithmetic, tens of
 * milliseconds of CPU per 2048-bit signature where OpenSSL takes about one. The bytes are the same
 * (PKCS#1 v1.5 is deterministic); forge still builds the to-be-signed structure and the result.
 */
import { sign as nodeSign, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type forgeModule from 'node-forge';

type Forge = typeof forgeModule;
/**
 * node-forge, loaded on the first signature: join/ is imported by every CLI command (through the API
 * client) and forge is a large module the callers that sign have loaded already.
 */
let loaded: Forge | undefined;
const forge = (): Forge => (loaded ??= createRequire(import.meta.url)('node-forge') as Forge);

/** The encoders forge's sign() uses; forge exports them but its type definitions do not list them. */
interface Encoders {
  getTBSCertificate(cert: forgeModule.pki.Certificate): forgeModule.asn1.Asn1;
  getCertificationRequestInfo(csr: forgeModule.pki.CertificateSigningRequest): forgeModule.asn1.Asn1;
}
const encoders = (): Encoders => forge().pki as unknown as Encoders;

function signDer(tbs: forgeModule.asn1.Asn1, key: KeyObject | string): string {
  return nodeSign('sha256', Buffer.from(forge().asn1.toDer(tbs).getBytes(), 'binary'), key).toString('binary');
}

/** Signs cert with key (a KeyObject or PEM), as forge's cert.sign(key, sha256) does. */
export function signCertificateNatively(cert: forgeModule.pki.Certificate, key: KeyObject | string): void {
  cert.signatureOid = cert.siginfo.algorithmOid = forge().pki.oids.sha256WithRSAEncryption;
  cert.tbsCertificate = encoders().getTBSCertificate(cert);
  cert.signature = signDer(cert.tbsCertificate, key);
}

/** Signs a PKCS#10 request with key (a KeyObject or PEM), as forge's csr.sign(key, sha256) does. */
export function signCsrNatively(csr: forgeModule.pki.CertificateSigningRequest, key: KeyObject | string): void {
  csr.signatureOid = csr.siginfo.algorithmOid = forge().pki.oids.sha256WithRSAEncryption;
  csr.certificationRequestInfo = encoders().getCertificationRequestInfo(csr);
  csr.signature = signDer(csr.certificationRequestInfo, key);
}
