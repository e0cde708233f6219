//===- Pipelines.h - gmc's pass pipelines -----------------------*- C++ -*-===//
//
// The one place that decides which passes run, in which order, up to which
// phase. gmc's -emit stages and gm-opt's --gm-training-pipeline use it.
//
//===----------------------------------------------------------------------===//

#ifndef GM_COMPILER_PIPELINES_PIPELINES_H
#define GM_COMPILER_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace gm {

/// How far the training pipeline goes; ordered.
enum class TrainingPhase {
  Losses,    // one gm.func loss per step and player, densities expanded
  Gradients, // plus a gm.func gradient per loss
  TrainSteps, // plus an optimizer step per gradient
};

/// Appends the passes from verified MLIRGen output up to |phase|.
void buildTrainingPipeline(mlir::OpPassManager &pm, TrainingPhase phase);

/// Registers the pipeline as `gm-training-pipeline` (for gm-opt).
void registerTrainingPipeline();

} // namespace gm

#endif // GM_COMPILER_PIPELINES_PIPELINES_H
