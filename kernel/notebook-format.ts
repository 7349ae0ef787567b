// The parts of nbformat 4 that `gplab run` reads and writes.
import type { JupyterMessage } from "./wire";

export type Source = string | string[];

export interface Output {
  output_type: "stream" | "display_data" | "execute_result" | "error";
  [key: string]: unknown;
}

export interface Cell {
  cell_type: "code" | "markdown" | "raw";
  source: Source;
  metadata: { tags?: string[]; [key: string]: unknown };
  id?: string;
  outputs?: Output[];
  execution_count?: number | null;
}

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: Cell[];
}

export function sourceText(source: Source): string {
  return Array.isArray(source) ? source.join("") : source;
}

/** nbformat stores multi-line strings as lists of lines. */
export function toSourceLines(text: string): string[] {
  return text.split(/(?<=\n)/).filter((line) => line.length > 0);
}

/**
 * Builds a cell's outputs from its iopub messages, the way a frontend would:
 * streams merge, clear_output clears (at once or before the next output),
 * update_display_data replaces the outputs that share its display id.
 */
export class OutputCollector {
  readonly outputs: Output[] = [];
  private clearPending = false;

  constructor(private readonly displays: Map<string, Output[]>) {}

  private append(output: Output): void {
    if (this.clearPending) {
      this.outputs.length = 0;
      this.clearPending = false;
    }
    this.outputs.push(output);
  }

  add(message: JupyterMessage): void {
    const content = message.content as Record<string, any>;
    switch (message.header.msg_type) {
      case "stream": {
        const last = this.outputs[this.outputs.length - 1];
        if (!this.clearPending && last?.output_type === "stream" && last.name === content.name) {
          last.text = String(last.text) + content.text;
        } else {
          this.append({ output_type: "stream", name: content.name, text: content.text });
        }
        break;
      }
      case "display_data": {
        const output: Output = { output_type: "display_data", data: content.data, metadata: content.metadata ?? {} };
        this.append(output);
        const id = content.transient?.display_id;
        if (id) this.displays.set(id, [...(this.displays.get(id) ?? []), output]);
        break;
      }
      case "update_display_data": {
        for (const output of this.displays.get(content.transient?.display_id) ?? []) {
          output.data = content.data;
          output.metadata = content.metadata ?? {};
        }
        break;
      }
      case "execute_result":
        this.append({ output_type: "execute_result", execution_count: content.execution_count, data: content.data, metadata: content.metadata ?? {} });
        break;
      case "error":
        this.append({ output_type: "error", ename: content.ename, evalue: content.evalue, traceback: content.traceback });
        break;
      case "clear_output":
        if (content.wait) this.clearPending = true;
        else this.outputs.length = 0;
        break;
    }
  }
}
