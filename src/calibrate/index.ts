/** Calibration: the downsampling correction as a calibrator (the formulas are src/data/sampling's), post-hoc calibrators (Platt, isotonic), in-training bias constraints. */
export { type ScoreSpace, sigmoid, logit } from './scoreSpace.js';
export { BaseCalibrator } from './base.js';
export { DownsamplingCalibrator } from './negativeSampling.js';
export { fitPlatt, PlattCalibrator, type PlattFit, type PlattOptions } from './platt.js';
export { fitIsotonic, poolAdjacentViolators, interpolateClipped, IsotonicCalibrator, type IsotonicFit } from './isotonic.js';
export {
  ChainCalibrator, calibratorFromJSON, CalibratorFormatError, type Calibrator, type CalibratorJSON,
} from './calibrator.js';
export {
  BiasConstraint, pctrBuckets, type BiasConstraintOptions, type BiasConstraintStep, type BiasConstraintState,
} from './biasConstraints.js';
