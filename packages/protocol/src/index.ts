export * from './atomic-file.js';
export * from './codec.js';
export * from './errors.js';
export * from './messages.js';
export * from './process-warnings.js';
export * from './snapshot.js';
export * from './snapshot-signature.js';
export * from './token.js';
