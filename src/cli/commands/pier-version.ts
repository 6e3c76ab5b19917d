/** The pier client's own version, printed by `pier --version` and `pier version`. */
export const PIER_VERSION = '0.1.0';
export const PIER_GIT_COMMIT = 'unknown';
