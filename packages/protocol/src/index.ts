export * from './messages.js';
export * from './snapshot.js';
export * from './codec.js';
export * from './token.js';
export * from './errors.js';
export * from './atomic-file.js';
