export { BackgroundHash } from './background-hash.js';
