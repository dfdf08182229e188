/** The plot as a page: the SVG, the summary and a table of the spans. No script, no network: it opens anywhere. */
import { formatBytes } from '../report/format';
import type { PlotData } from './data';
import { escapeXml, renderSvg } from './svg';

export function renderHtml(data: PlotData): string {
  const format = { unit: 'auto' as const, precision: 2 };
  const rows = data.spans
    .map(
      (s) =>
        `<tr><td>${escapeXml(s.name)}</td><td>${s.start.toFixed(3)}</td><td>${s.end === null ? '—' : s.end.toFixed(3)}</td>` +
        `<td>${s.heapEnd === null ? '—' : formatBytes(s.heapEnd - s.heapStart, format)}</td></tr>`,
    )
    .join('\n');
  const peak = data.peak ? `<p>${escapeXml(data.peak.label)}: <b>${formatBytes(data.peak.bytes, format)}</b> at ${data.peak.t.toFixed(3)} s</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(data.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}</style>
</head><body>
${renderSvg(data)}${peak}
${data.spans.length > 0 ? `<h2>Calls of marked functions</h2>\n<table><tr><th>function</th><th>start (s)</th><th>end (s)</th><th>heap change</th></tr>\n${rows}\n</table>` : ''}
</body></html>
`;
}

