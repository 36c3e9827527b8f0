export { run } from './main.js';
export { ChildGroup, berthBin, waitForJsonFile, type Child, type SpawnOptions } from './process/child-group.js';
