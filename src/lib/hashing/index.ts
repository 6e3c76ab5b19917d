export { BackgroundHash, sharedBuffer } from './background-hash.js';
