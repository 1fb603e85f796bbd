/**
 * Bring your own model: any ONNX model profiled, cut and written as a bundle that `offramp serve`
 * and the device SDK run (docs/BYOM.md). The commands `offramp profile`, `recommend` and `split`
 * are thin shells over these functions.
 *
 * @example
 * ```ts
 * import { profileModel, recommend, splitToBundle } from './split/index.js';
 * import { LINKS } from './link/profiles.js';
 * const opts = { shape: [1, 3, 48, 320], layout: 'HWC', mean: [0.5], std: [0.5], data: 'lines.npy' } as const;
 * const p = await profileModel('rec.onnx', opts);
 * const r = await recommend(p, { link: LINKS.lte!, device: 'phone-low', objective: 'latency' });
 * await splitToBundle({ ...opts, model: 'rec.onnx', at: [r.bestSplit!.cut!], out: 'models/rec', weights: 'pretrained' });
 * ```
 */
export { profileModel, profileMarkdown, type ModelProfile, type CutProfile, type ProfileOptions } from './profile.js';
export { recommend, recommendationTable, requestWireBytes, frameLimit, type Recommendation, type RecommendOptions, type OptionCost } from './recommend.js';
export { splitToBundle, slug, type SplitOptions, type SplitReport, type WeightsOrigin } from './bundle.js';
export { measureCut, PACKED, type CutMeasurement, type MeasureOptions, type RateResult } from './measure.js';
export { loadModel, describeOutputs, type LoadedModel, type ModelOptions, type Progress } from './model.js';
export { prepareModel, parseShape, removeFinalSoftmax, constantsToInitializers, type PreparedModel, type PrepareOptions } from './prepare.js';
export { inputSpec, loadSamples, parseNpy, toModelInput, type InputOptions, type InputSpec, type SampleSet } from './data.js';
export { parseRates, DEFAULT_RATES, PROFILED_RATES, RangeTracker, type RateChoice } from './rates.js';
export { AgreementMeter, tensorError, agreementScore, formatAgreement, type Agreement } from './agreement.js';
export { answerCosts, OUTPUT_ENCODINGS, type AnswerCosts, type OutputDesc, type OutputEncodingName } from './answers.js';
export { nodeCosts, nodeMacs, type NodeCosts } from './node-costs.js';
export { readModel, writeModel, cutModel, candidateCuts, type Model, type Cut } from './graph.js';
export { writeFolderAtomically } from './write.js';
