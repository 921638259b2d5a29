/**
 * CRI label selectors are plain equality: every key=value of the selector is in the labels (true
 * without a selector). The one implementation is api/label-selector.ts's labelsInclude.
 */
export { labelsInclude as matchesLabels } from '../api/index.js';
