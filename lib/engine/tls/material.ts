/**
 * Certificate material named by the settings: root CA, CRL(s), client certificate and key, loaded
 * in that order as libpq loads them. The files are read and parsed once per version
 * (file-cache.ts, pem.ts, cert-directories.ts), so a pool's connections do not re-read them and a
 * changed file is picked up on the next connection. Problems are reported before any network
 * traffic, naming the file and never its contents.
 */
import type { MaterialRequest, TlsMaterial } from './material-files.js'

// The types are defined with the code that loads the material (material-files.ts).
export type { InlineMaterial, MaterialRequest, RootCertSource, TlsMaterial } from './material-files.js'

/**
 * The material `request` names, loaded and checked before any network traffic. A connection that
 * names none (no root certificate, CRL or client certificate: sslmode=require and the like with no
 * ~/.postgresql files) has none, and loads none of the code that reads and parses them.
 */
export async function loadTlsMaterial(request: MaterialRequest): Promise<TlsMaterial> {
  const { inline } = request
  const namesRoots =
    inline?.ca !== undefined || request.sslrootcert !== undefined || request.sslrootcertdir !== undefined
  const namesClientCertificate =
    request.sendClientCertificate && (inline?.cert !== undefined || request.sslcert !== undefined)
  // What rootsFor and clientCertificateFor (material-files.ts) would find nothing for; CRLs are loaded
  // only together with a root CA (crlsFor).
  if (!namesRoots && !namesClientCertificate) return { rootCert: 'none', files: {} }
  return (await import('./material-files.js')).loadMaterialFiles(request)
}
