/**
 * `pg-sslmode scan --html FILE`: the scan as one self-contained page a security team can attach
 * to a ticket — no external assets (styles and the one script inline), every value escaped. The
 * script only sums the findings by severity and lets a reader hide the low ones.
 */
import type { ScanReport } from './scan.js'

const html = (text: unknown): string => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222 }
h1 { font-size: 1.4em } h2 { font-size: 1.1em; margin-top: 1.6em }
table { border-collapse: collapse; width: 100% }
td, th { border: 1px solid #ccc; padding: .3em .5em; text-align: left; vertical-align: top }
code { font-size: .92em } .critical { background: #fdd } .high { background: #fed } .medium { background: #ffd }
.low, .info { background: #f6f6f6 } #summary { font-weight: bold }`

const SCRIPT = `
(function () {
  var rows = document.querySelectorAll('#findings tbody tr');
  var counts = {};
  rows.forEach(function (row) { counts[row.dataset.severity] = (counts[row.dataset.severity] || 0) + 1; });
  var order = ['critical', 'high', 'medium', 'low', 'info'];
  document.getElementById('summary').textContent = order
    .filter(function (s) { return counts[s]; })
    .map(function (s) { return counts[s] + ' ' + s; })
    .join(', ') || 'no findings';
  document.getElementById('hide-low').addEventListener('change', function (event) {
    rows.forEach(function (row) {
      row.hidden = event.target.checked && (row.dataset.severity === 'low' || row.dataset.severity === 'info');
    });
  });
})();`

export function renderScanHtml(report: ScanReport, when = new Date()): string {
  const { host, port } = report.target
  const yes = (v: boolean | string): string => (v === true ? 'yes' : v === false ? 'no' : html(v))
  const protocols = Object.entries(report.protocols)
    .map(([version, offered]) => {
      const suites = report.ciphers[version as keyof ScanReport['ciphers']] ?? []
      const names = suites.map((s) => `<code>${html(s)}</code>`).join(' ')
      return `<tr><td>${html(version)}</td><td>${offered ? 'offered' : 'not offered'}</td><td>${names}</td></tr>`
    })
    .join('\n')
  const chain = report.chain
    .map(
      (c, i) =>
        `<tr><td>${i === 0 ? 'server' : `chain [${i}]`}</td>` +
        `<td>${html(c.subject)}<br>issuer ${html(c.issuer)}</td>` +
        `<td>${html(c.validFrom)} – ${html(c.validTo)}</td>` +
        `<td>${html(c.keyType)} ${html(c.keyBits ?? '')}, ${html(c.signatureAlgorithm)}</td>` +
        `<td><code>${html(c.fingerprint256)}</code></td></tr>`,
    )
    .join('\n')
  const findings = report.findings
    .map(
      (f) =>
        `<tr class="${html(f.severity)}" data-severity="${html(f.severity)}"><td>${html(f.severity)}</td>` +
        `<td><code>${html(f.id)}</code></td><td>${html(f.message)}</td></tr>`,
    )
    .join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pg-sslmode scan — ${html(host)}:${html(port)}</title>
<meta http-equiv="Content-Security-Policy"
  content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<style>${STYLE}</style></head>
<body>
<h1>pg-sslmode scan — ${html(host)}:${html(port)}</h1>
<p>Scanned ${html(when.toISOString())}. Findings: <span id="summary">${report.findings.length}</span>
<label><input type="checkbox" id="hide-low"> hide low and info</label></p>
<h2>Findings</h2>
<table id="findings"><thead><tr><th>severity</th><th>id</th><th>finding</th></tr></thead><tbody>
${findings}
</tbody></table>
<h2>TLS</h2>
<p>SSLRequest answered S: ${yes(report.ssl)}; client certificate requested: ${html(report.clientCertificate)};
plaintext start-up accepted: ${yes(report.plaintext)}; direct SSL: ${yes(report.directSsl)};
key-exchange groups: ${html(report.groups.join(', ') || 'none')}.</p>
<table><thead><tr><th>version</th><th>offered</th><th>cipher suites, in the server's order</th></tr></thead><tbody>
${protocols}
</tbody></table>
<h2>Certificate chain</h2>
<table><thead><tr><th></th><th>subject</th><th>validity</th><th>key, signature</th><th>SHA-256</th></tr></thead><tbody>
${chain}
</tbody></table>
<script>${SCRIPT}</script>
</body></html>
`
}
