// Private: everything @centra/webgpu takes from @centra/chain's expression
// language and fuser entry points, in one place, so that a move of those
// exports changes this file's import lines only.
export {
  add,
  describe,
  type Description,
  type ElementwiseSpec,
  evaluate,
  type Expr,
  foldNumber,
  hyper,
  input,
  nextState,
  powTwo,
  stageInput,
  substitute,
} from "@centra/chain/expr";
export type { Hyper } from "@centra/chain/types";
