export { Module, camelPath } from "./Module";
export type { StateDict } from "./Module";
export { Parameter, flatten } from "./Parameter";
export { ModuleList } from "./ModuleList";
export type { NestedNumbers } from "./Parameter";
