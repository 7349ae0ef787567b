export { info, use, ready, setExecutor, defaultExecutor, summary, threadCount } from "./backend";
export type { BackendInfo, BackendName, ExecutorName } from "./backend";
