// Values -> Jupyter MIME bundles. A value with a [Symbol.for("Jupyter.display")]()
// method (sync or async; Deno's convention) chooses its own bundle; anything
// else is shown as text/plain through util.inspect.
import { inspect } from "node:util";
import type { MimeBundle } from "./executor-messages";

export const DISPLAY_SYMBOL = Symbol.for("Jupyter.display");

function isJsonMimeType(mimeType: string): boolean {
  return mimeType === "application/json" || mimeType.endsWith("+json");
}

export function plainText(value: unknown): string {
  if (typeof value === "string") return inspect(value);
  return inspect(value, { depth: 4, maxArrayLength: 100, breakLength: 100 });
}

export async function toMimeBundle(value: unknown): Promise<MimeBundle> {
  const displayMethod = (value as { [DISPLAY_SYMBOL]?: unknown } | null | undefined)?.[DISPLAY_SYMBOL];
  if (typeof displayMethod !== "function") return { "text/plain": plainText(value) };

  const returned = await displayMethod.call(value);
  if (!returned || typeof returned !== "object") return { "text/plain": plainText(value) };
  const bundle: MimeBundle = {};
  for (const [mimeType, content] of Object.entries(returned as Record<string, unknown>)) {
    if (content === undefined) continue;
    // JSON MIME types travel as JSON objects, not as strings holding JSON.
    bundle[mimeType] = isJsonMimeType(mimeType) && typeof content === "string" ? JSON.parse(content) : content;
  }
  if (typeof bundle["text/plain"] !== "string") bundle["text/plain"] = plainText(value);
  return bundle;
}
