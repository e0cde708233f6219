//===- Pipelines.cpp - gmc's pass pipelines -------------------------------===//

#include "compiler/Pipelines/Pipelines.h"

#include "dialects/GM/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"

void gm::buildTrainingPipeline(mlir::OpPassManager &pm, TrainingPhase phase) {
  // The training plan (gm.step, gm.minimax) first: it decides which
  // objectives each player minimises, with which sign and which generator
  // form of the adversarial value.
  pm.addPass(mlir::gm::createGMBuildLossesPass());
  // Functions that do not train read batch norms' running statistics.
  pm.addPass(mlir::gm::createGMInferenceModePass());
  // Then densities, divergences and reparameterised samples become
  // primitives, so autodiff needs gradient rules for primitives only.
  pm.addPass(mlir::gm::createGMExpandObjectivesPass());
  // A gradient inside a loss (a gradient penalty) becomes the code that
  // computes it, for autodiff to differentiate again.
  pm.addPass(mlir::gm::createGMExpandInputGradsPass());
  if (phase == TrainingPhase::Losses)
    return;
  // Reverse mode, on fully expanded losses.
  pm.addPass(mlir::gm::createGMAutodiffPass());
  if (phase == TrainingPhase::Gradients)
    return;
  // The optimizer last: it consumes the gradients.
  pm.addPass(mlir::gm::createGMBuildTrainStepsPass());
  // Then each step also moves its batch norms' running statistics.
  pm.addPass(mlir::gm::createGMUpdateRunningStatsPass());
}

void gm::registerTrainingPipeline() {
  mlir::PassPipelineRegistration<>(
      "gm-training-pipeline",
      "losses per training step and player, expanded, and their gradients",
      [](mlir::OpPassManager &pm) {
        buildTrainingPipeline(pm, TrainingPhase::TrainSteps);
      });
}
