// Text widths for server-side SVG. Without a canvas, vega estimates every
// character as 0.8 em wide, which makes titles ~1.5x too wide and pushes
// concatenated charts and legends apart. This estimate uses per-character
// advance widths of a Helvetica / Arial-like sans-serif (in 1/1000 em),
// which is what the SVG's default font renders as.

const NARROW = 278; // i-ish punctuation, space, f, t, I, [ ] / \ . , : ;
const widths: Record<string, number> = {};
const assign = (chars: string, w: number) => {
  for (const ch of chars) widths[ch] = w;
};
assign(" .,:;!|[]/\\'fIt", NARROW);
assign("ijl", 222);
assign("r()-`\"", 333);
assign("0123456789abdeghnopqu_$#?L", 556);
assign("ckvxyzsJF*^", 500);
assign("=+<>~", 584);
assign("TZ", 611);
assign("ABEKPSVXY&", 667);
assign("CDHNRUw", 722);
assign("GOQ", 778);
assign("mM", 833);
assign("%W", 889);
assign("@", 1015);

/** Width in px of `text` at `size` px; bold adds ~6%. */
export function sansSerifWidth(text: string, size: number, bold = false): number {
  let units = 0;
  for (const ch of text) units += widths[ch] ?? 556;
  return (units / 1000) * size * (bold ? 1.06 : 1);
}

interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
}

/** Replaces vega's canvas-less estimate (vega.textMetrics.width). */
export function vegaTextWidth(item: TextItem, line: unknown): number {
  const size = item.fontSize != null ? +item.fontSize || 0 : 11;
  const text = line == null ? "" : String(line).trim();
  const w = item.fontWeight;
  const bold = w === "bold" || w === "bolder" || (typeof w === "number" && w >= 600) || (typeof w === "string" && Number(w) >= 600);
  return sansSerifWidth(text, size, bold);
}
