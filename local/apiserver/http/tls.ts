import { generate } from 'selfsigned';

/** A serving certificate and its key, PEM. */
export interface ServingCertificate {
  readonly cert: string;
  readonly key: string;
}

/** How long a generated certificate is valid, in days. */
const VALIDITY_DAYS = 365;

/**
 * A self-signed certificate for a loopback API server, valid for `host`, 127.0.0.1, ::1 and
 * localhost, that is its own CA (kubeconfigs carry it as `certificate-authority-data`), with
 * `commonName` as its subject.
 *
 * TLS is not optional: kubectl (client-go's clientcmd) sends a kubeconfig's credentials only
 * over TLS, so a plain-HTTP server could only ever be anonymous to it.
 */
export async function servingCertificate(host: string, commonName: string): Promise<ServingCertificate> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const altNames = [
    { type: 2 as const, value: 'localhost' },
    { type: 7 as const, ip: '127.0.0.1' },
    { type: 7 as const, ip: '::1' },
    ...(host !== '127.0.0.1' && host !== 'localhost' && host !== '::1' ? [{ type: 7 as const, ip: host }] : []),
  ];
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + VALIDITY_DAYS * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
