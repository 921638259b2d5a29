/** Image pulling for the agent's pods (pull policy, back-off). */
export { ImagePuller, pullBackoffKey, type PullResult } from './image-puller.js';
