// Private: everything @centra/webgpu takes from @centra/chain's expression
// language and fuser entry points, in one place, so that a move of those
// exports changes this file's import lines only.
export {
  add,
  evaluate,
  type Expr,
  foldNumber,
  hyper,
  input,
  powTwo,
  substitute,
} from "@centra/chain/expr";
export {
  describe,
  type Description,
  type ElementwiseSpec,
  nextState,
  stageInput,
} from "@centra/chain/fuser";
export type { Hyper } from "@centra/chain/types";
