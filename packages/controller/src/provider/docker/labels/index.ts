// The Docker label decoder's public surface.
export { parseConstraints } from './constraints.js';
export { decodeContainers, sourceKeyOf } from './decode-containers.js';
export { normalize, renderDefaultRule } from './default-rule.js';
export { type DockerErrorCode, DockerErrorCodes } from './error-codes.js';
