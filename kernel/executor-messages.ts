// Messages between the protocol process and the cell-runner child process
// (over Node's IPC channel, so they arrive in the order they were sent).

export type MimeBundle = Record<string, unknown>;

export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

export type UserExpressionResult =
  | { status: "ok"; data: MimeBundle; metadata: Record<string, unknown> }
  | ({ status: "error" } & ErrorContent);

/** protocol process -> cell runner */
export type RunnerRequest =
  | {
      kind: "execute";
      requestId: number;
      code: string;
      silent: boolean;
      userExpressions: Record<string, string>;
      /** How many interrupts this runner had been sent before this request: those were for earlier cells. */
      interruptsBefore: number;
    }
  | { kind: "complete"; requestId: number; code: string; cursorPos: number }
  | { kind: "inspect"; requestId: number; code: string; cursorPos: number; detailLevel: number };

/** cell runner -> protocol process */
export type RunnerEvent =
  | { kind: "ready"; banner: string; backendLine: string }
  /** The cell compiled and its code starts now (until then an interrupt needs no signal). */
  | { kind: "cell_started"; requestId: number }
  | { kind: "stream"; requestId: number; name: "stdout" | "stderr"; text: string }
  | {
      kind: "display";
      requestId: number;
      update: boolean;
      data: MimeBundle;
      metadata: Record<string, unknown>;
      displayId?: string;
    }
  | { kind: "clear_output"; requestId: number; wait: boolean }
  | { kind: "input_request"; requestId: number; prompt: string; password: boolean }
  | {
      kind: "execute_done";
      requestId: number;
      result?: { data: MimeBundle; metadata: Record<string, unknown> };
      error?: ErrorContent;
      /** Each user expression's value (a bundle) or error, evaluated after a successful cell. */
      userExpressions?: Record<string, UserExpressionResult>;
    }
  | { kind: "complete_done"; requestId: number; matches: string[]; cursorStart: number; cursorEnd: number }
  | { kind: "inspect_done"; requestId: number; found: boolean; data: MimeBundle };
