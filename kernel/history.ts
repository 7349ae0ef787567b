// The inputs (and text outputs) of this kernel session, for history_request.
export type HistoryEntry = [session: number, line: number, input: string | [string, string | null]];

interface Cell {
  line: number;
  input: string;
  output: string | null;
}

export interface HistoryRequest {
  output?: boolean;
  hist_access_type?: "range" | "tail" | "search";
  session?: number;
  start?: number;
  stop?: number;
  n?: number;
  pattern?: string;
  unique?: boolean;
}

/** Shell-style glob (as IPython uses for history search) -> RegExp. */
function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${escaped.replace(/\[!/g, "[^")}$`, "s");
}

export class History {
  /** Sessions are numbered from 1; a kernel process is one session. */
  readonly session = 1;
  private readonly cells: Cell[] = [];

  record(line: number, input: string): void {
    this.cells.push({ line, input, output: null });
  }

  recordOutput(line: number, output: string): void {
    const cell = this.cells.find((entry) => entry.line === line);
    if (cell) cell.output = output;
  }

  query(request: HistoryRequest): HistoryEntry[] {
    const entry = (cell: Cell): HistoryEntry =>
      [this.session, cell.line, request.output ? [cell.input, cell.output] : cell.input];
    const n = request.n ?? 10;
    switch (request.hist_access_type ?? "tail") {
      case "tail":
        return n > 0 ? this.cells.slice(-n).map(entry) : [];
      case "range": {
        const session = request.session ?? 0;
        // Session 0 (or a negative offset) means "this session" for a single-session kernel.
        if (session > 0 && session !== this.session) return [];
        const start = request.start ?? 1;
        const stop = request.stop ?? Number.POSITIVE_INFINITY;
        return this.cells.filter((cell) => cell.line >= start && cell.line < stop).map(entry);
      }
      case "search": {
        const matcher = globToRegExp(request.pattern ?? "*");
        let found = this.cells.filter((cell) => matcher.test(cell.input));
        if (request.unique) {
          const latestByInput = new Map<string, Cell>();
          for (const cell of found) latestByInput.set(cell.input, cell);
          found = found.filter((cell) => latestByInput.get(cell.input) === cell);
        }
        return (request.n ? found.slice(-request.n) : found).map(entry);
      }
      default:
        return [];
    }
  }
}
