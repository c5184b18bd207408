/**
 * The viewer's DTLS certificate, generated before any signalling.
 *
 * Knowing the certificate up front lets the player send its fingerprint inside
 * `consume`: the server connects the transport at once and no `/connect` call
 * is needed (one round trip less before the first frame). The same
 * certificate then goes to the peer connection through mediasoup-client's
 * `additionalSettings.certificates`, so the browser really uses it.
 */

import type { ClientDtlsParameters } from './api-v2';

export interface PreparedCertificate {
  certificate: RTCCertificate;
  dtlsParameters: ClientDtlsParameters;
}

/** Fingerprints as SDP writes them: colon-separated upper-case hex. */
export function sdpFingerprint(value: string): string {
  return value.trim().toUpperCase();
}

/** True if this browser can generate a certificate and hand it to a peer connection. */
export function canPregenerateCertificate(): boolean {
  return (
    typeof RTCPeerConnection !== 'undefined' &&
    typeof RTCPeerConnection.generateCertificate === 'function'
  );
}

/** An ECDSA P-256 certificate and the DTLS parameters that announce it (null: unsupported). */
export async function generateDtlsCertificate(): Promise<PreparedCertificate | null> {
  if (!canPregenerateCertificate()) return null;
  try {
    const certificate = await RTCPeerConnection.generateCertificate({
      name: 'ECDSA',
      namedCurve: 'P-256',
    } as EcKeyGenParams);
    const fingerprints = (certificate.getFingerprints?.() ?? [])
      .filter((f) => f.algorithm?.toLowerCase() === 'sha-256' && typeof f.value === 'string')
      .map((f) => ({ algorithm: 'sha-256' as const, value: sdpFingerprint(f.value ?? '') }));
    if (fingerprints.length === 0) return null;
    return { certificate, dtlsParameters: { role: 'client', fingerprints } };
  } catch {
    return null;
  }
}

let shared: Promise<PreparedCertificate | null> | null = null;
const MIN_VALIDITY_MS = 60 * 60 * 1000;

/**
 * One certificate per page, generated on first use and renewed an hour before
 * it expires (browsers make them valid for 30 days). Peer connections may
 * share a certificate; each still negotiates its own keys.
 */
export function sharedDtlsCertificate(): Promise<PreparedCertificate | null> {
  if (shared) {
    const current = shared;
    shared = current.then((prepared) =>
      prepared && prepared.certificate.expires - Date.now() < MIN_VALIDITY_MS
        ? generateDtlsCertificate()
        : prepared,
    );
  } else {
    shared = generateDtlsCertificate();
  }
  return shared;
}
