// Small text helpers shared by every renderer: numbers, bytes, HTML escaping
// and fixed-width text tables. No knowledge of gplab objects here.

/** A number in at most `digits` significant digits, exponent form when tiny or huge. */
export function fmtNum(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e6) return String(Number(x.toPrecision(digits)));
  const [m, e] = x.toExponential(digits - 1).split("e");
  return `${Number(m)}e${Number(e)}`;
}

/** Integer with thousands separators: 1,000,000. */
export function fmtInt(n: number): string {
  return n.toLocaleString("en-US");
}

/** Bytes in binary units (KiB, MiB, ..., PiB) with 1-2 significant decimals. */
export function fmtBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 || v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

/** Rows of cells as a left-aligned text table with a header rule. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) => cells.map((cell, c) => (cell ?? "").padEnd(widths[c])).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** Rows of cells as an HTML table; cells are escaped. */
export function htmlTable(header: string[] | null, rows: string[][], className = "gplab-table"): string {
  const head = header ? `<thead><tr>${header.map((h) => `<th style="text-align:left">${escapeHtml(h)}</th>`).join("")}</tr></thead>` : "";
  const body = rows
    .map((r) => `<tr>${r.map((cell, c) => (header === null && c === 0 ? `<th style="text-align:left">${escapeHtml(cell)}</th>` : `<td style="text-align:left">${escapeHtml(cell)}</td>`)).join("")}</tr>`)
    .join("");
  return `<table class="${className}">${head}<tbody>${body}</tbody></table>`;
}

/** A value list shortened for tables: "[0.5, 1, 2]" or "[0.5, 1, ... (10 values)]". */
export function fmtValues(values: readonly number[], max = 6): string {
  if (values.length === 1) return fmtNum(values[0]);
  const shown = values.slice(0, max).map((v) => fmtNum(v));
  return values.length > max ? `[${shown.join(", ")}, ... (${values.length} values)]` : `[${shown.join(", ")}]`;
}

export function fmtShapeList(shape: readonly number[]): string {
  return shape.length === 0 ? "scalar" : `[${shape.join(", ")}]`;
}
