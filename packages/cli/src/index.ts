export { run } from './main.js';
export {
  berthBin,
  type Child,
  ChildGroup,
  type SpawnOptions,
  waitForJsonFile,
} from './process/child-group.js';
